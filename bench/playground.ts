/**
 * The playground page's speed and weight, in this machine's headless Chromium: for each objective,
 * the five paths animated one step a frame for 500 steps, with the frame rate the browser
 * delivered, the script's work per frame (drawing both canvases and the step table), the time to
 * compute the five runs and to draw the contours; and the bytes the page transfers.
 *
 * Usage: `npm run bench:playground` (builds the package and the page first). Prints a Markdown
 * table for docs/benchmarks.md.
 *
 * @module
 */
import { statSync } from 'node:fs';
import { arch, cpus } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright';
import { objectives } from '../playground/objectives.js';
import { repositoryRoot, serve } from '../playground/serve.js';

interface Row {
  readonly objective: string;
  readonly viewport: string;
  readonly frames: number;
  readonly fps: number;
  readonly intervalP95: number;
  readonly workMedian: number;
  readonly workP95: number;
  readonly workMax: number;
  readonly runs: number;
  readonly contours: number;
}

const quantile = (sorted: readonly number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))] ?? NaN;
const sort = (a: readonly number[]): number[] => [...a].sort((x, y) => x - y);

const root = repositoryRoot();
const served = await serve(root, 0);
const browser = await chromium.launch({
  executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
const rows: Row[] = [];
let transferred = 0, raw = 0, requests = 0;
try {
  const cases = [...objectives.map((o) => [o.id, 1280, 800] as const), [objectives[0]!.id, 360, 740] as const];
  for (const [id, width, height] of cases) {
    const page = await browser.newPage({ viewport: { width, height } });
    const sizes: Promise<void>[] = [];
    if (rows.length === 0)
      page.on('response', (r) => {
        sizes.push(
          r.request().sizes().then((s) => {
            transferred += s.responseBodySize + s.responseHeadersSize;
            raw += statSync(join(root, new URL(r.url()).pathname.replace(/\/$/, '/index.html'))).size;
          }),
        );
      });
    await page.goto(`${served.origin}/docs/playground/`, { waitUntil: 'networkidle' });
    await Promise.all(sizes);
    if (rows.length === 0) requests = sizes.length;
    await page.selectOption('#objective', id);
    await page.selectOption('#speed', '1');
    await page.click('#restart');
    const r = await page.evaluate(
      () =>
        new Promise<{ times: number[]; work: number[]; runs: number; contours: number }>((resolve) => {
          performance.clearMeasures('frame');
          const times: number[] = [];
          const last = (name: string): number => performance.getEntriesByName(name).at(-1)?.duration ?? NaN;
          const frame = (t: number): void => {
            times.push(t);
            if (document.getElementById('map')!.dataset['step'] !== '500') requestAnimationFrame(frame);
            else resolve({ times, work: performance.getEntriesByName('frame').map((e) => e.duration), runs: last('runs'), contours: last('contours') });
          };
          requestAnimationFrame(frame);
        }),
    );
    const gaps = sort(r.times.slice(1).map((t, i) => t - r.times[i]!));
    const work = sort(r.work);
    rows.push({
      objective: id,
      viewport: `${width}x${height}`,
      frames: r.work.length,
      fps: (r.times.length - 1) / ((r.times.at(-1)! - r.times[0]!) / 1000),
      intervalP95: quantile(gaps, 0.95),
      workMedian: quantile(work, 0.5),
      workP95: quantile(work, 0.95),
      workMax: work.at(-1)!,
      runs: r.runs,
      contours: r.contours,
    });
    await page.close();
  }
} finally {
  await browser.close();
  await served.close();
}

const version = browser.version();
console.log(`Chromium ${version} (headless), Node ${process.version}, ${cpus()[0]?.model ?? arch()} x ${cpus().length}, ${new Date().toISOString().slice(0, 10)}`);
console.log(`page load: ${requests} requests, ${(transferred / 1000).toFixed(1)} kB transferred (gzip), ${(raw / 1000).toFixed(1)} kB on disk\n`);
console.log('| objective | viewport | frames | frames/s | frame gap p95 (ms) | script per frame, median / p95 / max (ms) | 5 runs of 500 steps (ms) | contours (ms) |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows)
  console.log(
    `| ${r.objective} | ${r.viewport} | ${r.frames} | ${r.fps.toFixed(1)} | ${r.intervalP95.toFixed(1)} | ${r.workMedian.toFixed(1)} / ${r.workP95.toFixed(1)} / ${r.workMax.toFixed(1)} | ${r.runs.toFixed(1)} | ${r.contours.toFixed(1)} |`,
  );
