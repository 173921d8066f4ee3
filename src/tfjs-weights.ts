// TFJS's optimizer weights (`tfOptimizer.getWeights()` / `setWeights()` of `tf.train.rmsprop`)
// to and from this library's state, so that a run can move between the two. Nothing of TFJS is
// imported: its tensors are read through `shape`, `dtype` and `dataSync()`, and made by the
// caller's `tf.tensor`.
//
// TFJS 4.22's list, in its order: `iter` (an int32 scalar, the iteration count), then every
// variable's `<variable name>/rms`, then every variable's `<variable name>/momentum`, then, when
// centered, every variable's `<variable name>/mg`. The variables are in the order
// `applyGradients` first saw them; TFJS keeps each slot by that position alone, not by name.
import { at, checkNumber, count, invalid, readError } from './checks.js';
import { formatValue } from './format.js';
import { liveState } from './optimizer.js';
import type { RMSProp } from './optimizer.js';
import { inGroup } from './options.js';
import type { FloatArray } from './rmsprop-step.js';
import type { RMSPropStateDict, SavedGroupState, SavedParamState } from './state-dict.js';

/**
 * A tensor as this module reads it: a `tf.Tensor` (or a `tf.Variable`) is one.
 *
 * @example
 * ```ts
 * const t: TFJSTensorLike = { shape: [2], dtype: 'float32', dataSync: () => new Float32Array([1, 2]) };
 * ```
 */
export interface TFJSTensorLike {
  readonly shape: readonly number[];
  readonly dtype: string;
  /**
   * The values, in row-major order: read once per tensor, after every check has passed.
   *
   * @example
   * ```ts
   * const values = weights[1]!.tensor.dataSync(); // a Float32Array on TFJS's cpu backend
   * ```
   */
  dataSync(): ArrayLike<number>;
}

/**
 * One entry of a TFJS optimizer's weight list (TFJS's `NamedTensor`): what
 * `await tfOptimizer.getWeights()` gives and `tfOptimizer.setWeights()` takes.
 *
 * @example
 * ```ts
 * const weights: TFJSNamedTensor[] = await tfOptimizer.getWeights();
 * weights[0]!.name; // 'iter'
 * ```
 */
export interface TFJSNamedTensor<T = TFJSTensorLike> {
  readonly name: string;
  readonly tensor: T;
}

/**
 * A TFJS variable as {@link tfjsWeights} reads it, for its name and shape: a `tf.Variable` is one.
 *
 * @example
 * ```ts
 * const v: TFJSVariableLike = tf.variable(tf.zeros([3, 5]), true, 'dense/kernel');
 * ```
 */
export interface TFJSVariableLike {
  readonly name: string;
  readonly shape: readonly number[];
}

/**
 * A TFJS optimizer's hyperparameters as `tfOptimizer.getConfig()` gives them: `learningRate`,
 * `decay`, `momentum`, `epsilon` and `centered` are read. Given to {@link loadTFJSWeights} or
 * {@link tfjsWeights}, every group must have the same values (`lr`, `alpha`, `momentum`, `eps`,
 * `centered`; the `lr` of a group with a schedule is not compared).
 *
 * @example
 * ```ts
 * const config: TFJSConfig = tfOptimizer.getConfig(); // { learningRate: 0.01, decay: 0.9, ... }
 * ```
 */
export type TFJSConfig = Readonly<Record<string, unknown>>;

/** A TFJS slot: its name's suffix, and the state buffer it holds. */
type Kind = 'rms' | 'momentum' | 'mg';
const PLAIN: readonly Kind[] = ['rms', 'momentum'];
const CENTERED: readonly Kind[] = ['rms', 'momentum', 'mg'];

/** The switches that make this library's update TFJS's, and the values they must have. */
const SWITCHES = [
  ['epsInSqrt', true],
  ['lrInMomentum', true],
  ['maximize', false],
  ['nesterov', false],
  ['biasCorrection', false],
  ['decoupledWeightDecay', false],
] as const;

