// `npm run bench:webgpu -- [--serve] [sizes...]`: the GPU step against the CPU round trip it
// replaces, in a browser page. Per size n (one float32 parameter with momentum):
//
//   GPU step         GPURMSProp.step() submitted, until the queue is done (median of rounds)
//   CPU round trip   read data and grad back (mapAsync), the SIMD arena's step, write data back
//
// By default the page runs in headless Chromium (playwright, Debian's /usr/bin/chromium or
// CHROMIUM_PATH) with --enable-unsafe-webgpu, and the table is printed here. With --serve the
// page is only served on 127.0.0.1: open the printed address in a browser with WebGPU on a
// machine with a real GPU, and read the table in the page. On a machine without a GPU, Chromium's
// adapter is SwiftShader (the CPU): its figures show that the path runs, not how fast a GPU is.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url)); // build/bench/ -> the repository
const args = process.argv.slice(2);
const serveOnly = args.includes('--serve');
const sizes = args.filter((a) => !a.startsWith('--')).map(Number);
const SIZES = sizes.length > 0 ? sizes : [1e4, 1e5, 1e6];

// The page: plain JavaScript (it runs in the browser, from dist/).
const page = `<!doctype html><meta charset="utf-8"><title>rmsprop: WebGPU step</title><pre id="out">running...</pre>
<script type="module">
import { RMSProp, createArena } from '/dist/index.js';
import { GPURMSProp } from '/dist/webgpu.js';
const SIZES = ${JSON.stringify(SIZES)};
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const adapter = await navigator.gpu.requestAdapter();
const device = await adapter.requestDevice();
const info = adapter.info ?? {};
const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const rows = [];
for (const n of SIZES) {
  const init = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
  const data = device.createBuffer({ size: 4 * n, usage });
  const grad = device.createBuffer({ size: 4 * n, usage });
  device.queue.writeBuffer(data, 0, init);
  device.queue.writeBuffer(grad, 0, init);
  const opt = new GPURMSProp(device, [{ data, grad }], { lr: 1e-3, momentum: 0.9 });
  const gpu = [];
  for (let r = 0; r < 21; r++) {
    const t = performance.now();
    opt.step();
    await device.queue.onSubmittedWorkDone();
    gpu.push(performance.now() - t);
  }
  await opt.checked();
  // The CPU round trip: read back, step with the SIMD arena, upload.
  const arena = createArena(4 * n + 64);
  const w = { data: arena.alloc(n), grad: arena.alloc(n) };
  const cpuOpt = new RMSProp([w], { lr: 1e-3, momentum: 0.9, arena, nonFinite: 'apply' });
  const staging = [0, 1].map(() => device.createBuffer({ size: 4 * n, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }));
  const cpu = [];
  for (let r = 0; r < 11; r++) {
    const t = performance.now();
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(data, 0, staging[0], 0, 4 * n);
    encoder.copyBufferToBuffer(grad, 0, staging[1], 0, 4 * n);
    device.queue.submit([encoder.finish()]);
    await Promise.all(staging.map((s) => s.mapAsync(GPUMapMode.READ)));
    w.data.set(new Float32Array(staging[0].getMappedRange()));
    w.grad.set(new Float32Array(staging[1].getMappedRange()));
    staging.forEach((s) => s.unmap());
    cpuOpt.step();
    device.queue.writeBuffer(data, 0, w.data);
    await device.queue.onSubmittedWorkDone();
    cpu.push(performance.now() - t);
  }
  const g = median(gpu), c = median(cpu);
  rows.push({ n, gpuMs: g, gpuNs: (g * 1e6) / n, cpuMs: c, cpuNs: (c * 1e6) / n, ratio: c / g });
  data.destroy(); grad.destroy(); staging.forEach((s) => s.destroy());
}
const lines = ['| n | GPU step | ns/element | CPU round trip (read back, SIMD step, upload) | ns/element | round trip / GPU step |', '|---|---|---|---|---|---|'];
for (const r of rows) lines.push('| ' + r.n.toExponential(0) + ' | ' + r.gpuMs.toFixed(2) + ' ms | ' + r.gpuNs.toFixed(2) + ' | ' + r.cpuMs.toFixed(2) + ' ms | ' + r.cpuNs.toFixed(2) + ' | ' + r.ratio.toFixed(2) + 'x |');
lines.push('', 'adapter: ' + [info.vendor, info.architecture, info.description].filter(Boolean).join(' / ') + '; ' + navigator.userAgent);
document.getElementById('out').textContent = lines.join('\\n');
window.benchDone = lines.join('\\n');
</script>`;

const server = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://127.0.0.1');
  if (url.pathname === '/' || url.pathname === '/index.html') {
    response.writeHead(200, { 'content-type': 'text/html' }).end(page);
    return;
  }
  if (url.pathname.startsWith('/dist/') && !url.pathname.includes('..')) {
    try {
      const body = readFileSync(join(root, url.pathname));
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(body);
      return;
    } catch {
      // not found below
    }
  }
  response.writeHead(404).end();
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const address = server.address();
const origin = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/`;

if (serveOnly) {
  console.log(`Serving the WebGPU bench at ${origin} (Ctrl-C to stop): open it in a browser with WebGPU.`);
} else {
  const { chromium } = await import('playwright');
  const browser = await chromium.launch({ executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium', args: ['--enable-unsafe-webgpu', '--no-sandbox'] });
  try {
    const tab = await browser.newPage();
    tab.on('pageerror', (error) => console.error('page error:', error.message));
    await tab.goto(origin);
    await tab.waitForFunction(() => (globalThis as { benchDone?: string }).benchDone !== undefined, undefined, { timeout: 600_000 });
    console.log(await tab.evaluate(() => (globalThis as { benchDone?: string }).benchDone));
    console.log(`\nnpm run bench:webgpu -- ${SIZES.join(' ')}; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}; median of 21 GPU steps and 11 round trips`);
  } finally {
    await browser.close();
    server.close();
  }
}
