import type { Arena } from './backend.js';
import {
  checkBoolean,
  checkNumber,
  finiteAtLeast0,
  invalid,
  optionKeys,
  positive,
  readError,
  unitInterval,
} from './checks.js';
import type { Rule } from './checks.js';
import { formatValue } from './format.js';
import type { RMSPropHyper } from './rmsprop-step.js';

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

/**
 * Options of the optimizer or of one parameter group: any of the fields of `RMSPropHyper`
 * (each documented there, with its default and range). A group falls back to the optimizer's
 * options, the optimizer to PyTorch's defaults (`rmspropDefaults`). `undefined` counts as not
 * given.
 *
 * @example
 * ```ts
 * const options: RMSPropOptions = { lr: 0.001, momentum: 0.9, centered: true };
 * const opt = new RMSProp(params, options);
 * ```
 */
export interface RMSPropOptions extends Partial<Omit<RMSPropHyper, 'lr'>> {
  /**
   * Learning rate: a finite number `>= 0`, or a schedule, a function of the update index
   * (see {@link LrSchedule}). @defaultValue `0.01`
   */
  readonly lr?: number | LrSchedule;
  /** A frozen group is skipped by `step()` entirely: no update, no state change, no schedule call. @defaultValue `false` */
  readonly frozen?: boolean;
}

/**
 * Hyperparameters as a parameter group (and the optimizer's `defaults`) hold them: every field
 * of {@link RMSPropHyper}, with `lr` a number or a schedule.
 *
 * @example
 * ```ts
 * const g: GroupHyper = { ...rmspropDefaults, lr: cosineAnnealing(0.01, { tMax: 1000 }), frozen: false };
 * ```
 */
export type GroupHyper = Omit<RMSPropHyper, 'lr'> & { lr: number | LrSchedule; frozen: boolean };

/**
 * What `step()` does with a gradient that holds NaN or ±Infinity: `'throw'` an error naming the
 * group and parameter before anything is written, `'skip'` the whole step (counted in
 * `skippedSteps`), or `'apply'` it without looking, as PyTorch does (the fastest).
 *
 * @example
 * ```ts
 * const policy: NonFinitePolicy = 'skip'; // e.g. for mixed-precision loss scaling
 * const opt = new RMSProp(params, { nonFinite: policy });
 * ```
 */
export type NonFinitePolicy = 'throw' | 'skip' | 'apply';

/**
 * The constructor's options: every hyperparameter of {@link RMSPropOptions} (the defaults of
 * every group), and the optimizer-wide `nonFinite` policy and `arena`.
 *
 * @example
 * ```ts
 * const options: OptimizerOptions = { ...presets.keras, lr: 0.01, nonFinite: 'skip' };
 * ```
 */
export interface OptimizerOptions extends RMSPropOptions {
  /** What to do with a non-finite gradient; see {@link NonFinitePolicy}. @defaultValue `'throw'` */
  readonly nonFinite?: NonFinitePolicy;
  /**
   * An arena from `createArena()`: the state of every float32 parameter whose `data` lives in
   * it is allocated there too, and every such parameter whose `grad` also lives there is
   * stepped by the arena's WebAssembly SIMD kernel. Other parameters, and what the SIMD kernel
   * does not take (see `Arena.step`), are stepped by the TS kernel.
   */
  readonly arena?: Arena;
}

type OptionName = keyof GroupHyper;

/** The numeric options and their ranges; every other option is a boolean. */
const NUMBER_RULES: Readonly<Partial<Record<OptionName, Rule>>> = {
  lr: finiteAtLeast0,
  alpha: unitInterval,
  eps: positive,
  weightDecay: finiteAtLeast0,
  momentum: unitInterval,
  initialAccumulator: finiteAtLeast0,
};

/** Every option name, in the order the docs list them. @internal */
export const OPTION_NAMES: readonly OptionName[] = [
  'lr',
  'alpha',
  'eps',
  'weightDecay',
  'momentum',
  'centered',
  'maximize',
  'epsInSqrt',
  'lrInMomentum',
  'nesterov',
  'initialAccumulator',
  'biasCorrection',
  'decoupledWeightDecay',
  'frozen',
];

/** The options the kernel reads: every option but `frozen`, which only the optimizer does. */
const HYPER_NAMES = OPTION_NAMES.filter((n): n is keyof RMSPropHyper => n !== 'frozen');

