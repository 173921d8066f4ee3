// A dependency-free SVG line-plot writer for the convergence study (loss curves over steps, lr
// sweeps). One function, `linePlot`, returns a complete standalone SVG document as a string; the
// same input always gives the same string.
//
// Diverged runs: a line breaks at NaN and ±Infinity (and at values <= 0 on a log axis), and finite
// values outside the range are clipped to the plot area, so a run that blows up leaves through the
// top instead of rescaling the plot.

/** One curve, with an optional band around it. */
export interface Series {
  readonly label: string;
  readonly x: readonly number[];
  /** The central line, e.g. the median over seeds. Same length as `x`. */
  readonly y: readonly number[];
  /** Lower edge of a band, e.g. the minimum or 25th percentile. Needs `hi`; same length as `x`. */
  readonly lo?: readonly number[];
  /** Upper edge of the band. Needs `lo`; same length as `x`. */
  readonly hi?: readonly number[];
  /** Any SVG colour. @defaultValue the next Okabe–Ito colour, by the series' index */
  readonly color?: string;
  /** @defaultValue false */
  readonly dashed?: boolean;
  /** Draw a dot at every point (for sweeps with few points). @defaultValue false */
  readonly markers?: boolean;
}

/** Titles, axes and size of a plot. */
export interface PlotOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  /** @defaultValue false */
  readonly xLog?: boolean;
  /** @defaultValue false */
  readonly yLog?: boolean;
  /** In pixels, legend included. @defaultValue 640 */
  readonly width?: number;
  /** In pixels. @defaultValue 400 */
  readonly height?: number;
  /** @defaultValue the finite data (positive on a log axis), padded by 4% */
  readonly xRange?: readonly [number, number];
  /** @defaultValue as `xRange`; on a log axis at most 12 decades, counted down from the top */
  readonly yRange?: readonly [number, number];
  /** A small caption under the plot. */
  readonly note?: string;
}

/** Okabe & Ito's colour-blind-safe palette, yellow left out (too faint on white). */
const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];
const CHAR_W = 6.6; // average width of a 12px sans-serif character, for layout only

interface Tick { readonly value: number; readonly label: string }
interface Axis { readonly lo: number; readonly hi: number; readonly log: boolean; readonly ticks: readonly Tick[] }

/**
 * Draws `series` as lines on one pair of axes, with ticks, light grid lines, a legend on the right,
 * and `options.note` as a caption. Returns a complete standalone SVG document.
 *
 * @example
 * const svg = linePlot(
 *   [{ label: 'lr 1e-3', x: [0, 1, 2], y: [1, 0.3, 0.1] }],
 *   { title: 'Loss', xLabel: 'step', yLabel: 'loss', yLog: true },
 * );
 */