/** `getConfig()`'s keys and the options they are. */
const CONFIG = [
  ['learningRate', 'lr'],
  ['decay', 'alpha'],
  ['momentum', 'momentum'],
  ['epsilon', 'eps'],
  ['centered', 'centered'],
] as const;

/** The largest count TFJS's int32 `iter` holds. */
const INT32_MAX = 2 ** 31 - 1;

/** A registered parameter, in the order of every group's parameters one after the other. */
interface Param {
  readonly saved: SavedParamState;
  readonly group: SavedGroupState;
  /** `(group 0, param 1) "w"`: how messages name it. */
  readonly where: string;
}

function paramsOf(state: RMSPropStateDict): Param[] {
  return state.groups.flatMap((group, gi) =>
    group.params.map((saved, i) => ({ saved, group, where: `${at(gi, i)}${saved.name === null ? '' : ` "${saved.name}"`}` })),
  );
}

/**
 * Checks that every group does TFJS's update, with one `centered` for all (and the values of
 * `config`, when given), and returns `centered`.
 */
function checkGroups(state: RMSPropStateDict, prefix: string, config: TFJSConfig | undefined): boolean {
  const first = state.groups[0]!.hyper.centered;
  state.groups.forEach(({ hyper }, gi) => {
    for (const [name, want] of SWITCHES) {
      if (hyper[name] !== want) throw new Error(invalid(prefix, name, `${want}, as TFJS's update (spread presets.tfjs into the options)`, hyper[name], inGroup(gi)));
    }
    if (hyper.weightDecay !== 0) throw new Error(invalid(prefix, 'weightDecay', '0: tf.train.rmsprop has no weight decay', hyper.weightDecay, inGroup(gi)));
    if (hyper.centered !== first) {
      throw new Error(invalid(prefix, 'centered', `${first}, as in group 0: a TFJS optimizer is centered for every variable or for none`, hyper.centered, inGroup(gi)));
    }
  });
  if (config !== undefined) {
    if (typeof config !== 'object' || config === null) throw new TypeError(invalid(prefix, 'config', 'an object (tfOptimizer.getConfig())', config));
    for (const [key, name] of CONFIG) {
      const value = config[key];
      const type = name === 'centered' ? 'boolean' : 'number';
      if (typeof value !== type) throw new TypeError(invalid(prefix, `config.${key}`, `a ${type} (tfOptimizer.getConfig())`, value));
      state.groups.forEach(({ hyper }, gi) => {
        const ours = hyper[name];
        if (ours !== 'schedule' && ours !== value) {
          throw new Error(invalid(prefix, name, `${formatValue(value)}, the TFJS optimizer's ${key}`, ours, inGroup(gi)));
        }
      });
    }
  }
  return first;
}

/** The number of elements of a shape, or a TypeError when it is not one. */
function sizeOf(shape: unknown, prefix: string, path: string): number {
  if (Array.isArray(shape) && shape.every((d) => Number.isSafeInteger(d) && d >= 0)) return shape.reduce((a: number, d: number) => a * d, 1);
  throw new TypeError(invalid(prefix, path, 'an array of whole numbers >= 0', shape));
}

function elements(n: number): string {
  return `${n} element${n === 1 ? '' : 's'}`;
}

function shapeText(shape: readonly number[], n: number): string {
  return `[${shape.join(', ')}] (${elements(n)})`;
}

/** Splits `dense/kernel/rms` into `dense/kernel` and `rms`. */
function split(name: string): readonly [string, string] {
  const slash = name.lastIndexOf('/');
  return slash < 0 ? ['', name] : [name.slice(0, slash), name.slice(slash + 1)];
}

const LOAD = 'loadTFJSWeights';