/** The options only the optimizer as a whole takes (`OptimizerOptions`); a group cannot set them. @internal */
export const OPTIMIZER_OPTIONS: readonly string[] = ['nonFinite', 'arena'];

/** Other frameworks' spellings, and options of earlier releases, for a hint in the unknown-option error. */
const HINTS: Readonly<Record<string, string>> = {
  learningRate: 'lr',
  learning_rate: 'lr',
  rho: 'alpha',
  decay: 'alpha',
  epsilon: 'eps',
  weight_decay: 'weightDecay',
  accumulate: 'MultiSteps',
  clipValue: 'clipGradValue',
  clipNorm: 'clipGradNorm',
  clipGlobalNorm: 'clipGradNorm',
};

/** ` in group 2`, or nothing for the optimizer's own options (`group < 0`). @internal */
export function inGroup(group: number): string {
  return group < 0 ? '' : ` in group ${group}`;
}

function checkValue(name: OptionName, value: unknown, prefix: string, group: number): void {
  if (name === 'lr' && typeof value === 'function') return; // a schedule: its values are checked at each step
  const rule = NUMBER_RULES[name];
  if (rule === undefined) checkBoolean(value, prefix, name, inGroup(group));
  else checkNumber(value, rule, prefix, name, inGroup(group));
}

/**
 * Checks user-given options: a plain object whose keys are option names (plus `extraKeys`:
 * `params` in a group, the optimizer-wide options in the optimizer's, which the caller checks)
 * and whose values are in range; `undefined` counts as not given.
 *
 * @param prefix - Start of every message, e.g. `RMSProp`.
 * @param group - The group the options belong to, or -1 for the optimizer's own options.
 * @internal
 */
export function checkOptions(options: unknown, prefix: string, group: number, extraKeys: readonly string[]): void {
  const keys = optionKeys(options, () =>
    group < 0
      ? invalid(prefix, 'options', 'an object', options)
      : `${prefix}: invalid group ${group}: expected an object with params, got ${formatValue(options)}`,
  );
  const record = options as Readonly<Record<string, unknown>>;
  for (const key of keys) {
    if (extraKeys.includes(key)) continue;
    if (!(OPTION_NAMES as readonly string[]).includes(key)) {
      const hint = Object.hasOwn(HINTS, key)
        ? ` (did you mean ${String(HINTS[key])}?)`
        : OPTIMIZER_OPTIONS.includes(key)
          ? ` (${key} applies to the whole optimizer: set it in the optimizer options)`
          : '';
      throw new TypeError(
        `${prefix}: unknown option "${key}"${inGroup(group)}${hint}; the options are ${OPTION_NAMES.join(', ')}`,
      );
    }
    const value = record[key];
    if (value !== undefined) checkValue(key as OptionName, value, prefix, group);
  }
}

/**
 * Checks a complete set of hyperparameters, such as a parameter group after user code has
 * assigned to it. Every field must be present and in range.
 *
 * Called at every step, so the common case reads each field by its own name and tests it in
 * place, with no call: a number read from an object and passed to a call the JIT does not inline
 * is boxed, an allocation (`npm run soak -- --schedule` saw 5 collections in 300 000 steps when
 * these tests were calls to each rule's `ok`; a generic loop over the names boxes every field
 * and made steps 40% slower). Only when something is wrong does the slow path find it and say
 * what.
 *
 * @internal
 */
export function checkHyper(h: RMSPropHyper, prefix: string, group: number): void {
  const { lr, alpha, eps, weightDecay, momentum, initialAccumulator } = h;
  const ok =
    typeof lr === 'number' && lr >= 0 && lr < Infinity &&
    typeof alpha === 'number' && alpha >= 0 && alpha < 1 &&
    typeof eps === 'number' && eps > 0 && eps < Infinity &&
    typeof weightDecay === 'number' && weightDecay >= 0 && weightDecay < Infinity &&
    typeof momentum === 'number' && momentum >= 0 && momentum < 1 &&
    typeof initialAccumulator === 'number' && initialAccumulator >= 0 && initialAccumulator < Infinity &&
    typeof h.centered === 'boolean' &&
    typeof h.maximize === 'boolean' &&
    typeof h.epsInSqrt === 'boolean' &&
    typeof h.lrInMomentum === 'boolean' &&
    typeof h.nesterov === 'boolean' &&
    typeof h.biasCorrection === 'boolean' &&
    typeof h.decoupledWeightDecay === 'boolean';
  if (!ok) for (const name of HYPER_NAMES) checkValue(name, h[name], prefix, group);
}

