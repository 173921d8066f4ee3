/// <reference lib="dom" />
/**
 * The map: the objective as filled contours (d3-contour's marching squares over a grid, coloured
 * by d3-scale-chromatic on a log scale of `f - fMin`), axes from d3-scale's ticks, and the paths
 * on top. The contours are drawn once per objective and size into an offscreen canvas; a frame
 * copies it and draws the paths up to the step shown.
 *
 * @module
 */
import { contours } from 'd3-contour';
import { scaleLinear } from 'd3-scale';
import type { ScaleLinear } from 'd3-scale';
import { interpolateYlGnBu } from 'd3-scale-chromatic';
import type { Objective } from './objectives.js';
import type { Path } from './runs.js';

/** How a path is drawn: its name, its colour and, for the momentum variants, a dash pattern. */
export interface PathStyle {
  readonly label: string;
  readonly color: string;
  readonly dash: readonly number[];
}

/**
 * The paths' styles, in the legend's order: hues of the Okabe–Ito palette (told apart with the
 * common colour-vision deficiencies), darkened where needed to reach 3:1 against white.
 */
export const STYLES: Readonly<Record<Path['id'], PathStyle>> = {
  rmsprop: { label: 'RMSProp', color: '#d55e00', dash: [] },
  'rmsprop-momentum': { label: 'RMSProp + momentum', color: '#a66d00', dash: [7, 4] },
  adam: { label: 'Adam', color: '#0072b2', dash: [] },
  sgd: { label: 'SGD', color: '#008a65', dash: [] },
  'sgd-momentum': { label: 'SGD + momentum', color: '#b5579a', dash: [7, 4] },
};

/** Margins of the plot area in CSS pixels: room for the tick labels. */
const M = { left: 34, right: 8, top: 8, bottom: 22 };

/** Grid cells per CSS pixel of the contour grid (a cell every 3 pixels). */
const CELL = 3;

/** The plot area's largest height in CSS pixels. */
const MAX_HEIGHT = 500;

/** Filled bands of the contour plot. */
const BANDS = 22;

/**
 * The map canvas: its scales, the cached contours, and a frame drawer.
 *
 * @example
 * ```ts
 * const map = new MapView(canvas);
 * map.setObjective(objective, 640);
 * map.draw(paths, 120, visible, [-5, 2]);
 * ```
 */
export class MapView {
  /** From the objective's x to CSS pixels. */
  x: ScaleLinear<number, number> = scaleLinear();
  /** From the objective's y to CSS pixels (up is up). */
  y: ScaleLinear<number, number> = scaleLinear();
  readonly #canvas: HTMLCanvasElement;
  readonly #background: HTMLCanvasElement = document.createElement('canvas');
  #width = 0;
  #height = 0;
  #dpr = 1;

  constructor(canvas: HTMLCanvasElement) {
    this.#canvas = canvas;
  }

