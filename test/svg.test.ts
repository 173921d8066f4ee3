import { describe, expect, it } from 'vitest';
import { linePlot } from '../bench/convergence/svg.js';
import type { PlotOptions, Series } from '../bench/convergence/svg.js';

// The browser's DOMParser; the test tsconfig has no DOM types, and Node has no DOMParser.
declare const DOMParser: (new () => {
  parseFromString(text: string, type: string): {
    getElementsByTagName(name: string): { readonly length: number };
    readonly documentElement: { readonly namespaceURI: string | null; readonly localName: string };
  };
}) | undefined;

const OPTS: PlotOptions = { title: 'Loss', xLabel: 'step', yLabel: 'loss' };

/** The plot area, read from the clip path's rectangle. */
function area(svg: string): { x: number; y: number; w: number; h: number } {
  const m = /<clipPath id="plot-area"><rect x="([-\d.]+)" y="([-\d.]+)" width="([\d.]+)" height="([\d.]+)"\/>/.exec(svg);
  if (m === null) throw new Error('no clip rectangle');
  return { x: Number(m[1]), y: Number(m[2]), w: Number(m[3]), h: Number(m[4]) };
}

/** The `d` attribute of every data line (or band), split into subpaths of [x, y] points. */
function lines(svg: string, cls = 'line'): number[][][][] {
  return [...svg.matchAll(new RegExp(`<path class="${cls}" d="([^"]*)"`, 'g'))].map((m) =>
    m[1]!.split('M').slice(1).map((sub) =>
      sub.replace(/h0$|Z$/, '').split('L').map((p) => p.split(' ').map(Number))));
}

function tickLabels(svg: string, axis: 'x' | 'y'): string[] {
  return [...svg.matchAll(new RegExp(`<text class="${axis}-tick"[^>]*>([^<]*)</text>`, 'g'))].map((m) => m[1]!);
}

