/**
 * The RMSProp kernel: one in-place update of a parameter buffer and its state.
 *
 * This file has no imports: copy it alone into your own engine.
 *
 * Update rule, per element. With every switch off it is PyTorch's `torch.optim.RMSprop`, in
 * PyTorch's order of operations; each switch reproduces another framework's variant:
 *
 *   p = p - lr * weightDecay * p                          decoupledWeightDecay only (Keras 3)
 *   g = maximize ? -grad : grad
 *   g = g + weightDecay * p                               coupled L2 (unless decoupled)
 *   v = alpha * v + (1 - alpha) * g * g                   squareAvg, starts at initialAccumulator
 *   centered:  m = alpha * m + (1 - alpha) * g            gradAvg
 *   biasCorrection: v' = v / (1 - alpha^t), m' = m / (1 - alpha^t)     (Optax; t = state.step)
 *   centered:  s = v' - m' * m'                           (taken as 0 where it would give NaN, below)
 *   otherwise: s = v'
 *   d = epsInSqrt ? sqrt(s + eps) : sqrt(s) + eps         TF, Keras, TFJS, Optax : PyTorch
 *   momentum > 0:
 *     lrInMomentum:  b = momentum * b + lr * g / d ;  p = p - b        (TF, Keras, TFJS, Optax)
 *     otherwise:     b = momentum * b + g / d      ;  p = p - lr * b   (PyTorch)
 *     nesterov: the step is lr * g / d + momentum * b instead of b      (Optax trace(nesterov))
 *   otherwise:       p = p - lr * g / d
 *
 * The centered variance `s = v - m*m` is never negative in exact arithmetic, but can round below
 * zero (below `-eps` with `epsInSqrt`), where the frameworks take the square root of a negative
 * number and produce NaN. Here `s` is taken as 0 whenever the value under the square root would
 * be `<= 0`, and as Infinity where huge gradients overflowed both averages (Infinity - Infinity),
 * so centered RMSProp never produces NaN from finite gradients; wherever a framework stays
 * finite, the two agree.
 *
 * Arithmetic is done in float64 (JavaScript numbers) and rounded once when stored, so a
 * `Float32Array` run agrees with a framework's float32 run to float32 rounding, and a
 * `Float64Array` run with PyTorch's float64 run to a few float64 ulps.
 *
 * References: G. Hinton, N. Srivastava, K. Swersky, "Neural Networks for Machine Learning",
 * lecture 6e (2012); A. Graves, "Generating Sequences With Recurrent Neural Networks",
 * arXiv:1308.0850 (2013), eq. 38-41, for the centered variant.
 *
 * @module
 */

/**
 * A buffer the kernel can update: `Float32Array` or `Float64Array`, or a `subarray` view of one.
 *
 * @example
 * ```ts
 * const flat = new Float32Array(1024);
 * const w: FloatArray = flat.subarray(0, 512); // a view: only its elements are ever touched
 * ```
 */
export type FloatArray = Float32Array | Float64Array;

/**
 * Hyperparameters of one update. A fixed-shape object: every field is always present.
 *
 * @example
 * ```ts
 * const hyper: RMSPropHyper = { ...rmspropDefaults, lr: 0.001, momentum: 0.9 };
 * ```
 */
export interface RMSPropHyper {
  /** Learning rate, `>= 0`. @defaultValue `0.01` */
  readonly lr: number;
  /** Smoothing constant of the averages, `0 <= alpha < 1` (Keras's `rho`, TFJS's and Optax's `decay`). @defaultValue `0.99` */
  readonly alpha: number;
  /** Added to the denominator after the square root, `> 0`. @defaultValue `1e-8` */
  readonly eps: number;
  /** Coupled L2 penalty: `weightDecay * p` is added to the gradient, `>= 0`. @defaultValue `0` */
  readonly weightDecay: number;
  /** Momentum factor, `0 <= momentum < 1`; `0` disables the momentum buffer. @defaultValue `0` */
  readonly momentum: number;
  /** Normalise by the estimated variance `v - m*m` instead of `v` (Graves 2013). @defaultValue `false` */
  readonly centered: boolean;
  /** Ascend the objective instead of descending it. @defaultValue `false` */
  readonly maximize: boolean;
  /** `sqrt(v + eps)` instead of `sqrt(v) + eps` (TF, Keras, TFJS, Optax). @defaultValue `false` */
  readonly epsInSqrt: boolean;
  /**
   * The momentum buffer accumulates `lr * g / d` and the parameter moves by the buffer (TF, Keras,
   * TFJS, Optax), instead of accumulating `g / d` and moving by `lr` times it (PyTorch). The two
   * differ only when `lr` changes between steps. @defaultValue `false`
   */
  readonly lrInMomentum: boolean;
  /** Nesterov momentum, as Optax's `trace(nesterov=True)`; no effect without momentum. @defaultValue `false` */
  readonly nesterov: boolean;
  /**
   * Starting value of `squareAvg` (TF1 starts at 1). Read by `createState` only: changing it
   * after the state exists has no effect. Finite, `>= 0`. @defaultValue `0`
   */
  readonly initialAccumulator: number;
  /** Divide the averages by `1 - alpha^t`, `t` the update count (Optax `bias_correction`). @defaultValue `false` */
  readonly biasCorrection: boolean;
  /**
   * `p -= lr * weightDecay * p` before the update, instead of adding `weightDecay * p` to the
   * gradient (Keras 3's `weight_decay`; AdamW-style). @defaultValue `false`
   */
  readonly decoupledWeightDecay: boolean;
}

