// A slow, obviously-correct RMSProp step, one element at a time, written straight from the
// update rule in docs/algorithm.md. Computes in float64 and rounds each value only where it is
// stored (`round` is Math.fround for a Float32Array run, the identity for Float64Array), as the
// kernel does: within one element's update the unrounded values are used.
import type { RMSPropHyper } from '../../src/index.js';

export interface ReferenceState {
  squareAvg: number[];
  gradAvg: number[] | null;
  momentumBuffer: number[] | null;
  step: number;
}

/** Zeroed state; the square average holds `initialAccumulator` as stored (rounded by `round`). */
export function referenceState(n: number, hyper: RMSPropHyper, round: (x: number) => number = (x) => x): ReferenceState {
  const zeros = (): number[] => new Array<number>(n).fill(0);
  return {
    squareAvg: new Array<number>(n).fill(round(hyper.initialAccumulator)),
    gradAvg: hyper.centered ? zeros() : null,
    momentumBuffer: hyper.momentum > 0 ? zeros() : null,
    step: 0,
  };
}

export function referenceStep(
  param: number[],
  grad: readonly number[],
  state: ReferenceState,
  hyper: RMSPropHyper,
  round: (x: number) => number,
): void {
  state.step += 1;
  const t = state.step;
  const h = hyper;
  for (let i = 0; i < param.length; i++) {
    let p = param[i]!;
    if (h.decoupledWeightDecay) p = p - h.lr * h.weightDecay * p;
    let g = grad[i]!;
    if (h.maximize) g = -g;
    if (!h.decoupledWeightDecay && h.weightDecay !== 0) g = g + h.weightDecay * p;

    const v = h.alpha * state.squareAvg[i]! + (1 - h.alpha) * g * g;
    state.squareAvg[i] = round(v);
    const vHat = h.biasCorrection ? v / (1 - h.alpha ** t) : v;

    let variance = vHat;
    if (h.centered) {
      const m = h.alpha * state.gradAvg![i]! + (1 - h.alpha) * g;
      state.gradAvg![i] = round(m);
      const mHat = h.biasCorrection ? m / (1 - h.alpha ** t) : m;
      variance = vHat - mHat * mHat;
      // Where rounding makes the value under the square root <= 0, the variance counts as 0;
      // where both averages overflowed (Infinity - Infinity), as Infinity.
      if ((h.epsInSqrt ? variance + h.eps : variance) <= 0) variance = 0;
      else if (vHat === Infinity && mHat * mHat === Infinity) variance = Infinity;
    }
    const denom = h.epsInSqrt ? Math.sqrt(variance + h.eps) : Math.sqrt(variance) + h.eps;

    if (h.momentum > 0) {
      const scaled = h.lrInMomentum ? h.lr * (g / denom) : g / denom;
      const b = h.momentum * state.momentumBuffer![i]! + scaled;
      state.momentumBuffer![i] = round(b);
      const move = h.nesterov ? scaled + h.momentum * b : b;
      param[i] = round(h.lrInMomentum ? p - move : p - h.lr * move);
    } else {
      param[i] = round(p - (h.lr * g) / denom);
    }
  }
}
