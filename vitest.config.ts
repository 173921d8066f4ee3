import { existsSync } from 'node:fs';
import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';
import type { TestProjectInlineConfiguration } from 'vitest/config';
import type { BrowserCommand } from 'vitest/node';
import { seededRun } from './test/support/seeded-run.js';

/** Runs the seeded training in Node, for the browser run to compare its own bits with. */
const nodeSeededRun: BrowserCommand<[seed: number]> = (_context, seed) => seededRun(seed);

// The suite runs twice: in Node, and in headless Chromium (Debian's package, which .ci/run
// installs). Without Chromium on the machine only the Node run happens, with a warning; in CI
// (CI=true) a missing Chromium is an error.
const chromium = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const withBrowser = existsSync(chromium);
if (!withBrowser) {
  if (process.env['CI']) throw new Error(`vitest.config.ts: no Chromium at ${chromium}; .ci/run installs it (apt-get install -y chromium)`);
  console.warn(`\n*** No Chromium at ${chromium}: the browser run is skipped. apt-get install -y chromium (or set CHROMIUM_PATH) to run it. ***\n`);
}

// Tests that need Node itself: npm pack, tsc, TypeDoc, wabt over the repository's files, the
// convergence study (it reads its datasets from disk).
const NODE_ONLY = ['test/node.test.ts', 'test/package.test.ts', 'test/docs.test.ts', 'test/wasm-module.test.ts', 'test/convergence.test.ts', 'test/convergence-recurrent.test.ts', 'test/playground.test.ts', 'test/threads-page.test.ts'];

const browserProject: TestProjectInlineConfiguration = {
  extends: true,
  test: {
    name: 'chromium',
    include: ['test/**/*.test.ts'],
    exclude: NODE_ONLY,
    testTimeout: 30_000,
    browser: {
      enabled: true,
      headless: true,
      // Debian's chromium (.ci/run installs it); no browser is downloaded.
      provider: playwright({
        launchOptions: {
          executablePath: chromium,
          args: [
            '--no-sandbox',
            '--disable-gpu',
            '--disable-quic',
            '--no-first-run',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--enable-unsafe-webgpu', // navigator.gpu, on SwiftShader here (no GPU): the WebGPU tests
          ],
        },
      }),
      instances: [{ browser: 'chromium' }],
      commands: { nodeSeededRun },
    },
  },
};

// examples/ import the package by name, as users do; the tests run them against src/.
const alias = {
  'rmsprop/step': new URL('./src/rmsprop-step.ts', import.meta.url).pathname,
  'rmsprop/node': new URL('./src/node.ts', import.meta.url).pathname,
  'rmsprop/webgpu': new URL('./src/webgpu.ts', import.meta.url).pathname,
  'rmsprop/threads': new URL('./src/threads.ts', import.meta.url).pathname,
  rmsprop: new URL('./src/index.ts', import.meta.url).pathname,
};

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        extends: true,
        test: { name: 'node', include: ['test/**/*.test.ts'], exclude: ['test/**/*.browser.test.ts'] },
      },
      ...(withBrowser ? [browserProject] : []),
    ],
  },
});