/** Checks one entry of the weight list: `{ name: string, tensor: { shape, dtype, dataSync } }`. */
function entryAt(weights: readonly unknown[], k: number): { readonly name: string; readonly tensor: TFJSTensorLike; readonly size: number } {
  const path = `weights[${k}]`;
  const e = weights[k] as Partial<TFJSNamedTensor<unknown>> | null | undefined;
  if (typeof e !== 'object' || e === null) throw new TypeError(invalid(LOAD, path, 'an object { name, tensor }', e));
  if (typeof e.name !== 'string') throw new TypeError(invalid(LOAD, `${path}.name`, 'a string', e.name));
  const t = e.tensor as Partial<TFJSTensorLike> | null | undefined;
  if (typeof t !== 'object' || t === null || typeof t.dataSync !== 'function' || typeof t.dtype !== 'string') {
    throw new TypeError(invalid(LOAD, `${path}.tensor`, 'a tensor (shape, dtype and dataSync())', t));
  }
  return { name: e.name, tensor: t as TFJSTensorLike, size: sizeOf(t.shape, LOAD, `${path}.tensor.shape`) };
}

/** A tensor's values, checked against its size, copied into a new array of the given type. */
function valuesOf<T extends Float32Array | Float64Array>(tensor: TFJSTensorLike, size: number, k: number, into: T): T {
  let data: ArrayLike<number>;
  try {
    data = tensor.dataSync();
  } catch (error) {
    throw readError(error, LOAD, `weights[${k}].tensor`, 'in dataSync()');
  }
  if (data?.length !== size) throw new Error(invalid(LOAD, `weights[${k}].tensor`, `${size} values from dataSync(), as its shape says`, data));
  into.set(data);
  return into;
}

/**
 * Loads a TFJS `tf.train.rmsprop` optimizer's weights (`await tfOptimizer.getWeights()`) into an
 * optimizer, to continue the run here: its state buffers, and the iteration count as the update
 * count of the optimizer and of every parameter. The optimizer's hyperparameters are kept: build
 * it with `{ ...presets.tfjs, lr, alpha: decay, momentum, eps: epsilon, centered }`, over
 * parameters holding the TFJS variables' current values. Everything is checked, then loaded with
 * `loadStateDict`: a call that throws changes nothing.
 *
 * Slots are matched to parameters by name (`<name>/rms` is the state of the parameter named
 * `name`: register the parameters with their TFJS variable names) when every parameter has a
 * name; otherwise by position (the `n`-th variable of the list is the `n`-th parameter, counting
 * every group's parameters in order). TFJS keeps a momentum slot always: a group with
 * `momentum: 0` ignores it (after checking its name, type and size). Float64 parameters get the
 * float32 values widened.
 *
 * @param opt - An optimizer whose every group does TFJS's update: `epsInSqrt` and `lrInMomentum`
 *   true; `maximize`, `nesterov`, `biasCorrection`, `decoupledWeightDecay` false; `weightDecay` 0;
 *   the same `centered` in every group. `initialAccumulator` does not matter (the state is
 *   replaced).
 * @param weights - What `await tfOptimizer.getWeights()` gives: `iter`, then per variable `rms`,
 *   then `momentum`, then `mg` if centered. Read with `dataSync()`, not disposed (the slots are
 *   the TFJS optimizer's live variables: dispose only `weights[0].tensor`).
 * @param config - `tfOptimizer.getConfig()`, to have every group's `lr`, `alpha`, `momentum`,
 *   `eps` and `centered` checked against the TFJS optimizer's (see {@link TFJSConfig}).
 * @throws Error naming the group and option that is not TFJS's, or the entry of `weights` that
 *   does not fit (count, name, dtype, size); TypeError for an entry that is not a named tensor;
 *   RangeError for an iteration count that is not a whole number `>= 0`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { RMSProp, loadTFJSWeights, presets } from 'rmsprop';
 *
 * const tfOpt = tf.train.rmsprop(0.01, 0.9, 0.9); // trained on the variables w and b
 * const params = [w, b].map((v) => ({ data: Float32Array.from(v.dataSync()), grad: null, name: v.name }));
 * const opt = new RMSProp(params, { ...presets.tfjs, lr: 0.01, alpha: 0.9, momentum: 0.9 });
 * const weights = await tfOpt.getWeights();
 * loadTFJSWeights(opt, weights, tfOpt.getConfig());
 * weights[0]!.tensor.dispose(); // the iteration count is a new tensor; the others are tfOpt's
 * ```
 */
