import type { RMSPropOptions } from './options.js';
import { rmspropDefaults } from './rmsprop-step.js';

/**
 * What every preset starts from: PyTorch's defaults with every switch off, less the three
 * numbers each framework sets for itself (lr, alpha, eps).
 */
const { lr: _lr, alpha: _alpha, eps: _eps, ...BASE } = rmspropDefaults;

function preset(options: RMSPropOptions): RMSPropOptions {
  return Object.freeze({ ...BASE, ...options });
}

/**
 * Every framework's RMSProp as a frozen option object: its defaults (learning rate where it has
 * one, its rho or decay as `alpha`, its epsilon) and the switches that reproduce its update.
 * Spread one and override what your recipe sets:
 *
 * | preset | framework, source followed | lr | alpha | eps | switches |
 * |---|---|---|---|---|---|
 * | `pytorch` | `torch.optim.RMSprop` | 0.01 | 0.99 | 1e-8 | none |
 * | `keras` | Keras 3 `keras.optimizers.RMSprop` | 0.001 | 0.9 | 1e-7 | `epsInSqrt`, `lrInMomentum`, `decoupledWeightDecay` |
 * | `tf1` | TF1 `tf.compat.v1.train.RMSPropOptimizer` | — | 0.9 | 1e-10 | `epsInSqrt`, `lrInMomentum`, `initialAccumulator: 1` |
 * | `tfjs` | TFJS `tf.train.rmsprop` (cpu backend epsilon) | — | 0.9 | 1e-7 | `epsInSqrt`, `lrInMomentum` |
 * | `optax` | `optax.rmsprop` | — | 0.9 | 1e-8 | `epsInSqrt`, `lrInMomentum` |
 * | `graves` | Graves 2013, eq. 38–41 | 1e-4 | 0.95 | 1e-4 | `centered`, `momentum: 0.9`, `epsInSqrt`, `lrInMomentum` |
 *
 * TF1, TFJS and Optax have no default learning rate: pass yours (without one the optimizer's
 * default, PyTorch's 0.01, applies). Optax's `bias_correction=True` and `nesterov=True` are
 * `biasCorrection: true` and `nesterov: true`; Keras's `weight_decay` is `weightDecay`.
 * docs/algorithm.md has the details and each framework's known defects.
 *
 * @example
 * ```ts
 * import { RMSProp, presets } from 'rmsprop';
 *
 * // keras.optimizers.RMSprop(learning_rate=0.01, momentum=0.9, weight_decay=0.004)
 * const opt = new RMSProp(params, { ...presets.keras, lr: 0.01, momentum: 0.9, weightDecay: 0.004 });
 * ```
 */
export const presets: {
  readonly pytorch: RMSPropOptions;
  readonly keras: RMSPropOptions;
  readonly tf1: RMSPropOptions;
  readonly tfjs: RMSPropOptions;
  readonly optax: RMSPropOptions;
  readonly graves: RMSPropOptions;
} = Object.freeze({
  pytorch: preset({ lr: 0.01, alpha: 0.99, eps: 1e-8 }),
  keras: preset({ lr: 0.001, alpha: 0.9, eps: 1e-7, epsInSqrt: true, lrInMomentum: true, decoupledWeightDecay: true }),
  tf1: preset({ alpha: 0.9, eps: 1e-10, epsInSqrt: true, lrInMomentum: true, initialAccumulator: 1 }),
  tfjs: preset({ alpha: 0.9, eps: 1e-7, epsInSqrt: true, lrInMomentum: true }),
  optax: preset({ alpha: 0.9, eps: 1e-8, epsInSqrt: true, lrInMomentum: true }),
  graves: preset({ lr: 1e-4, alpha: 0.95, eps: 1e-4, momentum: 0.9, centered: true, epsInSqrt: true, lrInMomentum: true }),
});