/**
 * Per-parameter optimizer state. Buffers have the parameter's length and element type.
 *
 * @example
 * ```ts
 * const state: RMSPropState<Float32Array> = createState(new Float32Array(3), rmspropDefaults);
 * state.squareAvg; // Float32Array(3) [0, 0, 0]
 * state.gradAvg;   // null: the defaults are not centered
 * ```
 */
export interface RMSPropState<T extends FloatArray = FloatArray> {
  /** Running average of the squared gradient. */
  readonly squareAvg: T;
  /** Running average of the gradient; present when `centered`, otherwise `null`. */
  gradAvg: T | null;
  /** Momentum buffer; present when `momentum > 0`, otherwise `null`. */
  momentumBuffer: T | null;
  /** Number of updates applied so far; `rmspropStep` increments it. */
  step: number;
}

/**
 * PyTorch's defaults (`torch.optim.RMSprop`), frozen.
 *
 * @example
 * ```ts
 * const hyper: RMSPropHyper = { ...rmspropDefaults, lr: 0.001 };
 * ```
 */
export const rmspropDefaults: RMSPropHyper = Object.freeze({
  lr: 0.01,
  alpha: 0.99,
  eps: 1e-8,
  weightDecay: 0,
  momentum: 0,
  centered: false,
  maximize: false,
  epsInSqrt: false,
  lrInMomentum: false,
  nesterov: false,
  initialAccumulator: 0,
  biasCorrection: false,
  decoupledWeightDecay: false,
});

/** The largest finite float64: `m * m` is capped at it in the centered variance (see the loops). */
const MAX = Number.MAX_VALUE;

/**
 * Creates the state of a parameter: `squareAvg` (filled with `hyper.initialAccumulator`) always,
 * `gradAvg` when `hyper.centered`, `momentumBuffer` when `hyper.momentum > 0` (both zeroed), each
 * of the parameter's length and element type.
 *
 * @param param - The parameter buffer the state belongs to (only its length and type are read).
 * @param hyper - Which optional buffers to allocate, and the square average's starting value.
 * @param allocate - Makes a zeroed buffer like `param`; by default a new typed array
 *   ({@link zerosLike}), but it may hand out views of a larger buffer.
 * @returns A new state with `step` 0.
 *
 * @example
 * ```ts
 * const w = new Float32Array([0.5, -0.25]);
 * const state = createState(w, { momentum: 0.9, centered: false, initialAccumulator: 0 });
 * state.momentumBuffer; // Float32Array(2) [0, 0]
 * ```
 */
export function createState<T extends FloatArray>(
  param: T,
  hyper: Pick<RMSPropHyper, 'momentum' | 'centered' | 'initialAccumulator'>,
  allocate: (like: T) => T = zerosLike,
): RMSPropState<T> {
  const squareAvg = allocate(param);
  if (hyper.initialAccumulator !== 0) squareAvg.fill(hyper.initialAccumulator);
  return {
    squareAvg,
    gradAvg: hyper.centered ? allocate(param) : null,
    momentumBuffer: hyper.momentum > 0 ? allocate(param) : null,
    step: 0,
  };
}

/**
 * Returns a zeroed buffer of the same element type and length as `like`.
 *
 * @example
 * ```ts
 * zerosLike(new Float64Array(4)); // Float64Array(4) [0, 0, 0, 0]
 * ```
 */
export function zerosLike<T extends FloatArray>(like: T): T {
  return (like instanceof Float64Array ? new Float64Array(like.length) : new Float32Array(like.length)) as T;
}

/**
 * Applies one RMSProp update to `param` and `state` in place (see the update rule at the top of
 * this file). Allocates nothing; touches only the elements of the given views.
 *
 * Preconditions (not checked here: the `RMSProp` class checks them):
 * - `grad`, `state.squareAvg` and any state buffer in use have `param.length` elements and
 *   `param`'s element type; no two of them share memory;
 * - `state.gradAvg` is non-null when `hyper.centered`, `state.momentumBuffer` when `hyper.momentum > 0`;
 * - the hyperparameters are in range: `lr >= 0`, `0 <= alpha < 1`, `eps > 0`, `weightDecay >= 0`,
 *   `0 <= momentum < 1`.
 *
 * @param param - Parameter buffer, updated in place.
 * @param grad - Gradient of the objective with respect to `param`; read only.
 * @param state - The parameter's state; its buffers are updated and `step` incremented.
 * @param hyper - Hyperparameters of this update.
 *
 * @example
 * ```ts
 * const w = new Float32Array([1, -2, 3]);
 * const g = new Float32Array([0.1, 0.2, -0.3]);
 * const state = createState(w, rmspropDefaults);
 * rmspropStep(w, g, state, rmspropDefaults);
 * // w is now [0.9, -2.1, 3.1] to float32 rounding: the first step moves each weight by
 * // lr / sqrt(1 - alpha) = 0.1 against the sign of its gradient
 * ```
 */