export function linePlot(series: readonly Series[], options: PlotOptions): string {
  const width = options.width ?? 640, height = options.height ?? 400;
  for (const [name, v] of [['width', width], ['height', height]] as const) {
    if (!(v >= 100) || v === Infinity) throw new RangeError(`linePlot: invalid ${name}: expected a finite number >= 100, got ${v}`);
  }
  series.forEach((s, k) => {
    for (const [name, a] of [['y', s.y], ['lo', s.lo], ['hi', s.hi]] as const) {
      if (a !== undefined && a.length !== s.x.length)
        throw new RangeError(`linePlot: series ${k} ("${s.label}"): ${name} has ${a.length} values, x has ${s.x.length}`);
    }
    if ((s.lo === undefined) !== (s.hi === undefined))
      throw new RangeError(`linePlot: series ${k} ("${s.label}"): give both lo and hi, or neither`);
  });
  const xLog = options.xLog ?? false, yLog = options.yLog ?? false;
  const xAxis = axis('x', series.flatMap((s) => s.x), xLog, options.xRange);
  const yAxis = axis('y', series.flatMap((s) => [...s.y, ...(s.lo ?? []), ...(s.hi ?? [])]), yLog, options.yRange);

  // Layout: the plot area is what is left after the title, tick labels, axis labels and legend.
  const longest = (ts: readonly string[]): number => Math.max(0, ...ts.map((t) => t.length));
  const legendW = series.length === 0 ? 0 : Math.min(0.4 * width, 44 + longest(series.map((s) => s.label)) * CHAR_W);
  const left = Math.round(36 + longest(yAxis.ticks.map((t) => t.label)) * CHAR_W);
  const top = 36, right = width - 16 - legendW, bottom = height - (options.note === undefined ? 48 : 66);
  const px = scale(xAxis, left, right), py = scale(yAxis, bottom, top);

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${fmt(width)}" height="${fmt(height)}" viewBox="0 0 ${fmt(width)} ${fmt(height)}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${fmt(width)}" height="${fmt(height)}" fill="#ffffff"/>`,
    `<defs><clipPath id="plot-area"><rect x="${fmt(left)}" y="${fmt(top)}" width="${fmt(right - left)}" height="${fmt(bottom - top)}"/></clipPath></defs>`,
  ];

  // Grid, ticks and tick labels.
  const grid: string[] = [], ticks: string[] = [], labels: string[] = [];
  for (const t of xAxis.ticks) {
    const x = fmt(px(t.value));
    grid.push(`M${x} ${fmt(top)}V${fmt(bottom)}`);
    ticks.push(`M${x} ${fmt(bottom)}v5`);
    labels.push(`<text class="x-tick" x="${x}" y="${fmt(bottom + 18)}" text-anchor="middle">${esc(t.label)}</text>`);
  }
  for (const t of yAxis.ticks) {
    const y = fmt(py(t.value));
    grid.push(`M${fmt(left)} ${y}H${fmt(right)}`);
    ticks.push(`M${fmt(left)} ${y}h-5`);
    labels.push(`<text class="y-tick" x="${fmt(left - 8)}" y="${y}" text-anchor="end" dominant-baseline="middle">${esc(t.label)}</text>`);
  }
  for (const v of minorLogTicks(xAxis)) ticks.push(`M${fmt(px(v))} ${fmt(bottom)}v3`);
  for (const v of minorLogTicks(yAxis)) ticks.push(`M${fmt(left)} ${fmt(py(v))}h-3`);
  out.push(`<path d="${grid.join('')}" stroke="#e6e6e6" stroke-width="1" fill="none"/>`);

  // Data, clipped to the plot area: bands first, so every line is drawn over every band.
  const ok = (a: Axis, v: number): boolean => Number.isFinite(v) && (!a.log || v > 0);
  const colors = series.map((s, k) => s.color ?? PALETTE[k % PALETTE.length]!);
  const data: string[] = [];
  series.forEach((s, k) => {
    if (s.lo === undefined || s.hi === undefined) return;
    const lo = s.lo, hi = s.hi, parts: string[] = [];
    for (const [i, j] of runs(s.x.length, (n) => ok(xAxis, s.x[n]!) && ok(yAxis, lo[n]!) && ok(yAxis, hi[n]!))) {
      const pts: string[] = [];
      for (let n = i; n < j; n++) pts.push(`${fmt(px(s.x[n]!))} ${fmt(py(hi[n]!))}`);
      for (let n = j - 1; n >= i; n--) pts.push(`${fmt(px(s.x[n]!))} ${fmt(py(lo[n]!))}`);
      parts.push(`M${pts.join('L')}Z`);
    }
    if (parts.length > 0) data.push(`<path class="band" d="${parts.join('')}" fill="${esc(colors[k]!)}" fill-opacity="0.2" stroke="none"/>`);
  });
  series.forEach((s, k) => {
    const parts: string[] = [], dots: string[] = [];
    for (const [i, j] of runs(s.x.length, (n) => ok(xAxis, s.x[n]!) && ok(yAxis, s.y[n]!))) {
      const pts: Array<[string, string]> = [];
      for (let n = i; n < j; n++) pts.push([fmt(px(s.x[n]!)), fmt(py(s.y[n]!))]);
      parts.push(`M${pts.map((p) => p.join(' ')).join('L')}${j - i === 1 ? 'h0' : ''}`); // h0: a lone point shows as a round cap
      if (s.markers === true) for (const [x, y] of pts) dots.push(`<circle cx="${x}" cy="${y}" r="3"/>`);
    }
    const dash = s.dashed === true ? ' stroke-dasharray="6 4"' : '';
    if (parts.length > 0) data.push(`<path class="line" d="${parts.join('')}" fill="none" stroke="${esc(colors[k]!)}" stroke-width="1.75" stroke-linejoin="round" stroke-linecap="round"${dash}/>`);
    if (dots.length > 0) data.push(`<g fill="${esc(colors[k]!)}">${dots.join('')}</g>`);
  });
  out.push(`<g clip-path="url(#plot-area)">${data.join('')}</g>`);
  out.push(`<rect x="${fmt(left)}" y="${fmt(top)}" width="${fmt(right - left)}" height="${fmt(bottom - top)}" fill="none" stroke="#333333"/>`);
  out.push(`<path d="${ticks.join('')}" stroke="#333333" fill="none"/>`, ...labels);

  // Title, axis labels, note.
  const midX = fmt((left + right) / 2), midY = fmt((top + bottom) / 2);
  // The title starts at the left edge: centred over the plot area, a long one would be cut off.
  out.push(`<text x="10" y="22" font-size="15" font-weight="bold">${esc(options.title)}</text>`);
  out.push(`<text x="${midX}" y="${fmt(bottom + 38)}" text-anchor="middle">${esc(options.xLabel)}</text>`);
  out.push(`<text transform="translate(14 ${midY}) rotate(-90)" text-anchor="middle" dominant-baseline="middle">${esc(options.yLabel)}</text>`);
  if (options.note !== undefined) out.push(`<text x="${fmt(left)}" y="${fmt(height - 8)}" font-size="11" fill="#555555">${esc(options.note)}</text>`);

  // Legend, to the right of the plot area: a line sample (band swatch, marker) and the label.
  if (series.length > 0) {
    const lx = right + 12, ly = top;
    out.push(`<rect x="${fmt(lx)}" y="${fmt(ly)}" width="${fmt(legendW - 8)}" height="${fmt(series.length * 18 + 8)}" fill="#ffffff" stroke="#cccccc"/>`);
    series.forEach((s, k) => {
      const y = ly + 13 + k * 18, c = esc(colors[k]!);
      if (s.lo !== undefined) out.push(`<rect x="${fmt(lx + 6)}" y="${fmt(y - 5)}" width="22" height="10" fill="${c}" fill-opacity="0.2"/>`);
      out.push(`<path d="M${fmt(lx + 6)} ${fmt(y)}h22" stroke="${c}" stroke-width="1.75"${s.dashed === true ? ' stroke-dasharray="6 4"' : ''}/>`);
      if (s.markers === true) out.push(`<circle cx="${fmt(lx + 17)}" cy="${fmt(y)}" r="3" fill="${c}"/>`);
      out.push(`<text x="${fmt(lx + 34)}" y="${fmt(y)}" dominant-baseline="middle">${esc(s.label)}</text>`);
    });
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Coordinates with at most 2 decimals; `-0` prints as `0`. */
function fmt(v: number): string {
  return String(Math.round(v * 100) / 100 || 0);
}

/** XML-escapes text and attribute values, dropping the control characters XML does not allow. */
function esc(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Maps data values to pixels; far-off values are held at 100 plot sizes out (clipped anyway). */
function scale(a: Axis, p0: number, p1: number): (v: number) => number {
  const t = a.log ? Math.log10 : (v: number): number => v;
  const t0 = t(a.lo), span = t(a.hi) - t0;
  return (v) => p0 + Math.min(100, Math.max(-100, (t(v) - t0) / span)) * (p1 - p0);
}

/** Index ranges [i, j) of consecutive indices where `good` holds. */
function runs(n: number, good: (i: number) => boolean): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < n; ) {
    if (!good(i)) { i++; continue; }
    let j = i + 1;
    while (j < n && good(j)) j++;
    out.push([i, j]);
    i = j;
  }
  return out;
}

