import { at, checkFloatArray } from './checks.js';
import { formatValue } from './format.js';
import { checkOptions, resolveOptions } from './options.js';
import type { GroupHyper, RMSPropOptions } from './options.js';
import type { FloatArray } from './rmsprop-step.js';

/**
 * A parameter as the optimizer sees it: any object with a `data` buffer and a `grad` buffer of
 * the same length and element type, such as an autodiff engine's own tensor object.
 *
 * `grad` is read at every step, so an engine may swap gradient buffers between steps; `null`
 * means "no gradient this step": the parameter and its state are left as they are. `name`, when
 * given, must be unique within the optimizer.
 *
 * @example
 * ```ts
 * const w: ParamRef<Float32Array> = { data: new Float32Array(16), grad: new Float32Array(16), name: 'w' };
 * ```
 */
export interface ParamRef<T extends FloatArray = FloatArray> {
  /** The parameter values, updated in place by `step()`. */
  readonly data: T;
  /** The gradient, same length and type as `data`, or `null` to skip this parameter. */
  readonly grad: T | null;
  /** Optional name, unique within the optimizer. */
  readonly name?: string;
}

/**
 * A parameter group as given to the constructor or to `addParamGroup`: its parameters and any
 * options that differ from the optimizer's.
 *
 * @example
 * ```ts
 * const groups: ParamGroupSpec[] = [
 *   { params: [w1, w2] },                 // the optimizer's options
 *   { params: [bias], weightDecay: 0 },   // its own weight decay
 * ];
 * ```
 */
export interface ParamGroupSpec extends RMSPropOptions {
  /** The group's parameters; none may belong to another group. */
  readonly params: readonly ParamRef[];
}

/**
 * A registered parameter group: its parameters and every hyperparameter, resolved. The
 * hyperparameters are read at every `step()`, so assigning to them is how a schedule works.
 * They are validated at every step; an invalid value makes `step()` throw before it writes.
 *
 * @example
 * ```ts
 * for (let epoch = 0; epoch < 10; epoch++) {
 *   opt.paramGroups[0]!.lr = 0.01 * 0.9 ** epoch;
 *   trainOneEpoch();
 * }
 * ```
 */
export interface ParamGroup extends Mutable<GroupHyper> {
  /** The group's parameters (frozen). */
  readonly params: readonly ParamRef[];
}

/** `T` with every field writable. */
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Splits the constructor's `params` argument into group specs: an array of parameters is one
 * group, an array of groups is taken as is.
 *
 * @internal
 */
export function toGroupSpecs(params: unknown, prefix: string): readonly unknown[] {
  if (!Array.isArray(params)) {
    throw new TypeError(
      `${prefix}: invalid params: expected an array of parameters or of parameter groups, got ${formatValue(params)}`,
    );
  }
  if (params.length === 0) throw new RangeError(`${prefix}: invalid params: the array is empty`);
  const isGroup = (x: unknown): boolean => {
    try {
      return typeof x === 'object' && x !== null && 'params' in x;
    } catch {
      return false; // a revoked Proxy: reported as a parameter that cannot be read
    }
  };
  const groups = isGroup(params[0]);
  for (let i = 1; i < params.length; i++) {
    if (isGroup(params[i]) !== groups) {
      throw new TypeError(
        `${prefix}: invalid params: entry 0 is a ${groups ? 'group' : 'parameter'} but entry ${i} is not; pass parameters or groups, not both`,
      );
    }
  }
  return groups ? params : [{ params }];
}

/** A parameter as registration read it: its object, its data and name (each read once), and where. @internal */
export interface Located {
  readonly param: ParamRef;
  readonly data: FloatArray;
  readonly name: string | undefined;
  readonly group: number;
  readonly index: number;
}

/** What the checks of a registration need of a parameter, of any kind: who it is, where, and its name. @internal */
export interface Who<P = ParamRef> {
  readonly param: P;
  readonly name: string | undefined;
  readonly group: number;
  readonly index: number;
}

/** A registered group of parameters of kind `P` (`ParamGroup` for typed arrays). @internal */
export type GroupOf<P> = Mutable<GroupHyper> & { readonly params: readonly P[] };

/**
 * A parameter's fields `keys`, each read once, and its `name` checked: what registration reads
 * of a parameter of any kind. A parameter that is not an object, or a getter that throws, is
 * named by group and index.
 *
 * @internal
 */
export function readParam<K extends string>(param: unknown, keys: readonly K[], prefix: string, group: number, index: number): { readonly [k in K]: unknown } & { readonly name: string | undefined } {
  if (typeof param !== 'object' || param === null) {
    throw new TypeError(
      `${prefix}: invalid param: expected an object with data and grad, got ${formatValue(param)} ${at(group, index)}`,
    );
  }
  const read: Record<string, unknown> = {};
  try {
    for (const k of [...keys, 'name']) read[k] = (param as Record<string, unknown>)[k];
  } catch (error) {
    throw new TypeError(`${prefix}: invalid param: reading its ${keys.join(', ')} or name threw (${error instanceof Error ? error.message : formatValue(error)}) ${at(group, index)}`, { cause: error });
  }
  const name = read['name'];
  if (name !== undefined && (typeof name !== 'string' || name === '')) {
    throw new TypeError(
      `${prefix}: invalid name: expected a non-empty string or no name, got ${formatValue(name)} ${at(group, index)}`,
    );
  }
  return read as { readonly [k in K]: unknown } & { readonly name: string | undefined };
}

