/**
 * The RMSProp kernel: one in-place update of a parameter buffer and its state.
 *
 * This file has no imports: copy it alone into your own engine.
 *
 * Update rule, per element, with PyTorch's (`torch.optim.RMSprop`) order of operations:
 *
 *   g = maximize ? -grad : grad
 *   g = g + weightDecay * p                               coupled L2 penalty
 *   v = alpha * v + (1 - alpha) * g * g                   squareAvg
 *   centered:  m = alpha * m + (1 - alpha) * g            gradAvg
 *              d = sqrt(max(v - m * m, 0)) + eps          eps outside the sqrt
 *   otherwise: d = sqrt(v) + eps
 *   momentum > 0:  b = momentum * b + g / d               momentumBuffer
 *                  p = p - lr * b                         lr outside the buffer
 *   otherwise:     p = p - (lr * g) / d
 *
 * The centered variance `v - m*m` is clamped at 0 before the square root: it is never negative
 * in exact arithmetic, but can round below zero in float32, where PyTorch would produce NaN.
 * Wherever PyTorch stays finite the two are identical.
 *
 * Arithmetic is done in float64 (JavaScript numbers) and rounded once when stored, so a
 * `Float32Array` run agrees with PyTorch's float32 run to float32 rounding, and a `Float64Array`
 * run follows PyTorch's float64 operation order.
 *
 * References: G. Hinton, N. Srivastava, K. Swersky, "Neural Networks for Machine Learning",
 * lecture 6e (2012); A. Graves, "Generating Sequences With Recurrent Neural Networks",
 * arXiv:1308.0850 (2013), eq. 38-41, for the centered variant.
 *
 * @module
 */

/** A buffer the kernel can update: `Float32Array` or `Float64Array`, or a `subarray` view of one. */
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
});

/**
 * Creates zeroed state for a parameter: `squareAvg` always, `gradAvg` when `hyper.centered`,
 * `momentumBuffer` when `hyper.momentum > 0`, each of the parameter's length and element type.
 *
 * @param param - The parameter buffer the state belongs to (only its length and type are read).
 * @param hyper - Which optional buffers to allocate.
 * @returns A new state with `step` 0.
 *
 * @example
 * ```ts
 * const w = new Float32Array([0.5, -0.25]);
 * const state = createState(w, { momentum: 0.9, centered: false });
 * state.momentumBuffer; // Float32Array(2) [0, 0]
 * ```
 */
export function createState<T extends FloatArray>(
  param: T,
  hyper: Pick<RMSPropHyper, 'momentum' | 'centered'>,
): RMSPropState<T> {
  return {
    squareAvg: zerosLike(param),
    gradAvg: hyper.centered ? zerosLike(param) : null,
    momentumBuffer: hyper.momentum > 0 ? zerosLike(param) : null,
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
  const wd = hyper.weightDecay;
  const sign = hyper.maximize ? -1 : 1;
  const momentum = hyper.momentum;
  const ga = hyper.centered ? state.gradAvg : null;
  const mb = momentum > 0 ? state.momentumBuffer : null;
  state.step++;

  if (ga === null && mb === null) {
    for (let i = 0; i < n; i++) {
      const p = param[i]!;
      const g = sign * grad[i]! + wd * p;
      const v = alpha * sq[i]! + beta * g * g;
      sq[i] = v;
      param[i] = p - (lr * g) / (Math.sqrt(v) + eps);
    }
    return;
  }

  // The general loop: centered and momentum are loop-invariant branches, which the CPU predicts.
  for (let i = 0; i < n; i++) {
    const p = param[i]!;
    const g = sign * grad[i]! + wd * p;
    const v = alpha * sq[i]! + beta * g * g;
    sq[i] = v;
    let w = v;
    if (ga !== null) {
      const m = alpha * ga[i]! + beta * g;
      ga[i] = m;
      w = v - m * m;
      if (w < 0) w = 0; // rounding can push the variance below zero (NaN passes through)
    }
    const d = Math.sqrt(w) + eps;
    if (mb !== null) {
      const b = momentum * mb[i]! + g / d;
      mb[i] = b;
      param[i] = p - lr * b;
    } else {
      param[i] = p - (lr * g) / d;
    }
  }
}