/** The axis range (given, or from the data) and its ticks. */
function axis(name: 'x' | 'y', data: readonly number[], log: boolean, range: readonly [number, number] | undefined): Axis {
  let lo: number, hi: number;
  if (range !== undefined) {
    [lo, hi] = range;
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi && (!log || lo > 0)))
      throw new RangeError(`linePlot: invalid ${name}Range: expected finite lo < hi${log ? ', both > 0 on a log axis' : ''}, got [${lo}, ${hi}]`);
  } else {
    const t = log ? Math.log10 : (v: number): number => v;
    const inv = log ? (v: number): number => 10 ** v : (v: number): number => v;
    const vs = data.filter((v) => Number.isFinite(v) && (!log || v > 0)).map(t);
    // A loop, not Math.min(...vs), which overflows the stack past ~100k values.
    let a = Infinity, b = -Infinity;
    for (const v of vs) { if (v < a) a = v; if (v > b) b = v; }
    if (vs.length === 0) [a, b] = [0, 1];
    const pad = a === b ? (log ? 0.5 : Math.abs(a) * 0.1 || 1) : (b - a) * 0.04;
    if (log && name === 'y') a = Math.max(a - pad, b + pad - 12) + pad; // at most 12 decades, with the padding
    lo = inv(!log && a >= 0 && a - pad < 0 ? 0 : a - pad); // do not pad non-negative data below 0
    hi = inv(b + pad);
  }
  return { lo, hi, log, ticks: log ? logTicks(lo, hi) : linearTicks(lo, hi) };
}