/** `T` with every field writable. @internal */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Copies a group's hyperparameters into `into` (the numeric set the kernel reads), each field
 * read once, calling its learning-rate schedule for update `t`; then checks them all. Throws,
 * naming the group, for a field out of range or a schedule that gives no valid rate.
 *
 * Field by field, not in a loop over the names: a generic copy would box every number.
 *
 * @internal
 */
export function resolveHyper(group: GroupHyper, into: Mutable<RMSPropHyper>, t: number, prefix: string, gi: number): RMSPropHyper {
  let lr: unknown;
  try {
    into.alpha = group.alpha;
    into.eps = group.eps;
    into.weightDecay = group.weightDecay;
    into.momentum = group.momentum;
    into.centered = group.centered;
    into.maximize = group.maximize;
    into.epsInSqrt = group.epsInSqrt;
    into.lrInMomentum = group.lrInMomentum;
    into.nesterov = group.nesterov;
    into.initialAccumulator = group.initialAccumulator;
    into.biasCorrection = group.biasCorrection;
    into.decoupledWeightDecay = group.decoupledWeightDecay;
    lr = group.lr;
  } catch (error) {
    throw readError(error, prefix, 'a hyperparameter', inGroup(gi).trimStart());
  }
  if (typeof lr === 'function') {
    // Checked here, the message built only on failure: nothing is allocated around the call.
    // The test written out, and the error path apart: a number that meets a call's result (or is
    // passed to a call that is not inlined) is boxed, an allocation at every step.
    let value: unknown;
    try {
      value = lr(t);
    } catch (error) {
      throw scheduleError(error, prefix, gi, t);
    }
    if (!(typeof value === 'number' && value >= 0 && value !== Infinity)) checkNumber(value, finiteAtLeast0, prefix, `lr in group ${gi}: the schedule's value for update ${t}`);
    into.lr = value as number;
  } else {
    into.lr = lr as number; // checked below
  }
  checkHyper(into, prefix, gi);
  return into;
}

/**
 * The error for a schedule that threw at update `t` (`note`: said after it, as " (replayed)"):
 * apart, so that the hot path stays small enough to inline.
 *
 * @internal
 */
export function scheduleError(error: unknown, prefix: string, gi: number, t: number, note = ''): Error {
  return new Error(`${prefix}: the lr schedule of group ${gi} threw at update ${t}${note}: ${error instanceof Error ? error.message : formatValue(error)}`, { cause: error });
}

/** A group's `frozen` switch, read once and checked. @internal */
export function isFrozen(group: { readonly frozen: unknown }, prefix: string, gi: number): boolean {
  let frozen: unknown;
  try {
    frozen = group.frozen;
  } catch (error) {
    throw readError(error, prefix, 'frozen', inGroup(gi).trimStart());
  }
  return frozen === false ? false : checkBoolean(frozen, prefix, 'frozen', inGroup(gi));
}

/** The `nonFinite` policy, checked. @internal */
export function checkPolicy(value: unknown, prefix: string): NonFinitePolicy {
  if (value !== 'throw' && value !== 'skip' && value !== 'apply') {
    throw new TypeError(invalid(prefix, 'nonFinite', "'throw', 'skip' or 'apply'", value));
  }
  return value;
}

/**
 * The `arena` option, checked: `null` when not given. Anything with an arena's members will do
 * (the class only calls them), so a backend that keeps the arena's contract plugs in.
 *
 * @internal
 */
export function checkArena(arena: unknown, prefix: string): Arena | null {
  if (arena === undefined) return null;
  if (typeof (arena as Partial<Arena> | null)?.step === 'function' && typeof (arena as Arena).alloc === 'function') return arena as Arena;
  throw new TypeError(invalid(prefix, 'arena', 'an arena from createArena()', arena));
}

/**
 * Resolves options over a base: each option given (not `undefined`) replaces the base's.
 * The result has every field, in one fixed order; with no options, it is a copy of the
 * base's option fields (and nothing else).
 *
 * @internal
 */
export function resolveOptions(base: GroupHyper, options: RMSPropOptions = {}, prefix = 'RMSProp', gi = -1): GroupHyper {
  const resolved = {} as Record<OptionName, unknown>;
  try {
    for (const name of OPTION_NAMES) resolved[name] = options[name] ?? base[name];
  } catch (error) {
    throw readError(error, prefix, 'an option', inGroup(gi).trimStart());
  }
  return resolved as GroupHyper;
}
