/// <reference lib="dom" />
/**
 * The loss plot: `f - fMin` against the step on a log scale (d3-scale's `scaleLog` and its
 * ticks), one line per path up to the step shown.
 *
 * @module
 */
import { scaleLinear, scaleLog } from 'd3-scale';
import { STYLES } from './map.js';
import type { Path } from './runs.js';

/** Margins of the plot area in CSS pixels. */
const M = { left: 46, right: 10, top: 8, bottom: 30 };

/** The smallest loss the plot shows: below it a line runs along the bottom. */
export const LOSS_FLOOR = 1e-16;

/**
 * The loss canvas.
 *
 * @example
 * ```ts
 * const plot = new LossPlot(canvas);
 * plot.setRuns(paths, 500, 640);
 * plot.draw(paths, 120, visible);
 * ```
 */
export class LossPlot {
  readonly #canvas: HTMLCanvasElement;
  #x = scaleLinear();
  #y = scaleLog();
  #width = 0;
  #height = 0;
  #dpr = 1;

  constructor(canvas: HTMLCanvasElement) {
    this.#canvas = canvas;
  }

  /** Sizes the canvas at `width` CSS pixels and fits the scales to every path's whole run. */
  setRuns(paths: readonly Path[], steps: number, width: number): void {
    const w = Math.max(200, Math.floor(width)), h = Math.round(Math.min(230, Math.max(170, w * 0.42)));
    this.#width = w;
    this.#height = h;
    this.#dpr = Math.min(2, globalThis.devicePixelRatio || 1);
    this.#canvas.width = Math.round(w * this.#dpr);
    this.#canvas.height = Math.round(h * this.#dpr);
    this.#canvas.style.width = `${w}px`;
    this.#canvas.style.height = `${h}px`;
    let lo = Infinity, hi = 0;
    for (const p of paths)
      for (let k = 0; k < p.points; k++) {
        const v = Math.max(p.loss[k]!, LOSS_FLOOR);
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    if (!(hi > 0)) [lo, hi] = [LOSS_FLOOR, 1];
    if (hi / lo < 100) [lo, hi] = [lo / 10, hi * 10];
    this.#x = scaleLinear().domain([0, steps]).range([M.left, w - M.right]);
    this.#y = scaleLog().domain([lo, hi]).range([h - M.bottom, M.top]).nice();
  }

  /** One frame: axes, then each visible path's loss up to `step`, and a rule at `step`. */
  draw(paths: readonly Path[], step: number, visible: ReadonlySet<Path['id']>): void {
    const ctx = this.#canvas.getContext('2d')!, x = this.#x, y = this.#y;
    ctx.setTransform(this.#dpr, 0, 0, this.#dpr, 0, 0);
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, this.#width, this.#height);
    const [x0, x1] = x.range(), [y0, y1] = y.range();
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = '#333';
    ctx.strokeStyle = '#e4e4e4';
    ctx.lineWidth = 1;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    const decades = y.ticks().filter((t) => Math.abs(Math.log10(t) - Math.round(Math.log10(t))) < 1e-9);
    const every = Math.max(1, Math.ceil(decades.length / Math.max(2, Math.floor((y0! - y1!) / 22))));
    decades.forEach((t, k) => {
      const py = Math.round(y(t)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(x0!, py);
      ctx.lineTo(x1!, py);
      ctx.stroke();
      if (k % every === 0) ctx.fillText(`1e${Math.round(Math.log10(t))}`, x0! - 4, py);
    });
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (const t of x.ticks(Math.max(2, Math.floor((x1! - x0!) / 70)))) ctx.fillText(String(t), x(t), y0! + 4);
    ctx.fillText('step', (x0! + x1!) / 2, y0! + 16);
    ctx.save();
    ctx.translate(10, (y0! + y1!) / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = 'middle';
    ctx.fillText('f − min f', 0, 0);
    ctx.restore();
    ctx.strokeStyle = '#888';
    ctx.strokeRect(x0! + 0.5, y1! + 0.5, x1! - x0! - 1, y0! - y1! - 1);
    ctx.save();
    ctx.beginPath();
    ctx.rect(x0!, y1!, x1! - x0!, y0! - y1!);
    ctx.clip();
    ctx.lineJoin = 'round';
    ctx.lineWidth = 1.75;
    const floor = y.domain()[0]!;
    for (const p of paths) {
      if (!visible.has(p.id)) continue;
      const last = Math.min(step, p.points - 1);
      ctx.beginPath();
      for (let k = 0; k <= last; k++) {
        const px = x(k), py = y(Math.max(p.loss[k]!, floor));
        if (k === 0) ctx.moveTo(px, py);
        else ctx.lineTo(px, py);
      }
      ctx.strokeStyle = STYLES[p.id].color;
      ctx.setLineDash(STYLES[p.id].dash as number[]);
      ctx.stroke();
    }
    ctx.setLineDash([]);
    ctx.strokeStyle = 'rgba(0, 0, 0, 0.35)';
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(Math.round(x(step)) + 0.5, y1!);
    ctx.lineTo(Math.round(x(step)) + 0.5, y0!);
    ctx.stroke();
    ctx.restore();
  }
}