export function rmspropStep<T extends FloatArray>(
  param: T,
  grad: Readonly<T>,
  state: RMSPropState<T>,
  hyper: RMSPropHyper,
): void {
  const n = param.length;
  const sq = state.squareAvg;
  const lr = hyper.lr;
  const alpha = hyper.alpha;
  const beta = 1 - alpha;
  const eps = hyper.eps;
  const sign = hyper.maximize ? -1 : 1;
  const decoupled = hyper.decoupledWeightDecay;
  const wd = decoupled ? 0 : hyper.weightDecay;
  const momentum = hyper.momentum;
  const ga = hyper.centered ? state.gradAvg : null;
  const mb = momentum > 0 ? state.momentumBuffer : null;
  const t = ++state.step;

  // PyTorch's own variants, the common cases, get loops with nothing folded in that they do not
  // need: a loop-invariant branch or coefficient costs 10-30% in V8 even where it is never taken.
  const pytorch = !hyper.epsInSqrt && !hyper.biasCorrection && !decoupled;
  if (pytorch && ga !== null && mb === null) {
    for (let i = 0; i < n; i++) {
      const p = param[i]!;
      const g = sign * grad[i]! + wd * p;
      const v = alpha * sq[i]! + beta * g * g;
      sq[i] = v;
      const m = alpha * ga[i]! + beta * g;
      ga[i] = m;
      let s = v - Math.min(m * m, MAX); // as in the general loop below, with eps outside the root
      if (s <= 0) s = 0;
      param[i] = p - (lr * g) / (Math.sqrt(s) + eps);
    }
    return;
  }
  if (pytorch && ga === null && mb === null) {
    for (let i = 0; i < n; i++) {
      const p = param[i]!;
      const g = sign * grad[i]! + wd * p;
      const v = alpha * sq[i]! + beta * g * g;
      sq[i] = v;
      param[i] = p - (lr * g) / (Math.sqrt(v) + eps);
    }
    return;
  }
  if (pytorch && ga === null && !hyper.lrInMomentum && !hyper.nesterov) {
    for (let i = 0; i < n; i++) {
      const p = param[i]!;
      const g = sign * grad[i]! + wd * p;
      const v = alpha * sq[i]! + beta * g * g;
      sq[i] = v;
      const b = momentum * mb![i]! + g / (Math.sqrt(v) + eps);
      mb![i] = b;
      param[i] = p - lr * b;
    }
    return;
  }

  // The general loop. Some switches become coefficients that are exactly 0 or 1 when off (x * 1
  // and x + 0 are exact, and keep the sign of a zero where it matters); the others are
  // loop-invariant branches, which the CPU predicts.
  const decay = decoupled ? lr * hyper.weightDecay : 0;
  const biased = hyper.biasCorrection;
  // Divided by, as Optax does, not multiplied by its inverse: centered with bias correction is
  // ill-conditioned on the first steps (v/c - (m/c)^2 is exactly 0 at t = 1), so only the same
  // operations give the same result there.
  const correction = 1 - alpha ** t;
  const epsIn = hyper.epsInSqrt ? eps : 0;
  const epsOut = hyper.epsInSqrt ? 0 : eps;
  const lrIn = hyper.lrInMomentum ? lr : 1;
  const lrOut = hyper.lrInMomentum ? 1 : lr;
  const nesterov = hyper.nesterov;
  for (let i = 0; i < n; i++) {
    let p = param[i]!;
    if (decoupled) p -= decay * p;
    const g = sign * grad[i]! + wd * p;
    const v = alpha * sq[i]! + beta * g * g;
    sq[i] = v;
    let s = biased ? v / correction : v;
    if (ga !== null) {
      const m = alpha * ga[i]! + beta * g;
      ga[i] = m;
      const mc = biased ? m / correction : m;
      // Where both averages overflowed, m*m capped at the largest float keeps Infinity - Infinity
      // (NaN) out: the variance is then beyond the float range, Infinity, and the step 0, as
      // without centering. A NaN gradient's NaN passes through (min keeps NaN).
      s -= Math.min(mc * mc, MAX);
      // Rounding can push the variance below zero (and below -eps): take it as 0 there, where
      // the frameworks produce NaN; anywhere else they and this agree.
      if (s + epsIn <= 0) s = 0;
    }
    const d = Math.sqrt(s + epsIn) + epsOut;
    if (mb !== null) {
      const u = g / d;
      const b = momentum * mb[i]! + lrIn * u;
      mb[i] = b;
      param[i] = p - lrOut * (nesterov ? lrIn * u + momentum * b : b);
    } else {
      param[i] = p - (lr * g) / d;
    }
  }
}
