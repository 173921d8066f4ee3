// Reading torch.autograd fixtures into the convergence study's autodiff engine
// (test/autodiff.test.ts, test/recurrent.test.ts).
import { constant, param } from '../../bench/convergence/autodiff.js';
import type { Tensor } from '../../bench/convergence/autodiff.js';

/** A tensor as the fixture scripts write it: shape, values, and d loss / d it (null: data). */
export interface Leaf {
  readonly shape: readonly number[];
  readonly data: readonly number[];
  readonly grad: readonly number[] | null;
}

/** The fixture's leaf as an engine tensor: trained leaves (with a grad) get a gradient buffer. */
export function leaf(spec: Leaf): Tensor {
  const [rows, cols] = spec.shape as [number, number];
  if (spec.grad === null) return constant(rows, cols, spec.data);
  let i = 0;
  return param('', rows, cols, () => spec.data[i++]!);
}

/** Largest |ours - torch| over a buffer, divided by the largest |torch| in it (when torch's is all zero: the largest |ours|). */
export function relativeError(actual: ArrayLike<number>, expected: readonly number[]): number {
  let diff = 0;
  let scale = 0;
  expected.forEach((e, i) => {
    diff = Math.max(diff, Math.abs(actual[i]! - e));
    scale = Math.max(scale, Math.abs(e));
  });
  return scale === 0 ? diff : diff / scale;
}