/** Checks that every element closes, in order; returns the problems found. */
function tagProblems(svg: string): string[] {
  const stack: string[] = [], problems: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([A-Za-z][\w:-]*)((?:[^>"]|"[^"]*")*?)(\/?)>/g)) {
    if (m[4] === '/') continue;
    if (m[1] === '') stack.push(m[2]!);
    else if (stack.pop() !== m[2]) problems.push(`unexpected </${m[2]}>`);
  }
  if (stack.length > 0) problems.push(`unclosed: ${stack.join(', ')}`);
  const text = svg.replace(/<(?:[^>"]|"[^"]*")*>/g, '');
  if (/[<>]|&(?!(?:amp|lt|gt|quot);)/.test(text)) problems.push('unescaped text');
  return problems;
}

describe('linePlot', () => {
  it('escapes &, <, > and " in every piece of text', () => {
    const svg = linePlot(
      [{ label: 'a<b> & "c"', x: [0, 1], y: [1, 2], color: '"red"' }],
      { title: 'T & <U>', xLabel: 'x "1"', yLabel: 'y>0', note: 'n < m' },
    );
    for (const s of ['a&lt;b&gt; &amp; &quot;c&quot;', 'T &amp; &lt;U&gt;', 'x &quot;1&quot;', 'y&gt;0', 'n &lt; m', 'stroke="&quot;red&quot;"']) {
      expect(svg).toContain(s);
    }
    expect(svg).not.toContain('<U>');
    expect(tagProblems(svg)).toEqual([]);
  });

  it('gives the same string for the same input', () => {
    const series: Series[] = [
      { label: 'a', x: [1, 2, 3], y: [0.5, 0.25, NaN], lo: [0.4, 0.2, 0.1], hi: [0.6, 0.3, 0.2], markers: true },
      { label: 'b', x: [1, 2, 3], y: [1, 0.1, 0.01], dashed: true },
    ];
    const a = linePlot(series, { ...OPTS, yLog: true, note: 'n' });
    expect(linePlot(series, { ...OPTS, yLog: true, note: 'n' })).toBe(a);
    expect(a.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  });

  it('maps a known point to the expected pixel on linear axes', () => {
    const svg = linePlot([{ label: 'a', x: [0, 2.5], y: [0, 75] }], { ...OPTS, xRange: [0, 10], yRange: [0, 100] });
    const r = area(svg), [p0, p1] = lines(svg)[0]![0]!;
    expect(p0![0]).toBeCloseTo(r.x, 2);
    expect(p0![1]).toBeCloseTo(r.y + r.h, 2);
    expect(p1![0]).toBeCloseTo(r.x + 0.25 * r.w, 2);
    expect(p1![1]).toBeCloseTo(r.y + 0.25 * r.h, 2);
  });

  it('maps a known point to the expected pixel on log axes', () => {
    const svg = linePlot([{ label: 'a', x: [1e-2], y: [10] }], { ...OPTS, xLog: true, yLog: true, xRange: [1e-4, 1], yRange: [1e-3, 1e3] });
    const r = area(svg), p = lines(svg)[0]![0]![0]!;
    expect(p[0]).toBeCloseTo(r.x + 0.5 * r.w, 2);
    expect(p[1]).toBeCloseTo(r.y + (2 / 6) * r.h, 2);
  });

  it('writes coordinates with at most two decimals', () => {
    const svg = linePlot([{ label: 'a', x: [0, 1 / 3, 2 / 3, 1], y: [Math.PI, Math.E, Math.SQRT2, 1 / 7], lo: [0, 0, 0, 0], hi: [4, 4, 4, 4], markers: true }],
      { ...OPTS, width: 641.123, height: 399.777 });
    const numbers = [...svg.matchAll(/ (?:d|x|y|cx|cy|width|height)="([^"]*)"/g)].flatMap((m) => m[1]!.match(/-?[\d.]+(?:e-?\d+)?/g) ?? []);
    expect(numbers.length).toBeGreaterThan(20);
    for (const n of numbers) expect(n).toMatch(/^-?\d+(\.\d{1,2})?$/);
  });

  it('breaks a line at NaN, Infinity and -Infinity', () => {
    const svg = linePlot([{ label: 'a', x: [0, 1, 2, 3, 4, 5, 6, 7, 8], y: [1, 2, NaN, 3, 4, Infinity, 5, -Infinity, 6] }], OPTS);
    expect(lines(svg)[0]!.map((sub) => sub.length)).toEqual([2, 2, 1, 1]);
    expect(svg).toMatch(/M[\d.]+ [\d.]+h0/); // a lone point still draws, as a round cap
  });

  it('breaks a line at non-positive values on a log axis, and at a non-finite x', () => {
    const svg = linePlot([{ label: 'a', x: [0, 1, 2, 3, 4, 5, NaN, 7], y: [1, 2, 0, 3, 4, -1, 5, 6] }], { ...OPTS, yLog: true });
    expect(lines(svg)[0]!.map((sub) => sub.length)).toEqual([2, 2, 1]);
    const logX = linePlot([{ label: 'a', x: [0, 1, 2], y: [1, 2, 3] }], { ...OPTS, xLog: true });
    expect(lines(logX)[0]!.map((sub) => sub.length)).toEqual([2]);
  });

  it('clips the data to the plot area and keeps a given range when a run diverges', () => {
    const svg = linePlot([{ label: 'a', x: [0, 1, 2], y: [0.5, 0.9, 1e300] }], { ...OPTS, yRange: [0, 1] });
    expect(svg).toMatch(/<g clip-path="url\(#plot-area\)"><path class="line"/);
    const r = area(svg), top = lines(svg)[0]![0]![2]!;
    expect(top[1]).toBeLessThan(r.y - r.h); // off the top, held at a finite coordinate
    expect(Number.isFinite(top[1])).toBe(true);
    expect(tickLabels(svg, 'y')).toEqual(['0.0', '0.2', '0.4', '0.6', '0.8', '1.0']);
  });

  it('takes an automatic range from the finite data, padded, and not below zero for non-negative data', () => {
    const svg = linePlot([{ label: 'a', x: [0, 10, 20, 30], y: [0, 10, Infinity, NaN] }], OPTS);
    expect(tickLabels(svg, 'y')).toEqual(['0', '2', '4', '6', '8', '10']);
    expect(tickLabels(svg, 'x')[0]).toBe('0');
    const r = area(svg), p = lines(svg)[0]![0]!;
    expect(p[0]![1]).toBeCloseTo(r.y + r.h, 2); // 0 sits on the bottom edge
    expect(p[1]![1]).toBeGreaterThan(r.y + 1); // 10 is below the top: padding
  });

  it('labels a log axis from 1e-4 to 1 at powers of ten', () => {
    const svg = linePlot([{ label: 'a', x: [0, 1], y: [1e-4, 1] }], { ...OPTS, yLog: true, yRange: [1e-4, 1] });
    expect(tickLabels(svg, 'y')).toEqual(['1e-4', '1e-3', '0.01', '0.1', '1']);
    const wide = linePlot([{ label: 'a', x: [0, 1], y: [1, 1] }], { ...OPTS, yLog: true, yRange: [0.5, 2e3] });
    expect(tickLabels(wide, 'y')).toEqual(['1', '10', '100', '1e3']);
  });

  it('adds 2 and 5 ticks on a log axis spanning less than two decades', () => {
    const svg = linePlot([{ label: 'a', x: [0, 1], y: [1, 1] }], { ...OPTS, yLog: true, yRange: [0.015, 0.6] });
    expect(tickLabels(svg, 'y')).toEqual(['0.02', '0.05', '0.1', '0.2', '0.5']);
  });

  it('keeps an automatic log y axis within 12 decades of the top', () => {
    const svg = linePlot([{ label: 'a', x: [0, 1, 2], y: [1, 1e-6, 1e-20] }], { ...OPTS, yLog: true });
    expect(tickLabels(svg, 'y')).toEqual(['1e-10', '1e-8', '1e-6', '1e-4', '0.01', '1']);
    const r = area(svg), tiny = lines(svg)[0]![0]![2]!;
    expect(tiny[1]).toBeGreaterThan(r.y + r.h); // 1e-20 is below the plot
  });

  it('draws a translucent band under the line when lo and hi are given, broken where they are not finite', () => {
    const series: Series = { label: 'a', x: [0, 1, 2, 3, 4], y: [3, 2, 2, 1, 1], lo: [2, 1, 1, 0.5, 0.5], hi: [4, 3, Infinity, 2, 2] };
    const svg = linePlot([series], OPTS);
    expect(svg).toMatch(/<path class="band" d="M[^"]*Z" fill="#0072B2" fill-opacity="0.2"/);
    expect(svg.indexOf('class="band"')).toBeLessThan(svg.indexOf('class="line"'));
    const band = lines(svg, 'band')[0]!;
    expect(band.map((sub) => sub.length)).toEqual([4, 4]); // hi forward, lo back, per run
    const r = area(svg);
    expect(band[0]![0]![1]).toBeLessThan(band[0]![3]![1]!); // the hi edge is above the lo edge
    const xs = band[0]!.map((p) => p[0]!);
    expect(xs).toEqual([xs[0], xs[1], xs[1], xs[0]]); // along hi, then back along lo: one closed outline
    expect(band[0]![0]![0]).toBeCloseTo(r.x, 2);
    expect(linePlot([{ label: 'a', x: [0, 1], y: [1, 2] }], OPTS)).not.toContain('class="band"');
  });

  it('colours series from the Okabe–Ito palette unless given, with dashes and markers on request', () => {
    const svg = linePlot([
      { label: 'a', x: [0, 1, 2], y: [1, NaN, 3], markers: true },
      { label: 'b', x: [0, 1], y: [2, 1], dashed: true },
      { label: 'c', x: [0, 1], y: [2, 2], color: 'teal' },
    ], OPTS);
    expect(svg).toMatch(/class="line"[^>]*stroke="#0072B2"/);
    expect(svg).toMatch(/class="line"[^>]*stroke="#D55E00"[^>]*stroke-dasharray="6 4"/);
    expect(svg).toMatch(/class="line"[^>]*stroke="teal"/);
    expect(svg.match(/<path class="line"[^>]*stroke-dasharray/g)).toHaveLength(1);
    expect(svg.match(/<circle /g)).toHaveLength(2 + 1); // two valid points, and one in the legend
    for (const label of ['>a<', '>b<', '>c<']) expect(svg).toContain(label);
  });

  it('is a well-formed SVG document', () => {
    const svg = linePlot([
      { label: 'a & b', x: [0, 1, 2], y: [1, NaN, 3], lo: [0, 0, 0], hi: [2, 2, 2], markers: true, dashed: true },
    ], { ...OPTS, note: '<note>', yLog: true, xLog: true });
    expect(tagProblems(svg)).toEqual([]);
    expect(tagProblems('<svg><g></svg>')).not.toEqual([]); // the checker itself can fail
    if (typeof DOMParser !== 'undefined') {
      const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
      expect(doc.getElementsByTagName('parsererror')).toHaveLength(0);
      expect(doc.documentElement.namespaceURI).toBe('http://www.w3.org/2000/svg');
      expect(doc.documentElement.localName).toBe('svg');
    }
  });

  it.each<[string, Series[], Partial<PlotOptions>, string]>([
    ['y shorter than x', [{ label: 'a', x: [0, 1], y: [1] }], {}, 'linePlot: series 0 ("a"): y has 1 values, x has 2'],
    ['hi without lo', [{ label: 'a', x: [0], y: [1], hi: [2] }], {}, 'linePlot: series 0 ("a"): give both lo and hi, or neither'],
    ['an empty range', [], { xRange: [1, 1] }, 'linePlot: invalid xRange: expected finite lo < hi, got [1, 1]'],
    ['a log range from 0', [], { yLog: true, yRange: [0, 1] }, 'linePlot: invalid yRange: expected finite lo < hi, both > 0 on a log axis, got [0, 1]'],
    ['a tiny width', [], { width: 10 }, 'linePlot: invalid width: expected a finite number >= 100, got 10'],
    ['a NaN height', [], { height: NaN }, 'linePlot: invalid height: expected a finite number >= 100, got NaN'],
  ])('rejects %s', (_name, series, extra, message) => {
    expect(() => linePlot(series, { ...OPTS, ...extra })).toThrow(new RangeError(message));
  });
});
