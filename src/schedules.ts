import { describe } from './describe.js';

/**
 * A learning rate as a function of the update index `t`: 0 for the first update the optimizer
 * applies, 1 for the next, and so on (skipped steps do not count). Give one as `lr`, to the
 * optimizer or to a group; it is called once per group at every step.
 *
 * @example
 * ```ts
 * const halveEvery100: LrSchedule = (t) => 0.01 * 0.5 ** Math.floor(t / 100);
 * const opt = new RMSProp(params, { lr: halveEvery100 });
 * ```
 */
export type LrSchedule = (t: number) => number;

function positive(name: string, x: unknown, what: string, ok: (x: number) => boolean): number {
  if (typeof x !== 'number' || !ok(x)) throw new RangeError(`${name}: invalid ${what}, got ${describe(x)}`);
  return x;
}

const finite = (x: number): boolean => Number.isFinite(x);
const atLeast0 = (x: number): boolean => x >= 0 && x !== Infinity;
const above0 = (x: number): boolean => x > 0 && x !== Infinity;
const count = (x: number): boolean => Number.isInteger(x) && x >= 1;

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
  positive(name, lr, 'lr: expected a finite number >= 0', atLeast0);
  const steps = positive(name, options.warmupSteps, 'warmupSteps: expected a whole number >= 1', count);
  const start = positive(name, options.startFactor ?? 1 / 3, 'startFactor: expected a number in (0, 1]', (x) => x > 0 && x <= 1);
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
  positive(name, lr, 'lr: expected a finite number >= 0', atLeast0);
  const size = positive(name, options.stepSize, 'stepSize: expected a whole number >= 1', count);
  const gamma = positive(name, options.gamma, 'gamma: expected a finite number >= 0', atLeast0);
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
  positive(name, lr, 'lr: expected a finite number >= 0', atLeast0);
  const gamma = positive(name, options.gamma, 'gamma: expected a finite number >= 0', atLeast0);
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
  positive(name, lr, 'lr: expected a finite number >= 0', atLeast0);
  const tMax = positive(name, options.tMax, 'tMax: expected a whole number >= 1', count);
  const etaMin = positive(name, options.etaMin ?? 0, 'etaMin: expected a finite number >= 0', atLeast0);
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
  const maxLr = positive(name, options.maxLr, 'maxLr: expected a finite number >= 0', atLeast0);
  const total = positive(name, options.totalSteps, 'totalSteps: expected a whole number >= 1', count);
  const pct = positive(name, options.pctStart ?? 0.3, 'pctStart: expected a number in (0, 1)', (x) => x > 0 && x < 1);
  const div = positive(name, options.divFactor ?? 25, 'divFactor: expected a finite number > 0', above0);
  const finalDiv = positive(name, options.finalDivFactor ?? 1e4, 'finalDivFactor: expected a finite number > 0', above0);
  const anneal = options.anneal ?? 'cos';
  if (anneal !== 'cos' && anneal !== 'linear') {
    throw new RangeError(`${name}: invalid anneal: expected 'cos' or 'linear', got ${describe(anneal)}`);
  }
  const initial = maxLr / div;
  const min = initial / finalDiv;
  const peak = pct * total - 1; // where the first phase ends, as PyTorch computes it
  const last = total - 1;
  const interpolate = (from: number, to: number, f: number): number =>
    anneal === 'cos' ? to + ((from - to) / 2) * (Math.cos(Math.PI * f) + 1) : (to - from) * f + from;
  return (t) => {
    if (!(t <= total) || !finite(t)) {
      throw new RangeError(`oneCycle: update ${t} is past the cycle's ${total} steps (totalSteps)`);
    }
    return t <= peak ? interpolate(initial, maxLr, t / peak) : interpolate(maxLr, min, (t - peak) / (last - peak));
  };
}