export function loadTFJSWeights(opt: RMSProp, weights: readonly TFJSNamedTensor[], config?: TFJSConfig): void {
  const state = liveState(opt); // its hyperparameters and lengths: no copy of the state needed
  const centered = checkGroups(state, LOAD, config);
  const params = paramsOf(state);
  const n = params.length;
  const kinds = centered ? CENTERED : PLAIN;
  if (!Array.isArray(weights)) throw new TypeError(invalid(LOAD, 'weights', 'an array (await tfOptimizer.getWeights())', weights));
  const list = weights as readonly unknown[];
  const expected = 1 + kinds.length * n;
  if (list.length !== expected) {
    const hint = list.length === 1 + (centered ? 2 : 3) * n ? ` (the weights of a TFJS optimizer with centered: ${!centered}, but the optimizer has centered: ${centered})` : '';
    const slots = kinds.map((k) => `every ${k}`).join(', then ');
    throw new Error(invalid(LOAD, 'weights', `${expected} named tensors for ${n} parameters ("iter", then ${slots})`, list, '', hint));
  }
  const iter = entryAt(list, 0);
  if (iter.name !== 'iter') throw new Error(invalid(LOAD, 'weights[0].name', '"iter" (the iteration count comes first)', iter.name));
  if (iter.size !== 1) throw new Error(`${LOAD}: invalid weights[0].tensor.shape: expected a scalar (1 element), got ${shapeText(iter.tensor.shape, iter.size)}`);

  // Which parameter each variable of the list is: by name when every parameter has one.
  const byName = params.every((p) => p.saved.name !== null);
  const named = new Map(params.map((p) => [p.saved.name, p]));
  const seen = new Map<string, number>();
  const order = params.map((_, j): { readonly param: Param; readonly variable: string } => {
    const k = 1 + j;
    const { name } = entryAt(list, k);
    const [variable, suffix] = split(name);
    const param = byName ? named.get(variable) : params[j]!;
    if (suffix !== 'rms' || param === undefined) {
      const allowed = byName ? `the rms slot of a parameter: ${params.map((p) => `"${p.saved.name}/rms"`).join(', ')}` : '"<variable name>/rms"';
      throw new Error(invalid(LOAD, `weights[${k}].name`, allowed, name));
    }
    const twin = seen.get(variable);
    if (twin !== undefined) throw new Error(invalid(LOAD, `weights[${k}].name`, `a variable's rms slot once (weights[${twin}] is "${name}" too)`, name));
    seen.set(variable, k);
    return { param, variable };
  });

  // Every slot checked, then read (dataSync() may be a GPU read-back: none before the list is known good).
  const lists = kinds.map((x) => `the ${x} slots`).join(', then ');
  const checked = order.map(({ param, variable }, j) => {
    const { saved, group, where } = param;
    const length = saved.squareAvg.length;
    const slots = kinds.map((kind, s) => {
      const k = 1 + s * n + j;
      const e = entryAt(list, k);
      const want = `${variable}/${kind}`;
      if (e.name !== want) throw new Error(invalid(LOAD, `weights[${k}].name`, `"${want}" (TFJS lists ${lists}, each in the variables' order)`, e.name));
      if (e.tensor.dtype !== 'float32') throw new Error(invalid(LOAD, `weights[${k}].tensor.dtype`, '"float32"', e.tensor.dtype));
      if (e.size !== length) {
        throw new Error(`${LOAD}: invalid weights[${k}].tensor.shape: expected ${elements(length)}, the length of ${where}, got ${shapeText(e.tensor.shape, e.size)}`);
      }
      // A group without momentum has no momentum buffer: the slot is checked, not read.
      return kind === 'momentum' && !(group.hyper.momentum > 0) ? null : { tensor: e.tensor, k };
    });
    return { saved, length, slots };
  });
  const iterations = checkNumber(valuesOf(iter.tensor, 1, 0, new Float64Array(1))[0], count, LOAD, 'weights[0] (the iteration count)');
  const read = checked.map(({ saved, length, slots }) => {
    const buffers = slots.map((slot) =>
      slot === null ? null : valuesOf(slot.tensor, length, slot.k, saved.squareAvg instanceof Float64Array ? new Float64Array(length) : new Float32Array(length)),
    );
    return { saved, squareAvg: buffers[0]!, momentumBuffer: buffers[1] ?? null, gradAvg: buffers[2] ?? null };
  });
  const loaded = new Map(read.map((r) => [r.saved, r]));
  opt.loadStateDict({
    ...state,
    updates: iterations,
    groups: state.groups.map((group) => ({
      hyper: group.hyper,
      params: group.params.map((saved): SavedParamState => {
        const r = loaded.get(saved)!;
        return { name: saved.name, step: iterations, squareAvg: r.squareAvg, gradAvg: r.gradAvg, momentumBuffer: r.momentumBuffer };
      }),
    })),
  });
}

