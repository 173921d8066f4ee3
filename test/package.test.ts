// Node only. The published package as a user gets it: `npm pack`, installed into an empty project, imported
// by name from JavaScript and from strict TypeScript, replaying PyTorch's trajectories.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixturePath = fileURLToPath(new URL('./fixtures/torch-rmsprop.json', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let project = '';

function run(cmd: string, args: readonly string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), 'rmsprop-consumer-'));
  const packed = JSON.parse(run(npm, ['pack', '--json', '--pack-destination', project], root)) as { filename: string }[];
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  run(npm, ['install', '--no-audit', '--no-fund', '--offline', join(project, packed[0]!.filename)], project);
}, 120_000);

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('the npm pack tarball', () => {
  it('ships dist, src, README and LICENSE and nothing of the tests', () => {
    const manifest = JSON.parse(readFileSync(join(project, 'node_modules/rmsprop/package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest['dependencies']).toBeUndefined();
    const files = run('find', ['.', '-type', 'f'], join(project, 'node_modules/rmsprop')).split('\n').filter(Boolean).sort();
    expect(files).toContain('./dist/index.js');
    expect(files).toContain('./dist/index.d.ts');
    expect(files).toContain('./dist/rmsprop-step.js');
    expect(files).toContain('./src/rmsprop-step.ts');
    expect(files).toContain('./README.md');
    expect(files).toContain('./LICENSE');
    expect(files.filter((f) => f.includes('test') || f.includes('bench'))).toEqual([]);
  });

  it("reproduces every PyTorch trajectory through import { RMSProp } from 'rmsprop'", () => {
    writeFileSync(
      join(project, 'replay.mjs'),
      `import { readFileSync } from 'node:fs';
import { RMSProp } from 'rmsprop';
const { cases } = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const out = {};
for (const c of cases) {
  const T = c.dtype === 'float64' ? Float64Array : Float32Array;
  const params = c.init.map((v, i) => ({ data: T.from(v), grad: null, name: 'p' + i }));
  const groups = c.groups ? c.groups.map((g) => ({ params: g.params.map((i) => params[i]), ...g.options })) : params;
  const opt = new RMSProp(groups, c.options);
  const run = [];
  for (const s of c.steps) {
    for (const { group, ...values } of s.set) Object.assign(opt.paramGroups[group], values);
    s.grads.forEach((g, i) => { params[i].grad = g === null ? null : T.from(g); });
    opt.step();
    run.push(params.map((p) => Array.from(p.data)));
  }
  // As test/support/compare.ts: per parameter, the largest difference over the run divided by
  // the largest magnitude the parameter reaches in PyTorch's run.
  let worst = 0;
  c.init.forEach((_, i) => {
    let scale = c.dtype === 'float64' ? 2 ** -1022 : 2 ** -126;
    let diff = 0;
    c.steps.forEach((s, t) => s.params[i].forEach((b, j) => {
      scale = Math.max(scale, Math.abs(b));
      const d = Math.abs(run[t][i][j] - b);
      if (!(d <= diff)) diff = d;
    }));
    if (!(diff / scale <= worst)) worst = diff / scale;
  });
  out[c.name] = { dtype: c.dtype, worst };
}
console.log(JSON.stringify(out));
`,
    );
    const result = JSON.parse(run('node', ['replay.mjs', fixturePath], project)) as Record<string, { dtype: string; worst: number }>;
    expect(Object.keys(result).length).toBeGreaterThanOrEqual(16);
    for (const { dtype, worst } of Object.values(result)) expect(worst).toBeLessThanOrEqual(dtype === 'float64' ? 1e-12 : 1e-5);
  });

  it("serves the kernel alone as 'rmsprop/step' and types both entry points for strict TypeScript", () => {
    writeFileSync(
      join(project, 'use.ts'),
      `import { RMSProp, type ParamRef } from 'rmsprop';
import { createState, rmspropDefaults, rmspropStep } from 'rmsprop/step';
declare const console: { log(message: string): void }; // no DOM or Node types: the library needs neither
const w: ParamRef<Float32Array> = { data: new Float32Array([1, 2]), grad: new Float32Array([0.5, -0.5]) };
new RMSProp([w], { lr: 0.1 }).step();
const p = new Float64Array([1]);
const s = createState(p, rmspropDefaults);
rmspropStep(p, new Float64Array([1]), s, { ...rmspropDefaults, lr: 0.5 });
console.log(JSON.stringify([Array.from(w.data), p[0], s.step]));
`,
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022'], types: [], noEmit: false, outDir: 'out', exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true },
        files: ['use.ts'],
      }),
    );
    run('node', [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], project);
    const [w, p, step] = JSON.parse(run('node', ['out/use.js'], project)) as [number[], number, number];
    // First step: each weight moves by lr / sqrt(1 - alpha) = 1 against its gradient's sign.
    expect(w[0]).toBeCloseTo(0, 5);
    expect(w[1]).toBeCloseTo(3, 5);
    expect(p).toBe(1 - (0.5 * 1) / (Math.sqrt((1 - 0.99) * 1 * 1) + 1e-8));
    expect(step).toBe(1);
  });
  it("saves and loads a checkpoint through 'rmsprop/node', typed without Node's types", () => {
    writeFileSync(
      join(project, 'checkpoint.ts'),
      `import { RMSProp, decodeState, encodeState } from 'rmsprop';
import { loadState, saveState } from 'rmsprop/node';
declare const console: { log(message: string): void };
const w = { data: new Float32Array([1, 2, 3]), grad: new Float32Array([0.5, -0.5, 1]), name: 'w' };
const opt = new RMSProp([w], { momentum: 0.9 });
opt.step();
await saveState(opt, 'state.safetensors');
const twin = new RMSProp([{ ...w, data: new Float32Array(3) }], { momentum: 0.9 });
await loadState(twin, 'state.safetensors');
const same = encodeState(twin).every((b, i) => b === encodeState(opt)[i]);
console.log(JSON.stringify([same, decodeState(encodeState(opt)).groups[0]!.params[0]!.step]));
`,
    );
    writeFileSync(
      join(project, 'tsconfig.checkpoint.json'),
      JSON.stringify({
        compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022'], types: [], outDir: 'out', exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true },
        files: ['checkpoint.ts'],
      }),
    );
    run('node', [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.checkpoint.json'], project);
    expect(JSON.parse(run('node', ['out/checkpoint.js'], project))).toEqual([true, 1]);
  });
  it("serves the WebGPU optimizer and its WGSL kernel as 'rmsprop/webgpu', typed with the DOM library's WebGPU types", () => {
    writeFileSync(
      join(project, 'gpu.ts'),
      `import { GPURMSProp, HYPER_BYTES, rmspropWGSL } from 'rmsprop/webgpu';
import type { GPUParamRef } from 'rmsprop/webgpu';
export function make(device: GPUDevice, params: GPUParamRef[]): GPURMSProp {
  return new GPURMSProp(device, params, { lr: 1e-3, nonFinite: 'skip' });
}
console.log(JSON.stringify([HYPER_BYTES, rmspropWGSL(false).includes('fn update'), rmspropWGSL(true).includes('fn scan')]));
`,
    );
    writeFileSync(
      join(project, 'tsconfig.gpu.json'),
      JSON.stringify({
        compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022', 'dom'], types: [], outDir: 'out', exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true },
        files: ['gpu.ts'],
      }),
    );
    run('node', [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.gpu.json'], project);
    expect(JSON.parse(run('node', ['out/gpu.js'], project))).toEqual([96, true, true]);
  });
});

describe('the kernel file, copied alone (the single-file promise)', () => {
  it('imports nothing, so it can be copied alone, and compiles alone in strict mode', () => {
    const file = fileURLToPath(new URL('../src/rmsprop-step.ts', import.meta.url));
    const source = readFileSync(file, 'utf8');
    expect(source).not.toMatch(/^\s*import\b|^\s*export\s[^;]*\bfrom\s*['"]|\brequire\(|\bimport\(/m);

    const dir = mkdtempSync(join(tmpdir(), 'rmsprop-kernel-'));
    try {
      copyFileSync(file, join(dir, 'rmsprop-step.ts'));
      writeFileSync(
        join(dir, 'main.ts'),
        `import { createState, rmspropDefaults, rmspropStep } from './rmsprop-step.js';
declare const console: { log(message: string): void };
const w = new Float32Array([1, -2]);
const s = createState(w, rmspropDefaults);
rmspropStep(w, new Float32Array([0.5, 0.5]), s, rmspropDefaults);
console.log(JSON.stringify(Array.from(w)));
`,
      );
      writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
      // Strict, and with no DOM or Node types: the kernel needs neither.
      const compilerOptions = { strict: true, noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, isolatedDeclarations: true, declaration: true, target: 'es2022', module: 'nodenext', lib: ['es2022'], types: [], outDir: 'out' };
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['main.ts'] }));
      const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
      execFileSync('node', [tsc, '-p', 'tsconfig.json'], { cwd: dir });
      const out = JSON.parse(execFileSync('node', ['out/main.js'], { cwd: dir, encoding: 'utf8' })) as number[];
      expect(out[0]).toBeCloseTo(0.9, 6);
      expect(out[1]).toBeCloseTo(-2.1, 6);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a <script type="module"> in a page (examples/page.html)', () => {
  it('loads dist/ straight from a static server in headless Chromium and trains', async () => {
    const { createServer } = await import('node:http');
    const { chromium } = await import('playwright');
    const { extname } = await import('node:path');
    const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.map': 'application/json' };
    // A static server for the repository, on loopback only.
    const server = createServer((req, res) => {
      const path = join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
      if (!path.startsWith(root)) return void res.writeHead(403).end();
      let body: Buffer;
      try {
        body = readFileSync(path);
      } catch {
        return void res.writeHead(404).end();
      }
      res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const browser = await chromium.launch({
      executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`http://127.0.0.1:${port}/examples/page.html`);
      await page.waitForFunction("document.getElementById('out').textContent !== 'running…'", null, { timeout: 20_000 });
      const w = JSON.parse((await page.textContent('#out'))!) as number[];
      expect(errors).toEqual([]);
      expect(w).toHaveLength(3);
      for (const x of w) expect(Math.abs(x)).toBeLessThan(0.3); // from 3, -2 and 0.5
    } finally {
      await browser.close();
      server.close();
    }
  }, 60_000);
});
