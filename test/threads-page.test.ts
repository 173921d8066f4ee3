// The threaded arena in headless Chromium, from a page served cross-origin isolated (the
// headers shared memory needs): refused on the page's main thread with a message that says what
// to do, and in a module Worker the same bits as the single-threaded arena at 2 and 3 threads.
// (Node only: it starts the server and the browser itself.)
import type { Browser } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repositoryRoot, serve } from '../playground/serve.js';
import type { Served } from '../playground/serve.js';

describe('the threaded arena in Chromium, from a cross-origin isolated page', () => {
  let served: Served;
  let browser: Browser;
  beforeAll(async () => {
    const { chromium } = await import('playwright');
    served = await serve(repositoryRoot(), 0, { isolated: true });
    browser = await chromium.launch({
      executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await served?.close();
  });

  it('refuses the main thread, naming the way out, and gives the same bits in a Worker at 2 and 3 threads', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${served.origin}/test/fixtures/threads/page.html`);
    await page.waitForFunction(() => document.getElementById('out')!.textContent !== 'running…', null, { timeout: 90_000 });
    const result = JSON.parse((await page.textContent('#out'))!) as {
      crossOriginIsolated: boolean;
      mainThread: string;
      worker: { crossOriginIsolated: boolean; compared: number; mismatches: unknown[]; optimizer: number[]; error: string | null };
    };
    expect(errors).toEqual([]);
    expect(result.crossOriginIsolated).toBe(true);
    expect(result.mainThread).toMatch(
      /^createThreadedArena: 2 threads: this thread may not block \(Atomics\.wait\), as a page's main thread may not, and a step waits for its workers\. Create the arena and the optimizer in a Worker \(docs\/threads\.md\), or use threads: 1$/,
    );
    expect(result.worker.error).toBeNull();
    expect(result.worker.crossOriginIsolated).toBe(true);
    expect(result.worker.mismatches).toEqual([]);
    expect(result.worker.compared).toBe(2 * 4 * 4 * (1 + 3 + 5 + 4097 + 1_000_003)); // 2 threaded arenas x 4 configs x 4 buffers
    expect(result.worker.optimizer[1]).toBe(result.worker.optimizer[0]);
  }, 120_000);
});
