/**
 * The playground page (docs/playground/), loaded from a loopback server in headless Chromium as a
 * reader would load it, and the parts of it that run in Node: the objectives' gradients, the
 * static server, and the committed bundle (the same bytes as a fresh build of playground/*.ts).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlayground } from '../playground/build.js';
import { objectives } from '../playground/objectives.js';
import { repositoryRoot, serve } from '../playground/serve.js';
import type { Served } from '../playground/serve.js';
import { RMSProp } from '../src/optimizer.js';
import { presets } from '../src/presets.js';

const root = repositoryRoot();

describe('the objectives', () => {
  it.each(objectives.map((o) => [o.id, o] as const))('%s: the gradient is the derivative of f (central differences)', (_, o) => {
    const [x0, x1, y0, y1] = o.view;
    const g = new Float64Array(2);
    for (let k = 0; k < 50; k++) {
      const x = x0 + ((k * 0.6180339887) % 1) * (x1 - x0), y = y0 + ((k * 0.7548776662) % 1) * (y1 - y0);
      const h = 1e-6;
      o.grad(x, y, g);
      const dx = (o.f(x + h, y) - o.f(x - h, y)) / (2 * h), dy = (o.f(x, y + h) - o.f(x, y - h)) / (2 * h);
      expect(Math.abs(g[0]! - dx)).toBeLessThan(1e-5 * (1 + Math.abs(dx)));
      expect(Math.abs(g[1]! - dy)).toBeLessThan(1e-5 * (1 + Math.abs(dy)));
    }
  });

  it.each(objectives.map((o) => [o.id, o] as const))('%s: fMin is the value at every marked minimum, and the gradient vanishes there', (_, o) => {
    const g = new Float64Array(2);
    for (const [x, y] of o.minima) {
      expect(Math.abs(o.f(x, y) - o.fMin)).toBeLessThan(1e-9);
      o.grad(x, y, g);
      expect(Math.hypot(g[0]!, g[1]!)).toBeLessThan(1e-4);
    }
  });
});

describe('the static server (playground/serve.ts)', () => {
  let served: Served;
  beforeAll(async () => {
    served = await serve(root, 0);
  });
  afterAll(() => served.close());

  it('serves files from the repository, gzipped when asked, on 127.0.0.1 only', async () => {
    expect(served.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const plain = await fetch(`${served.origin}/docs/playground/index.html`, { headers: { 'accept-encoding': 'identity' } });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(await plain.text()).toBe(readFileSync(join(root, 'docs/playground/index.html'), 'utf8'));
    const zipped = await fetch(`${served.origin}/docs/playground/`, { headers: { 'accept-encoding': 'gzip' } });
    expect(zipped.headers.get('content-encoding')).toBe('gzip');
    expect(Number(zipped.headers.get('content-length'))).toBeLessThan(readFileSync(join(root, 'docs/playground/index.html')).length);
  });

  it('refuses paths outside the repository and answers 404 for missing files', async () => {
    const { request } = await import('node:http');
    const raw = (path: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = request(`${served.origin}${path}`, (res) => resolve(res.statusCode ?? 0));
        req.on('error', reject);
        req.end();
      });
    expect(await raw('/../../etc/passwd')).not.toBe(200);
    expect(await raw('/..%2f..%2f..%2fetc%2fpasswd')).toBe(403);
    expect(await raw('/docs/no-such-file')).toBe(404);
    expect(await raw('/docs/playground')).toBe(301);
  });
});

describe('the committed bundle', () => {
  it('is what `npm run playground` builds from playground/*.ts (not stale)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rmsprop-playground-'));
    try {
      await buildPlayground(join(dir, 'playground.js'));
      expect(readFileSync(join(dir, 'playground.js'), 'utf8')).toBe(readFileSync(join(root, 'docs/playground/playground.js'), 'utf8'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('imports the package from dist/ as plain ES modules and bundles none of it', () => {
    const bundle = readFileSync(join(root, 'docs/playground/playground.js'), 'utf8');
    const imports = [...new Set(Array.from(bundle.matchAll(/from"([^"]+)"/g), (m) => m[1]))].sort();
    expect(imports).toEqual(['../../dist/optimizer.js', '../../dist/presets.js']);
    expect(bundle).not.toMatch(/rmspropStep|squareAvg/);
  });
});

/** Positions after 0..3 steps of RMSProp in Node: the reference the page must equal bit for bit. */
function nodeSteps(objectiveId: string, start: readonly [number, number], options: object): number[][] {
  const o = objectives.find((q) => q.id === objectiveId)!;
  const p = { data: Float32Array.of(start[0], start[1]), grad: new Float32Array(2) };
  const opt = new RMSProp([p], options);
  const out = [[p.data[0]!, p.data[1]!]];
  for (let k = 0; k < 3; k++) {
    o.grad(p.data[0]!, p.data[1]!, p.grad);
    opt.step();
    out.push([p.data[0]!, p.data[1]!]);
  }
  return out;
}