const SAVE = 'tfjsWeights';

/**
 * An optimizer's state as a TFJS `tf.train.rmsprop` optimizer's weights, for
 * `await tfOptimizer.setWeights(...)`, to continue the run in TFJS: `iter` (the update count, an
 * int32 scalar), then per variable `<name>/rms`, then `<name>/momentum` (zeros for a group with
 * `momentum: 0`), then `<name>/mg` if centered. Tensors are made by `tensor` (pass `tf.tensor`)
 * only after every check has passed, from new arrays (float32: a Float64 parameter's state is
 * rounded).
 *
 * TFJS's `setWeights` ignores the names: it takes the slots by position, as the variables'
 * order in `applyGradients` (the gradient map's key order, or `minimize`'s variable list), and
 * replaces any slot it had. Pass the TFJS variables, in that order, as `variables`: the list
 * then follows their order and names and has their shapes (a slot whose shape is not its
 * variable's makes TFJS's next `applyGradients` throw). Parameters are matched to variables by
 * name when every parameter has one, otherwise by position. Without `variables`, the list is in
 * the parameters' order, with flat shapes `[n]`, named by each parameter's name or its index.
 *
 * @param opt - An optimizer whose every group does TFJS's update (as for {@link loadTFJSWeights}).
 * @param tensor - Makes a tensor: `tf.tensor`.
 * @param variables - The TFJS variables, in `applyGradients`' order (see above).
 * @param config - `tfOptimizer.getConfig()`, to check every group's hyperparameters against it.
 * @returns The weight list, `iter` first.
 * @throws Error naming the group and option that is not TFJS's, or the variable that does not
 *   fit (count, name, size); TypeError for a `tensor` that is not a function or a variable
 *   without a name or shape; RangeError when the update count is beyond int32.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { tfjsWeights } from 'rmsprop';
 *
 * const vars = params.map((p) => tf.variable(tf.tensor(p.data), true, p.name)); // p.name: 'w', 'b'
 * const tfOpt = tf.train.rmsprop(0.01, 0.9, 0.9, 1e-7);
 * await tfOpt.setWeights(tfjsWeights(opt, tf.tensor, vars, tfOpt.getConfig()));
 * // then tfOpt.applyGradients({ w: gw, b: gb }): the variables' order
 * ```
 */
