import { checkKeys, checkNumber, finiteAtLeast0, positive, rule, wholeAtLeast1 } from './checks.js';
import type { Rule } from './checks.js';
import { formatValue } from './format.js';
import type { LrSchedule } from './options.js';


/** An option's value, or the default when it is not given (`undefined`; `null` is a value, and checked). */
function given<T>(value: T | undefined, fallback: T): T {
  return value === undefined ? fallback : value;
}

const factor: Rule = rule((x) => x > 0 && x <= 1, 'a number in (0, 1]');
const fraction: Rule = rule((x) => x > 0 && x < 1, 'a number in (0, 1)');

/**
 * Linear warmup to `lr`, then constant: PyTorch's `LinearLR(start_factor, end_factor=1,
 * total_iters=warmupSteps)`. At update t the rate is
 * `lr * (startFactor + (1 - startFactor) * min(t, warmupSteps) / warmupSteps)`.
 *
 * @param lr - The rate after warmup, finite `>= 0`.
 * @param options - `warmupSteps` (a whole number >= 1) and `startFactor` (in (0, 1], default 1/3 as PyTorch's).
 *
 * @example
 * ```ts
 * new RMSProp(params, { lr: linearWarmup(1e-3, { warmupSteps: 500, startFactor: 0.01 }) });
 * ```
 */
export function linearWarmup(lr: number, options: { readonly warmupSteps: number; readonly startFactor?: number }): LrSchedule {
  const name = 'linearWarmup';
  checkKeys(options, name, ['warmupSteps', 'startFactor']);
  checkNumber(lr, finiteAtLeast0, name, 'lr');
  const steps = checkNumber(options.warmupSteps, wholeAtLeast1, name, 'warmupSteps');
  const start = checkNumber(given(options.startFactor, 1 / 3), factor, name, 'startFactor');
  return (t) => lr * (start + ((1 - start) * Math.min(t, steps)) / steps);
}

/**
 * `lr` times `gamma` every `stepSize` updates: PyTorch's `StepLR(step_size, gamma)`,
 * `lr * gamma^floor(t / stepSize)`.
 *
 * @example
 * ```ts
 * new RMSProp(params, { lr: stepDecay(0.01, { stepSize: 1000, gamma: 0.5 }) });
 * ```
 */
export function stepDecay(lr: number, options: { readonly stepSize: number; readonly gamma: number }): LrSchedule {
  const name = 'stepDecay';
  checkKeys(options, name, ['stepSize', 'gamma']);
  checkNumber(lr, finiteAtLeast0, name, 'lr');
  const size = checkNumber(options.stepSize, wholeAtLeast1, name, 'stepSize');
  const gamma = checkNumber(options.gamma, finiteAtLeast0, name, 'gamma');
  return (t) => lr * gamma ** Math.floor(t / size);
}

/**
 * `lr` times `gamma` at every update: PyTorch's `ExponentialLR(gamma)`, `lr * gamma^t`.
 *
 * @example
 * ```ts
 * new RMSProp(params, { lr: exponentialDecay(0.01, { gamma: 0.999 }) });
 * ```
 */
export function exponentialDecay(lr: number, options: { readonly gamma: number }): LrSchedule {
  const name = 'exponentialDecay';
  checkKeys(options, name, ['gamma']);
  checkNumber(lr, finiteAtLeast0, name, 'lr');
  const gamma = checkNumber(options.gamma, finiteAtLeast0, name, 'gamma');
  return (t) => lr * gamma ** t;
}

/**
 * Cosine annealing from `lr` to `etaMin` over `tMax` updates: PyTorch's
 * `CosineAnnealingLR(T_max, eta_min)`, `etaMin + (lr - etaMin) * (1 + cos(pi * t / tMax)) / 2`
 * (periodic beyond `tMax`, as PyTorch's).
 *
 * @example
 * ```ts
 * new RMSProp(params, { lr: cosineAnnealing(0.01, { tMax: 10_000, etaMin: 1e-5 }) });
 * ```
 */
export function cosineAnnealing(lr: number, options: { readonly tMax: number; readonly etaMin?: number }): LrSchedule {
  const name = 'cosineAnnealing';
  checkKeys(options, name, ['tMax', 'etaMin']);
  checkNumber(lr, finiteAtLeast0, name, 'lr');
  const tMax = checkNumber(options.tMax, wholeAtLeast1, name, 'tMax');
  const etaMin = checkNumber(given(options.etaMin, 0), finiteAtLeast0, name, 'etaMin');
  return (t) => etaMin + ((lr - etaMin) * (1 + Math.cos((Math.PI * t) / tMax))) / 2;
}

/**
 * The one-cycle policy: PyTorch's `OneCycleLR` (two phases, `cycle_momentum=False`). From
 * `maxLr / divFactor` up to `maxLr` over the first `pctStart` of `totalSteps`, then down to
 * `maxLr / divFactor / finalDivFactor`, by cosine or linear annealing. Asking for an update
 * beyond `totalSteps` throws, as PyTorch does.
 *
 * @example
 * ```ts
 * new RMSProp(params, { lr: oneCycle({ maxLr: 0.01, totalSteps: epochs * batchesPerEpoch }) });
 * ```
 */
export function oneCycle(options: {
  readonly maxLr: number;
  readonly totalSteps: number;
  readonly pctStart?: number;
  readonly anneal?: 'cos' | 'linear';
  readonly divFactor?: number;
  readonly finalDivFactor?: number;
}): LrSchedule {
  const name = 'oneCycle';
  checkKeys(options, name, ['maxLr', 'totalSteps', 'pctStart', 'anneal', 'divFactor', 'finalDivFactor']);
  const maxLr = checkNumber(options.maxLr, finiteAtLeast0, name, 'maxLr');
  const total = checkNumber(options.totalSteps, wholeAtLeast1, name, 'totalSteps');
  const pct = checkNumber(given(options.pctStart, 0.3), fraction, name, 'pctStart');
  const div = checkNumber(given(options.divFactor, 25), positive, name, 'divFactor');
  const finalDiv = checkNumber(given(options.finalDivFactor, 1e4), positive, name, 'finalDivFactor');
  const anneal = given(options.anneal, 'cos');
  if (anneal !== 'cos' && anneal !== 'linear') {
    throw new TypeError(`${name}: invalid anneal: expected 'cos' or 'linear', got ${formatValue(anneal)}`);
  }
  const initial = maxLr / div;
  const min = initial / finalDiv;
  const peak = pct * total - 1; // where the first phase ends, as PyTorch computes it
  const last = total - 1;
  if (peak === 0) {
    // A first phase of no length: PyTorch divides by zero there (when first stepped), this would give NaN.
    throw new RangeError(`${name}: invalid pctStart: expected a number in (0, 1) other than 1 / totalSteps (the warm-up would have no length), got ${pct} with totalSteps ${total}`);
  }
  const interpolate = (from: number, to: number, f: number): number =>
    anneal === 'cos' ? to + ((from - to) / 2) * (Math.cos(Math.PI * f) + 1) : (to - from) * f + from;
  return (t) => {
    if (!(t <= total) || !Number.isFinite(t)) {
      throw new RangeError(`oneCycle: update ${t} is past the cycle's ${total} steps (totalSteps)`);
    }
    return t <= peak ? interpolate(initial, maxLr, t / peak) : interpolate(maxLr, min, (t - peak) / (last - peak));
  };
}