const COLORS: Readonly<Record<string, readonly [number, number, number]>> = {
  rmsprop: [0xd5, 0x5e, 0x00],
  'rmsprop-momentum': [0xa6, 0x6d, 0x00],
  adam: [0x00, 0x72, 0xb2],
  sgd: [0x00, 0x8a, 0x65],
  'sgd-momentum': [0xb5, 0x57, 0x9a],
};

describe('the page in headless Chromium', { timeout: 30_000 }, () => {
  let served: Served;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const transferred: Promise<number>[] = [];

  beforeAll(async () => {
    const { chromium } = await import('playwright');
    served = await serve(root, 0);
    browser = await chromium.launch({
      executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${String(e)}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
      transferred.push(r.request().sizes().then((s) => s.responseBodySize + s.responseHeadersSize));
    });
    await page.goto(`${served.origin}/docs/playground/`);
    await finished(); // animated, 2 steps a frame
    await page.selectOption('#speed', '0'); // from here on each run is drawn whole at once
    await finished();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await served?.close();
  });

  /** Waits until the animation has drawn the last step, or the page said why it runs nothing. */
  async function finished(): Promise<void> {
    await page.waitForFunction(() => {
      const map = document.getElementById('map')!;
      const done = map.dataset['step'] === (document.getElementById('steps') as HTMLInputElement).value && document.getElementById('play')!.textContent === 'Play';
      return done || document.getElementById('status')!.textContent!.startsWith('Not run');
    }, null, { timeout: 20_000 });
    await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
  }

  /** Sets a field as a reader would (select all, type) and waits for the new run to finish. */
  async function setField(id: string, value: string): Promise<void> {
    await page.fill(`#${id}`, value);
    await finished();
  }

  async function firstSteps(): Promise<number[][]> {
    const rows = await page.$$eval('#first tr[data-step]', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent ?? '')));
    return rows.map((cells) => cells.map(Number));
  }

  /** How many pixels of the map canvas have each path's exact colour. */
  function countColors(): Promise<Record<string, number>> {
    return page.evaluate((colors) => {
      const c = document.getElementById('map') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const counts: Record<string, number> = {};
      for (const id of Object.keys(colors)) counts[id] = 0;
      for (let i = 0; i < d.length; i += 4)
        for (const [id, [r, g, b]] of Object.entries(colors)) if (d[i] === r && d[i + 1] === g && d[i + 2] === b) counts[id]!++;
      return counts;
    }, COLORS);
  }

  async function mapHash(): Promise<string> {
    return page.evaluate(() => (document.getElementById('map') as HTMLCanvasElement).toDataURL());
  }

  /** Shows one path only (or all), then waits for the frame that draws it. */
  async function show(only: string | null): Promise<void> {
    for (const id of Object.keys(COLORS)) {
      const box = page.locator(`#legend li:has([data-path="${id}"]) input[type=checkbox]`);
      await box.setChecked(only === null || id === only);
    }
    await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
  }

  it('loads with no console error, failed request or page error, under 100 kB transferred', async () => {
    const bytes = (await Promise.all(transferred)).reduce((a, b) => a + b, 0);
    expect(problems).toEqual([]);
    expect(bytes).toBeGreaterThan(10_000);
    expect(bytes).toBeLessThan(100_000);
  });

  it('draws each of the five paths in its own colour', async () => {
    for (const id of Object.keys(COLORS)) {
      await show(id);
      const counts = await countColors();
      expect(counts[id], id).toBeGreaterThan(150);
      for (const other of Object.keys(COLORS)) if (other !== id) expect(counts[other], `${other} while only ${id} is shown`).toBe(0);
    }
    await show(null);
    const all = await countColors();
    for (const id of Object.keys(COLORS)) expect(all[id], id).toBeGreaterThan(0);
    expect(await page.locator('#legend li').count()).toBe(5);
  });

  it("shows RMSProp's first 3 steps bit for bit as RMSProp computes them in Node", async () => {
    const o = objectives[0]!;
    const expected = nodeSteps(o.id, o.start, { ...presets.pytorch, lr: o.lr.rmsprop, momentum: 0 });
    const shown = await firstSteps();
    expect(shown).toHaveLength(4);
    shown.forEach((row, k) => {
      expect(Object.is(row[0], expected[k]![0]) && Object.is(row[1], expected[k]![1]), `step ${k}: page ${row} vs node ${expected[k]}`).toBe(true);
    });
  });

  it("changing lr changes RMSProp's path (and only the RMSProp paths)", async () => {
    await show('rmsprop');
    const before = { hash: await mapHash(), steps: await firstSteps() };
    const adamBefore = await page.textContent('[data-path="adam"].final');
    await setField('lr', '0.005');
    const after = { hash: await mapHash(), steps: await firstSteps() };
    expect(after.hash).not.toBe(before.hash);
    expect(after.steps[1]).not.toEqual(before.steps[1]);
    expect(await page.textContent('[data-path="adam"].final')).toBe(adamBefore);
    const expected = nodeSteps('quadratic', [-5, 2], { ...presets.pytorch, lr: 0.005, momentum: 0 });
    expect(after.steps).toEqual(expected);
    await show(null);
  });

  it('matches Node bit for bit after a click on the map, a preset, centered and another objective', async () => {
    await page.selectOption('#objective', 'rosenbrock');
    await finished();
    await page.selectOption('#preset', 'keras');
    await finished();
    await page.check('#centered');
    await finished();
    const box = (await page.locator('#map').boundingBox())!;
    await page.mouse.click(box.x + box.width * 0.3, box.y + box.height * 0.4);
    await finished();
    const start: [number, number] = [Number(await page.inputValue('#start-x')), Number(await page.inputValue('#start-y'))];
    expect(start).not.toEqual([-1.5, 2.5]);
    const lr = Number(await page.inputValue('#lr'));
    const expected = nodeSteps('rosenbrock', start, { ...presets.keras, lr, centered: true, momentum: 0 });
    const shown = await firstSteps();
    shown.forEach((row, k) => expect(Object.is(row[0], expected[k]![0]) && Object.is(row[1], expected[k]![1]), `step ${k}`).toBe(true));
  });

  it('is usable from the keyboard: every control has a label, and the arrow keys move the start within the map', async () => {
    const unlabeled = await page.$$eval('input, select, button', (els) =>
      els.filter((el) => {
        const e = el as HTMLInputElement;
        return !(e.labels?.length || e.getAttribute('aria-label') || (el.tagName === 'BUTTON' && el.textContent?.trim()));
      }).map((el) => el.outerHTML),
    );
    expect(unlabeled).toEqual([]);
    const x = Number(await page.inputValue('#start-x'));
    await page.focus('#map');
    await page.keyboard.press('ArrowRight');
    await finished();
    expect(Number(await page.inputValue('#start-x'))).toBeCloseTo(x + 0.02 * 4, 3); // Rosenbrock's view is 4 wide
    expect(await page.textContent('#announce')).toMatch(/^Start at x -?[\d.]+, y -?[\d.]+\.$/);
    for (let k = 0; k < 20; k++) await page.keyboard.press('Shift+ArrowLeft');
    await finished();
    expect(await page.inputValue('#start-x')).toBe('-2'); // the map's edge, not beyond
    await page.focus('#steps');
    await page.keyboard.press('ArrowUp');
    await finished();
    expect(await page.inputValue('#steps')).toBe('501');
  });

  it('names the option and the value when a setting is refused, and keeps drawing the others', async () => {
    await setField('alpha', '1.5');
    const status = await page.textContent('#status');
    expect(status).toMatch(/^RMSProp: invalid alpha: .*1\.5/);
    expect(status).not.toMatch(/RMSProp: RMSProp/);
    expect(await page.textContent('[data-path="rmsprop"].final')).toBe('not run');
    await show('adam');
    expect((await countColors())['adam']).toBeGreaterThan(0);
    await show(null);
    await setField('alpha', '0.9');
    expect(await page.textContent('#status')).not.toMatch(/alpha/);
    expect(await page.textContent('[data-path="rmsprop"].final')).not.toBe('not run');
  });

  it('draws no path and no table while the start or the steps are invalid, and says why', async () => {
    await setField('start-x', '99');
    expect(await page.textContent('#status')).toMatch(/start x: expected a number from -2 to 2 \(the map's range\), got 99/);
    for (const id of Object.keys(COLORS)) expect(await page.textContent(`[data-path="${id}"].final`)).toBe('not run');
    expect(Object.values(await countColors()).every((c) => c === 0)).toBe(true);
    expect(await page.locator('#first tr').count()).toBe(0);
    // A new width redraws the contours and still no path.
    await page.setViewportSize({ width: 1100, height: 800 });
    await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
    expect(Object.values(await countColors()).every((c) => c === 0)).toBe(true);
    await page.setViewportSize({ width: 1280, height: 800 });
    await setField('start-x', '-1.5');
    expect(await page.textContent('#status')).not.toMatch(/start/);
    expect((await countColors())['rmsprop']).toBeGreaterThan(0);
  });

  it('keeps the step shown and the pause through a resize and a change of speed', async () => {
    await page.selectOption('#speed', '1');
    await page.click('#restart');
    await page.click('#play'); // pause
    await page.locator('#at').fill('120');
    await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
    expect(await page.getAttribute('#map', 'data-step')).toBe('120');
    await page.setViewportSize({ width: 1180, height: 800 });
    await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
    expect(await page.getAttribute('#map', 'data-step')).toBe('120');
    expect(await page.textContent('#play')).toBe('Play');
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.selectOption('#speed', '0'); // plays on from 120, all at once
    await finished();
    expect(await page.getAttribute('#map', 'data-step')).toBe(await page.inputValue('#steps'));
  });

  it('saves screenshots at 1280x800 and 360x740 under build/ (as a reader first sees it), fitting 360 px without sideways scrolling', async () => {
    mkdirSync(join(root, 'build'), { recursive: true });
    for (const [width, height] of [[1280, 800], [360, 740]] as const) {
      const fresh = await browser.newPage({ viewport: { width, height } });
      try {
        await fresh.goto(`${served.origin}/docs/playground/`);
        await fresh.waitForFunction(() => document.getElementById('map')!.dataset['step'] === '500', null, { timeout: 20_000 });
        expect(await fresh.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
        await fresh.screenshot({ path: join(root, `build/playground-${width}x${height}.png`) });
      } finally {
        await fresh.close();
      }
      expect(readFileSync(join(root, `build/playground-${width}x${height}.png`)).subarray(1, 4).toString()).toBe('PNG');
    }
  });
});