export function tfjsWeights<T>(
  opt: RMSProp,
  tensor: (values: Float32Array | Int32Array, shape: number[], dtype: 'float32' | 'int32') => T,
  variables?: readonly TFJSVariableLike[],
  config?: TFJSConfig,
): TFJSNamedTensor<T>[] {
  if (typeof tensor !== 'function') throw new TypeError(invalid(SAVE, 'tensor', 'a function (tf.tensor)', tensor));
  const state = opt.stateDict();
  const centered = checkGroups(state, SAVE, config);
  const params = paramsOf(state);
  const n = params.length;
  if (state.updates > INT32_MAX) throw new RangeError(invalid(SAVE, 'update count', `at most ${INT32_MAX} (TFJS holds iter as an int32)`, state.updates));
  let order: { readonly param: Param; readonly name: string; readonly shape: number[] }[];
  if (variables === undefined) {
    order = params.map((param, j) => ({ param, name: param.saved.name ?? String(j), shape: [param.saved.squareAvg.length] }));
  } else {
    if (!Array.isArray(variables) || variables.length !== n) {
      throw new Error(invalid(SAVE, 'variables', `an array of ${n} TFJS variables, one per parameter, in applyGradients' order`, variables));
    }
    const byName = params.every((p) => p.saved.name !== null);
    const named = new Map(params.map((p) => [p.saved.name, p]));
    const seen = new Map<string, number>();
    order = variables.map((v: Partial<TFJSVariableLike> | null | undefined, k) => {
      const path = `variables[${k}]`;
      if (typeof v !== 'object' || v === null || typeof v.name !== 'string' || v.name === '') {
        throw new TypeError(invalid(SAVE, path, 'a TFJS variable (a non-empty name and a shape)', v));
      }
      const name = v.name;
      const size = sizeOf(v.shape, SAVE, `${path}.shape`);
      const twin = seen.get(name);
      if (twin !== undefined) throw new Error(invalid(SAVE, `${path}.name`, `a name used once (variables[${twin}] has it too)`, name));
      seen.set(name, k);
      const param = byName ? named.get(name) : params[k]!;
      if (param === undefined) {
        throw new Error(invalid(SAVE, `${path}.name`, `the name of a parameter: ${params.map((p) => `"${p.saved.name}"`).join(', ')}`, name));
      }
      const length = param.saved.squareAvg.length;
      if (size !== length) throw new Error(`${SAVE}: invalid ${path}.shape: expected ${elements(length)}, the length of ${param.where}, got ${shapeText(v.shape!, size)}`);
      return { param, name, shape: [...v.shape!] };
    });
  }
  const f32 = (b: FloatArray): Float32Array => (b instanceof Float32Array ? b : Float32Array.from(b));
  const slots = (kind: Kind): { name: string; values: Float32Array; shape: number[] }[] =>
    order.map(({ param: { saved, group }, name, shape }) => {
      const b = kind === 'rms' ? saved.squareAvg : kind === 'mg' ? saved.gradAvg : group.hyper.momentum > 0 ? saved.momentumBuffer : null;
      return { name: `${name}/${kind}`, values: b === null ? new Float32Array(saved.squareAvg.length) : f32(b), shape };
    });
  const all = (centered ? CENTERED : PLAIN).flatMap(slots);
  const made: TFJSNamedTensor<T>[] = [];
  try {
    made.push({ name: 'iter', tensor: tensor(Int32Array.of(state.updates), [], 'int32') });
    for (const { name, values, shape } of all) made.push({ name, tensor: tensor(values, shape, 'float32') });
  } catch (error) {
    // All or nothing: the tensors made so far are nobody's once this throws (TFJS would keep them).
    for (const m of made) {
      const dispose = (m.tensor as { dispose?: unknown }).dispose;
      if (typeof dispose === 'function') dispose.call(m.tensor);
    }
    throw error;
  }
  return made;
}