function checkParam(param: unknown, prefix: string, group: number, index: number): Located {
  const read = readParam(param, ['data'], prefix, group, index);
  const data = checkFloatArray(read.data, prefix, 'data', at(group, index), false)!;
  const name = read.name;
  // What was read is what is registered: a getter is not read twice.
  return { param: param as ParamRef, data, name, group, index };
}

/**
 * Checks new group specs against the parameters already registered (`existing`, in
 * registration order, `groupCount` groups) and resolves their options. Pure: nothing is
 * registered or written; the caller commits the returned groups and their parameters.
 *
 * Errors: a group that is not an object or has no parameters, bad options, a parameter that is
 * not `{ data, grad }`, a parameter given twice, and a name used twice. Whether data share
 * memory is checked when the groups are registered (memory.ts, `checkNew`).
 *
 * @internal
 */
export function buildGroups(
  specs: readonly unknown[],
  base: GroupHyper,
  existing: readonly Who[],
  groupCount: number,
  prefix: string,
): { readonly groups: ParamGroup[]; readonly params: Located[][] } {
  return buildGroupsOf(specs, base, existing, groupCount, prefix, checkParam);
}

/**
 * {@link buildGroups} for parameters of any kind (the WebGPU optimizer's buffers): `check` reads
 * and checks one parameter, and says who it is.
 *
 * @internal
 */
export function buildGroupsOf<P, L extends Who<P>>(
  specs: readonly unknown[],
  base: GroupHyper,
  existing: readonly Who<P>[],
  groupCount: number,
  prefix: string,
  check: (param: unknown, prefix: string, group: number, index: number) => L,
): { readonly groups: GroupOf<P>[]; readonly params: L[][] } {
  const groups: GroupOf<P>[] = [];
  const located: L[][] = [];
  specs.forEach((spec, k) => {
    const group = groupCount + k;
    checkOptions(spec, prefix, group, ['params']);
    const params: unknown = (spec as { readonly params?: unknown }).params;
    if (!Array.isArray(params)) {
      throw new TypeError(`${prefix}: invalid params in group ${group}: expected an array, got ${formatValue(params)}`);
    }
    if (params.length === 0) throw new RangeError(`${prefix}: group ${group} has no parameters`);
    const items = params.map((p: unknown, index) => check(p, prefix, group, index));
    located.push(items);
    groups.push(makeGroup(Object.freeze(items.map((item) => item.param)), resolveOptions(base, spec as RMSPropOptions)));
  });
  checkDistinct<P>([...existing, ...located.flat()], prefix);
  return { groups, params: located };
}

/** A group object with one fixed shape; `params` cannot be reassigned. */
function makeGroup<P>(params: readonly P[], hyper: GroupHyper): GroupOf<P> {
  const group = { params, ...hyper };
  Object.defineProperty(group, 'params', { value: params, enumerable: true, writable: false, configurable: false });
  return group;
}

/** No parameter twice, no name twice. (Memory shared with another's data is a check of memory.ts.) */
function checkDistinct<P>(all: readonly Who<P>[], prefix: string): void {
  const seen = new Map<P, Who<P>>();
  const names = new Map<string, Who<P>>();
  for (const item of all) {
    const first = seen.get(item.param);
    if (first !== undefined) {
      throw new Error(
        `${prefix}: a parameter appears twice: ${at(first.group, first.index)} and ${at(item.group, item.index)}`,
      );
    }
    seen.set(item.param, item);
    const name = item.name;
    if (name !== undefined) {
      const other = names.get(name);
      if (other !== undefined) {
        throw new Error(
          `${prefix}: duplicate parameter name ${JSON.stringify(name)}: ${at(other.group, other.index)} and ${at(item.group, item.index)}`,
        );
      }
      names.set(name, item);
    }
  }
}

/**
 * The registered parameter a saved entry names: by `name` when it has one, else by `group` and
 * `index` (a parameter with a name must be found by it). Throws naming the entry's path.
 *
 * @internal
 */
export function locate(groups: readonly ParamGroup[], entry: unknown, prefix: string, path: string): { param: ParamRef; group: number; index: number } {
  const e = (typeof entry === 'object' && entry !== null ? entry : {}) as { readonly name?: unknown; readonly group?: unknown; readonly index?: unknown };
  const { name, group, index } = e;
  let gi = -1;
  let i = -1;
  if (typeof name === 'string') {
    gi = groups.findIndex((g) => (i = g.params.findIndex((p) => p.name === name)) >= 0);
  } else if (name === null && typeof group === 'number' && typeof index === 'number' && groups[group]?.params[index]?.name === undefined) {
    [gi, i] = [group, index];
  }
  const param = groups[gi]?.params[i];
  if (param === undefined) {
    throw new Error(
      `${prefix}: invalid ${path}: expected a parameter of this optimizer (by name, or by group and index when it has none), got name ${formatValue(name)}, group ${formatValue(group)}, index ${formatValue(index)}`,
    );
  }
  return { param, group: gi, index: i };
}
