/// <reference lib="dom" />
/**
 * The two tables under the plots: each path's step lengths along x and y (the first step and the
 * step shown), and RMSProp's first three positions exactly as the optimizer wrote them.
 *
 * @module
 */
import type { Path } from './runs.js';

/** A number in a few significant figures, for reading. */
export function short(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e-3 && a < 1e4 ? String(Number(v.toPrecision(3))) : v.toExponential(2).replace('e+', 'e');
}

function row(cells: readonly string[], header = false): HTMLTableRowElement {
  const tr = document.createElement('tr');
  cells.forEach((text, k) => {
    const cell = document.createElement(header || k === 0 ? 'th' : 'td');
    if (!header && k === 0) cell.scope = 'row';
    if (header) cell.scope = 'col';
    cell.textContent = text;
    tr.append(cell);
  });
  return tr;
}

function delta(p: Path, k: number, axis: 0 | 1): number {
  return k >= 1 && k < p.points ? p.xy[2 * k + axis]! - p.xy[2 * (k - 1) + axis]! : NaN;
}

function ratio(dx: number, dy: number): string {
  return Number.isNaN(dx) || Number.isNaN(dy) ? '—' : dx === 0 ? (dy === 0 ? '—' : '∞') : short(Math.abs(dy / dx));
}

/**
 * Fills `first` with each path's first step along x and y and |Δy / Δx|, and `current` with its
 * step `k` along x and y (two narrow tables, so that both fit a phone's width).
 *
 * @example
 * ```ts
 * renderSizes(document.querySelector('#sizes')!, document.querySelector('#current')!, paths, 120);
 * ```
 */
export function renderSizes(first: HTMLTableElement, current: HTMLTableElement, paths: readonly Path[], k: number): void {
  const at = Math.max(1, k);
  const dash = (s: string): string => (s === 'NaN' ? '—' : s);
  first.replaceChildren(row(['optimizer', 'Δx', 'Δy', '|Δy/Δx|'], true));
  current.replaceChildren(row(['optimizer', 'Δx', 'Δy', '|Δy/Δx|'], true));
  for (const p of paths) {
    const dx1 = delta(p, 1, 0), dy1 = delta(p, 1, 1), dx = delta(p, at, 0), dy = delta(p, at, 1);
    const a = row([p.label, short(dx1), short(dy1), ratio(dx1, dy1)].map(dash));
    const b = row([p.label, short(dx), short(dy), ratio(dx, dy)].map(dash));
    a.dataset['path'] = b.dataset['path'] = p.id;
    first.append(a);
    current.append(b);
  }
}

/** RMSProp's first three steps (and the start), shown in full. */
export const EXACT_STEPS = 3;

/**
 * Fills `table` with `path`'s positions after 0 … {@link EXACT_STEPS} steps: the float32 values
 * printed as the shortest decimal that reads back to the same number.
 *
 * @example
 * ```ts
 * renderFirst(document.querySelector('#first')!, paths[0]);
 * ```
 */
export function renderFirst(table: HTMLTableElement, p: Path): void {
  table.replaceChildren(row(['step', 'x', 'y'], true));
  for (let k = 0; k <= EXACT_STEPS && k < p.points; k++) {
    const tr = row([String(k), String(p.xy[2 * k]), String(p.xy[2 * k + 1])]);
    tr.dataset['step'] = String(k);
    table.append(tr);
  }
}
