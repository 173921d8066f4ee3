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

export function referenceState(n: number, hyper: RMSPropHyper): ReferenceState {
  const zeros = (): number[] => new Array<number>(n).fill(0);
  return {
    squareAvg: zeros(),
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
  for (let i = 0; i < param.length; i++) {
    const p = param[i]!;
    let g = grad[i]!;
    if (hyper.maximize) g = -g;
    if (hyper.weightDecay !== 0) g = g + hyper.weightDecay * p;

    const v = hyper.alpha * state.squareAvg[i]! + (1 - hyper.alpha) * g * g;
    state.squareAvg[i] = round(v);

    let variance = v;
    if (hyper.centered) {
      const m = hyper.alpha * state.gradAvg![i]! + (1 - hyper.alpha) * g;
      state.gradAvg![i] = round(m);
      variance = Math.max(v - m * m, 0);
    }
    const denom = Math.sqrt(variance) + hyper.eps;

    if (hyper.momentum > 0) {
      const b = hyper.momentum * state.momentumBuffer![i]! + g / denom;
      state.momentumBuffer![i] = round(b);
      param[i] = round(p - hyper.lr * b);
    } else {
      param[i] = round(p - (hyper.lr * g) / denom);
    }
  }
}
