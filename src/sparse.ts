import { describe } from './describe.js';
import { typeName } from './checks.js';
import { allFinite } from './finite.js';
import { isFloatArray } from './param-groups.js';
import { rmspropStep, zerosLike } from './rmsprop-step.js';
import type { FloatArray, RMSPropHyper, RMSPropState } from './rmsprop-step.js';

/**
 * A sparse gradient for a 2-D parameter (an embedding table): the indices of the rows it
 * touches and, row after row, their gradients.
 *
 * @example
 * ```ts
 * // rows 3 and 17 of a table of width 64; a repeated row's gradients are summed
 * const update: SparseRows = { width: 64, rows: [3, 17], grad: new Float32Array(2 * 64) };
 * ```
 */
export interface SparseRows {
  /** Elements per row; the parameter's length must be a multiple of it. */
  readonly width: number;
  /** Row indices, whole numbers in `[0, rows)`; repeated indices have their gradients summed. */
  readonly rows: ArrayLike<number>;
  /** `rows.length * width` values of the parameter's element type. */
  readonly grad: FloatArray;
  /**
   * `'lazy'` (TensorFlow's sparse semantics): rows not given neither decay nor move.
   * `'exact'`: a row's state and value are first caught up on the updates it missed, replayed
   * with zero gradients, so that the result equals the dense run. @defaultValue `'lazy'`
   */
  readonly mode?: 'lazy' | 'exact';
}

/** Sums repeated rows; checks everything; writes nothing. @internal */
export function planSparse(
  data: FloatArray,
  update: SparseRows,
  where: string,
  checkFinite: boolean,
): { width: number; order: number[]; sums: Map<number, FloatArray>; mode: 'lazy' | 'exact' } {
  const P = 'RMSProp.sparseStep';
  const width = update.width;
  if (typeof width !== 'number' || !Number.isInteger(width) || width < 1 || data.length % width !== 0) {
    throw new RangeError(`${P}: invalid width: expected a whole number >= 1 that divides the data length ${data.length}, got ${describe(width)} ${where}`);
  }
  const mode = update.mode ?? 'lazy';
  if (mode !== 'lazy' && mode !== 'exact') throw new TypeError(`${P}: invalid mode: expected 'lazy' or 'exact', got ${describe(mode)} ${where}`);
  const grad = update.grad;
  const rows = update.rows;
  const count = data.length / width;
  if (!isFloatArray(grad) || grad instanceof Float64Array !== data instanceof Float64Array) {
    throw new TypeError(`${P}: invalid grad: expected a ${typeName(data)} like the data, got ${describe(grad)} ${where}`);
  }
  if (grad.length !== rows.length * width) {
    throw new RangeError(`${P}: grad length ${grad.length} does not match ${rows.length} rows of width ${width} ${where}`);
  }
  if (checkFinite && !allFinite(grad)) throw new RangeError(`${P}: grad holds a non-finite value ${where}; nothing was updated`);
  const sums = new Map<number, FloatArray>();
  const order: number[] = [];
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    if (typeof row !== 'number' || !Number.isInteger(row) || row < 0 || row >= count) {
      throw new RangeError(`${P}: invalid row index ${describe(row)} at position ${r}: expected a whole number in [0, ${count}) ${where}`);
    }
    let sum = sums.get(row);
    if (sum === undefined) {
      sum = zerosLike(grad.subarray(0, width));
      sums.set(row, sum);
      order.push(row);
    }
    for (let i = 0; i < width; i++) sum[i] = sum[i]! + grad[r * width + i]!;
  }
  order.sort((a, b) => a - b);
  return { width, order, sums, mode };
}

/**
 * Applies a checked sparse update: each given row goes through the kernel with its summed
 * gradient; in exact mode it first replays, with zero gradients, every update it missed.
 * `lastStep[row]` is the parameter's update count when the row was last brought up to date.
 *
 * @internal
 */
export function applySparse(
  data: FloatArray,
  state: RMSPropState,
  lastStep: Int32Array | null,
  plan: ReturnType<typeof planSparse>,
  hyperAt: (t: number) => RMSPropHyper,
): void {
  const { width, order, sums, mode } = plan;
  const t = state.step; // this update's index for the whole parameter
  const zeros = mode === 'exact' ? zerosLike(sums.get(order[0]!) ?? data.subarray(0, width)) : null;
  for (const row of order) {
    const at = row * width;
    const view = (a: FloatArray | null): FloatArray | null => (a === null ? null : a.subarray(at, at + width));
    const p = view(data)!;
    const rowState: RMSPropState = {
      squareAvg: view(state.squareAvg)!,
      gradAvg: view(state.gradAvg),
      momentumBuffer: view(state.momentumBuffer),
      step: 0,
    };
    if (zeros !== null && lastStep !== null) {
      for (let missed = lastStep[row]!; missed < t; missed++) {
        rowState.step = missed;
        rmspropStep(p, zeros, rowState, hyperAt(missed));
      }
      lastStep[row] = t + 1;
    }
    rowState.step = t;
    rmspropStep(p, sums.get(row)!, rowState, hyperAt(t));
  }
  state.step = t + 1;
}