/** About five ticks at multiples of 1, 2 or 5 times a power of ten. */
function linearTicks(lo: number, hi: number): Tick[] {
  const raw = (hi - lo) / 5, mag = 10 ** Math.floor(Math.log10(raw)), r = raw / mag;
  const step = (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * mag;
  const digits = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const out: Tick[] = [];
  for (let i = Math.ceil(lo / step - 1e-9); i * step <= hi + step * 1e-9; i++) out.push({ value: i * step, label: (i * step).toFixed(digits) });
  return out;
}

/**
 * Ticks at powers of ten (every k-th decade if there are more than 8), labelled 0.01, 0.1, 1, 10,
 * 100 and 1e-3, 1e3 beyond; 2x and 5x are added when fewer than two decades are in range.
 */
function logTicks(lo: number, hi: number): Tick[] {
  const e0 = Math.ceil(Math.log10(lo) - 1e-9), e1 = Math.floor(Math.log10(hi) + 1e-9);
  const stride = Math.ceil((e1 - e0 + 1) / 8);
  const out: Tick[] = [];
  const mantissas = e1 - e0 + 1 < 2 ? [1, 2, 5] : [1];
  for (let e = Math.floor(Math.log10(lo)); e <= e1; e++) {
    if (e % stride !== 0) continue;
    for (const m of mantissas) {
      const v = m * Number(`1e${e}`); // exact, unlike 10 ** e for some negative e
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push({ value: v, label: e >= -2 && e <= 2 ? v.toFixed(Math.max(0, -e)) : `${m}e${e}` });
    }
  }
  return out.length >= 2 ? out : linearTicks(lo, hi).filter((t) => t.value > 0);
}

/** Unlabelled ticks at 2..9 times each power of ten, when each decade has a labelled tick. */
function minorLogTicks(a: Axis): number[] {
  if (!a.log || Math.log10(a.hi / a.lo) > 8) return [];
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(a.lo)); e <= Math.ceil(Math.log10(a.hi)); e++)
    for (let m = 2; m <= 9; m++) {
      const v = m * Number(`1e${e}`);
      if (v > a.lo && v < a.hi) out.push(v);
    }
  return out;
}
