import type { RMSPropHyper, RMSPropState } from './rmsprop-step.js';

// The glue between the arena and the WebAssembly SIMD kernel of wasm/rmsprop.wat.

/** The SIMD kernel's plain entry point: see wasm/rmsprop.wat for its arguments. @internal */
export type SimdPlain = (
  p: number, g: number, sq: number, n: number,
  lr: number, alpha: number, beta: number, eps: number, wd: number, sign: number,
) => void;

/** The SIMD kernel's general entry point: see wasm/rmsprop.wat for its arguments. @internal */
export type SimdStep = (
  p: number, g: number, sq: number, ga: number, mb: number, n: number,
  lr: number, alpha: number, beta: number, epsIn: number, epsOut: number, wd: number,
  decay: number, sign: number, corr: number, mom: number, lrIn: number, lrOut: number,
  flags: number,
) => void;

/** The SIMD kernel's entry points. @internal */
export interface SimdKernel {
  readonly step: SimdStep;
  readonly plain: SimdPlain;
}

/**
 * One RMSProp update by the WebAssembly SIMD kernel: the same rule as `rmspropStep`, every
 * option included, computed in float32 four elements at a time. Every buffer must be a
 * `Float32Array` in the memory the kernel was instantiated over (the caller checks).
 *
 * The switches are folded into coefficients here exactly as the TS kernel folds them.
 *
 * @internal
 */
export function simdStep(
  kernel: SimdKernel,
  param: Float32Array,
  grad: Float32Array,
  state: RMSPropState<Float32Array>,
  hyper: RMSPropHyper,
): void {
  const t = ++state.step;
  const lr = hyper.lr;
  const decoupled = hyper.decoupledWeightDecay;
  const centered = hyper.centered && state.gradAvg !== null;
  const momentum = hyper.momentum > 0 && state.momentumBuffer !== null;
  if (!centered && !momentum && !hyper.epsInSqrt && !hyper.biasCorrection && !decoupled) {
    kernel.plain(
      param.byteOffset, grad.byteOffset, state.squareAvg.byteOffset, param.length,
      lr, hyper.alpha, 1 - hyper.alpha, hyper.eps, hyper.weightDecay, hyper.maximize ? -1 : 1,
    );
    return;
  }
  const flags =
    (centered ? 1 : 0) |
    (momentum ? 2 : 0) |
    (hyper.nesterov ? 4 : 0) |
    (hyper.biasCorrection ? 8 : 0) |
    (decoupled ? 16 : 0);
  kernel.step(
    param.byteOffset,
    grad.byteOffset,
    state.squareAvg.byteOffset,
    centered ? state.gradAvg!.byteOffset : 0,
    momentum ? state.momentumBuffer!.byteOffset : 0,
    param.length,
    lr,
    hyper.alpha,
    1 - hyper.alpha,
    hyper.epsInSqrt ? hyper.eps : 0,
    hyper.epsInSqrt ? 0 : hyper.eps,
    decoupled ? 0 : hyper.weightDecay,
    decoupled ? lr * hyper.weightDecay : 0,
    hyper.maximize ? -1 : 1,
    1 - hyper.alpha ** t,
    hyper.momentum,
    hyper.lrInMomentum ? lr : 1,
    hyper.lrInMomentum ? 1 : lr,
    flags,
  );
}