  /** Sizes the canvas for `objective` at `width` CSS pixels and draws its contours once. */
  setObjective(objective: Objective, width: number): void {
    const [x0, x1, y0, y1] = objective.view;
    // One unit is as long on both axes (the geometry of a step is what the page is about), and
    // the plot is at most MAX_HEIGHT pixels high: a square view is narrower than the column.
    const aspect = (y1 - y0) / (x1 - x0);
    const plotW = Math.max(150, Math.min(Math.floor(width) - M.left - M.right, Math.floor(MAX_HEIGHT / aspect)));
    const plotH = Math.round(plotW * aspect);
    const w = plotW + M.left + M.right, h = plotH + M.top + M.bottom;
    this.#width = w;
    this.#height = h;
    this.#dpr = Math.min(2, globalThis.devicePixelRatio || 1);
    this.x = scaleLinear().domain([x0, x1]).range([M.left, w - M.right]);
    this.y = scaleLinear().domain([y0, y1]).range([M.top + plotH, M.top]);
    for (const c of [this.#canvas, this.#background]) {
      c.width = Math.round(w * this.#dpr);
      c.height = Math.round(h * this.#dpr);
    }
    this.#canvas.style.width = `${w}px`;
    this.#canvas.style.height = `${h}px`;
    this.#drawBackground(objective, plotW, plotH);
  }

  #drawBackground(o: Objective, plotW: number, plotH: number): void {
    const ctx = this.#background.getContext('2d')!;
    ctx.setTransform(this.#dpr, 0, 0, this.#dpr, 0, 0);
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, this.#width, this.#height);
    // log(f - fMin + floor) on a grid; the floor keeps the minimum's neighbourhood in a few bands.
    const nx = Math.ceil(plotW / CELL), ny = Math.ceil(plotH / CELL);
    const [x0, x1, y0, y1] = o.view;
    const raw = new Float64Array(nx * ny);
    let hi = -Infinity;
    for (let j = 0; j < ny; j++) {
      const y = y1 - ((j + 0.5) / ny) * (y1 - y0);
      for (let i = 0; i < nx; i++) {
        const v = o.f(x0 + ((i + 0.5) / nx) * (x1 - x0), y) - o.fMin;
        raw[j * nx + i] = v;
        if (v > hi) hi = v;
      }
    }
    const floor = Math.max(hi * 1e-6, 1e-12);
    const z = Array.from(raw, (v) => Math.log10(Math.max(v, 0) + floor));
    const lo = Math.log10(floor), top = Math.log10(hi + floor);
    const thresholds = Array.from({ length: BANDS }, (_, k) => lo + ((top - lo) * k) / BANDS);
    const sx = plotW / nx, sy = plotH / ny;
    ctx.save();
    ctx.beginPath();
    ctx.rect(M.left, M.top, plotW, plotH);
    ctx.clip();
    ctx.translate(M.left, M.top);
    ctx.lineWidth = 0.6;
    ctx.strokeStyle = 'rgba(40, 60, 80, 0.3)';
    for (const band of contours().size([nx, ny]).thresholds(thresholds)(z)) {
      ctx.beginPath();
      for (const polygon of band.coordinates)
        for (const ring of polygon) {
          ring.forEach(([gx, gy], k) => (k === 0 ? ctx.moveTo(gx! * sx, gy! * sy) : ctx.lineTo(gx! * sx, gy! * sy)));
          ctx.closePath();
        }
      ctx.fillStyle = interpolateYlGnBu(0.02 + (0.3 * (band.value - lo)) / (top - lo));
      ctx.fill();
      ctx.stroke();
    }
    ctx.restore();
    ctx.strokeStyle = '#222';
    ctx.lineWidth = 1.5;
    for (const [mx, my] of o.minima) {
      const px = this.x(mx), py = this.y(my);
      ctx.beginPath();
      ctx.moveTo(px - 4, py - 4);
      ctx.lineTo(px + 4, py + 4);
      ctx.moveTo(px - 4, py + 4);
      ctx.lineTo(px + 4, py - 4);
      ctx.stroke();
    }
    this.#axes(ctx, plotW, plotH);
  }

  #axes(ctx: CanvasRenderingContext2D, plotW: number, plotH: number): void {
    ctx.strokeStyle = '#888';
    ctx.lineWidth = 1;
    ctx.strokeRect(M.left + 0.5, M.top + 0.5, plotW - 1, plotH - 1);
    ctx.fillStyle = '#333';
    ctx.font = '11px system-ui, sans-serif';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (const t of this.x.ticks(Math.max(2, Math.floor(plotW / 70)))) ctx.fillText(String(t), this.x(t), M.top + plotH + 5);
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (const t of this.y.ticks(Math.max(2, Math.floor(plotH / 50)))) ctx.fillText(String(t), M.left - 5, this.y(t));
  }

  /** Whether the CSS-pixel point `(px, py)` is inside the plot area. */
  inside(px: number, py: number): boolean {
    const [a, b] = this.x.range(), [c, d] = this.y.range();
    return px >= a! && px <= b! && py >= d! && py <= c!;
  }

  /**
   * One frame: the contours, then each visible path up to `step` (a path that stopped earlier
   * ends where it stopped), its current position as a dot and the start as a ring.
   */
  draw(paths: readonly Path[], step: number, visible: ReadonlySet<Path['id']>, start: readonly [number, number] | null): void {
    const ctx = this.#canvas.getContext('2d')!;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(this.#background, 0, 0);
    ctx.setTransform(this.#dpr, 0, 0, this.#dpr, 0, 0);
    const [a, b] = this.x.range(), [c, d] = this.y.range();
    ctx.save();
    ctx.beginPath();
    ctx.rect(a!, d!, b! - a!, c! - d!);
    ctx.clip();
    ctx.lineJoin = 'round';
    for (const p of paths) {
      if (!visible.has(p.id) || p.points === 0) continue;
      const style = STYLES[p.id];
      const last = Math.min(step, p.points - 1);
      ctx.beginPath();
      for (let k = 0; k <= last; k++) {
        const px = this.x(p.xy[2 * k]!), py = this.y(p.xy[2 * k + 1]!);
        if (k === 0) ctx.moveTo(px, py);
        else ctx.lineTo(px, py);
      }
      ctx.setLineDash([]);
      ctx.strokeStyle = 'rgba(255, 255, 255, 0.8)';
      ctx.lineWidth = 4;
      ctx.stroke();
      ctx.setLineDash(style.dash as number[]);
      ctx.strokeStyle = style.color;
      ctx.lineWidth = 2;
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.beginPath();
      ctx.arc(this.x(p.xy[2 * last]!), this.y(p.xy[2 * last + 1]!), 4, 0, 2 * Math.PI);
      ctx.fillStyle = style.color;
      ctx.fill();
      ctx.strokeStyle = '#fff';
      ctx.lineWidth = 1;
      ctx.stroke();
    }
    if (start !== null) {
      ctx.beginPath();
      ctx.arc(this.x(start[0]), this.y(start[1]), 6, 0, 2 * Math.PI);
      ctx.strokeStyle = '#222';
      ctx.lineWidth = 1.5;
      ctx.stroke();
    }
    ctx.restore();
  }
}
