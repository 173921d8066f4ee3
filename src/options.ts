import { describe } from './describe.js';
import type { RMSPropHyper } from './rmsprop-step.js';
import type { LrSchedule } from './schedules.js';

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
 * const g: GroupHyper = { ...rmspropDefaults, lr: cosineAnnealing(0.01, { tMax: 1000 }) };
 * ```
 */
export type GroupHyper = Omit<RMSPropHyper, 'lr'> & { lr: number | LrSchedule; frozen: boolean };

type OptionName = keyof GroupHyper;

interface NumberRule {
  /** Whether `x` is a number in range. */
  readonly ok: (x: unknown) => boolean;
  readonly allowed: string;
}

const finiteAtLeast0: NumberRule = { ok: (x) => typeof x === 'number' && x >= 0 && x !== Infinity, allowed: 'a finite number >= 0' };
const unitInterval: NumberRule = { ok: (x) => typeof x === 'number' && x >= 0 && x < 1, allowed: 'a number in [0, 1)' };
const positive: NumberRule = { ok: (x) => typeof x === 'number' && x > 0 && x !== Infinity, allowed: 'a finite number > 0' };

/** The numeric options and their ranges; every other option is a boolean. */
const NUMBER_RULES: Readonly<Partial<Record<OptionName, NumberRule>>> = {
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
export const OPTIMIZER_OPTIONS: readonly string[] = ['nonFinite', 'arena', 'clipValue', 'clipNorm', 'clipGlobalNorm', 'accumulate'];

/** Other frameworks' spellings, for a hint in the unknown-option error. */
const SPELLINGS: Readonly<Record<string, OptionName>> = {
  learningRate: 'lr',
  learning_rate: 'lr',
  rho: 'alpha',
  decay: 'alpha',
  epsilon: 'eps',
  weight_decay: 'weightDecay',
};

/** ` in group 2`, or nothing for the optimizer's own options (`group < 0`). */
function inGroup(group: number): string {
  return group < 0 ? '' : ` in group ${group}`;
}

function invalid(name: string, group: number, allowed: string, value: unknown, prefix: string): string {
  return `${prefix}: invalid ${name}${inGroup(group)}: expected ${allowed}, got ${describe(value)}`;
}

function checkValue(name: OptionName, value: unknown, prefix: string, group: number): void {
  if (name === 'lr' && typeof value === 'function') return; // a schedule: its values are checked at each step
  const rule = NUMBER_RULES[name];
  if (rule === undefined) {
    if (typeof value !== 'boolean') throw new TypeError(invalid(name, group, 'a boolean', value, prefix));
    return;
  }
  if (typeof value !== 'number') throw new TypeError(invalid(name, group, rule.allowed, value, prefix));
  if (!rule.ok(value)) throw new RangeError(invalid(name, group, rule.allowed, value, prefix));
}

/**
 * Checks user-given options: a plain object whose keys are option names (plus `extraKeys`:
 * `params` in a group, `nonFinite` and `arena` in the optimizer's options, which the caller
 * checks) and whose values are in range; `undefined` counts as not given.
 *
 * @param prefix - Start of every message, e.g. `RMSProp`.
 * @param group - The group the options belong to, or -1 for the optimizer's own options.
 * @internal
 */
export function checkOptions(options: unknown, prefix: string, group: number, extraKeys: readonly string[]): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(
      group < 0
        ? invalid('options', -1, 'an object', options, prefix)
        : `${prefix}: invalid group ${group}: expected an object with params, got ${describe(options)}`,
    );
  }
  const record = options as Readonly<Record<string, unknown>>;
  for (const key of Object.keys(record)) {
    if (extraKeys.includes(key)) continue;
    if (!(OPTION_NAMES as readonly string[]).includes(key)) {
      const hint = Object.hasOwn(SPELLINGS, key)
        ? ` (did you mean ${String(SPELLINGS[key])}?)`
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
 * Called at every step, so the common case reads each number field by its own name and hands
 * it to its rule's `ok`, a small function the JIT inlines: the number stays unboxed. Reading a
 * number field by a computed name, as a generic loop over the names does, boxes it: an
 * allocation per field per step (measured with `npm run soak`: the generic loop alone caused 32
 * collections in 200 000 steps and made them 40% slower; this form, none). The booleans are
 * read by name too: a loop over their names needs keyed (megamorphic) loads, which made the
 * per-group cost of a step 1.4x. Only when something is wrong does the slow path find it and
 * say what.
 *
 * @internal
 */
export function checkHyper(h: RMSPropHyper, prefix: string, group: number): void {
  const ok =
    finiteAtLeast0.ok(h.lr) && unitInterval.ok(h.alpha) && positive.ok(h.eps) &&
    finiteAtLeast0.ok(h.weightDecay) && unitInterval.ok(h.momentum) && finiteAtLeast0.ok(h.initialAccumulator) &&
    typeof h.centered === 'boolean' &&
    typeof h.maximize === 'boolean' &&
    typeof h.epsInSqrt === 'boolean' &&
    typeof h.lrInMomentum === 'boolean' &&
    typeof h.nesterov === 'boolean' &&
    typeof h.biasCorrection === 'boolean' &&
    typeof h.decoupledWeightDecay === 'boolean';
  if (ok) return;
  for (let i = 0; i < HYPER_NAMES.length; i++) {
    const name = HYPER_NAMES[i]!;
    checkValue(name, h[name], prefix, group);
  }
}

/** Checks `frozen`, the one group option the kernel does not read. @internal */
export function checkFrozen(value: unknown, prefix: string, group: number): void {
  checkValue('frozen', value, prefix, group);
}

/**
 * Resolves options over a base: each option given (not `undefined`) replaces the base's.
 * The result has every field, in one fixed order; with no options, it is a copy of the
 * base's option fields (and nothing else).
 *
 * @internal
 */
export function resolveOptions(base: GroupHyper, options: RMSPropOptions = {}): GroupHyper {
  const resolved = {} as Record<OptionName, unknown>;
  for (const name of OPTION_NAMES) resolved[name] = options[name] ?? base[name];
  return resolved as GroupHyper;
}
