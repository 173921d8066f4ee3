import { decodeFloats, decodeInts, encodeArray } from './base64.js';
import { typeName } from './checks.js';
import { describe } from './describe.js';
import { checkFrozen, checkHyper, checkOptions, resolveOptions } from './options.js';
import { at } from './param-groups.js';
import type { ParamGroup } from './param-groups.js';
import { zerosLike } from './rmsprop-step.js';
import type { GroupHyper } from './options.js';
import type { FloatArray, RMSPropHyper, RMSPropState } from './rmsprop-step.js';

/** The format tag of a saved state. */
const FORMAT = 'rmsprop-state';
/** The version this release writes and reads. */
const VERSION = 1;

/**
 * The saved state of one parameter: its name (or `null`), element type and length, update
 * count, and each state buffer as little-endian base64 (`null` when the buffer does not exist).
 *
 * @example
 * ```ts
 * const p: SavedParamState = opt.stateDict().groups[0]!.params[0]!;
 * p.dtype;     // 'float32'
 * p.squareAvg; // 'AAAAAAAAAAA=' (two float32 zeros)
 * ```
 */
export interface SavedParamState {
  readonly name: string | null;
  readonly dtype: 'float32' | 'float64';
  readonly length: number;
  readonly step: number;
  readonly squareAvg: string;
  readonly gradAvg: string | null;
  readonly momentumBuffer: string | null;
  /** With gradient accumulation: the sum of the gradients accumulated so far in the window. */
  readonly gradSum: string | null;
  /** After `sparseStep` in exact mode: per row, the update it is current as of (Int32, base64). */
  readonly rowsCurrent: string | null;
}

/**
 * The saved state of one parameter group: its hyperparameters and its parameters' states, in
 * the group's order. A learning-rate schedule (a function) cannot be saved as JSON: it is
 * recorded as `lr: 'schedule'`, and loading such a state needs the group to have its schedule.
 *
 * @example
 * ```ts
 * const g: SavedGroupState = opt.stateDict().groups[0]!;
 * g.hyper.lr; // the group's learning rate when it was saved
 * ```
 */
export interface SavedGroupState {
  readonly hyper: Omit<RMSPropHyper, 'lr'> & { readonly lr: number | 'schedule'; readonly frozen: boolean };
  readonly params: readonly SavedParamState[];
}

/**
 * Everything an `RMSProp` optimizer holds, as a plain JSON-safe object: `JSON.stringify` it,
 * store it, and `loadStateDict(JSON.parse(text))` restores the run bit for bit.
 *
 * @example
 * ```ts
 * const text = JSON.stringify(opt.stateDict());
 * // ... later, with an optimizer built over the same parameters:
 * opt.loadStateDict(JSON.parse(text));
 * ```
 */
export interface RMSPropStateDict {
  /** Always `'rmsprop-state'`. */
  readonly format: string;
  /** The format version: `1`. */
  readonly version: number;
  readonly nonFinite: 'throw' | 'skip' | 'apply';
  readonly skippedSteps: number;
  /** Updates applied so far: where a learning-rate schedule resumes. */
  readonly updates: number;
  /** With gradient accumulation: calls accumulated in the current window. */
  readonly accumulated: number;
  /** The optimizer's gradient handling: `accumulate`, and the clipping limits (`null`: off). */
  readonly gradients: {
    readonly accumulate: number;
    readonly clipValue: number | null;
    readonly clipNorm: number | null;
    readonly clipGlobalNorm: number | null;
  };
  readonly groups: readonly SavedGroupState[];
}

/** Builds the saved form of an optimizer's groups and states; `gradients` goes in as is (the caller makes it fresh). @internal */
export function saveState(
  groups: readonly ParamGroup[],
  states: readonly (readonly RMSPropState[])[],
  nonFinite: 'throw' | 'skip' | 'apply',
  skippedSteps: number,
  updates: number,
  accumulated: number,
  gradSums: readonly (FloatArray | null)[],
  rowsCurrent: ReadonlyMap<object, Int32Array>,
  gradients: RMSPropStateDict['gradients'],
): RMSPropStateDict {
  let slot = 0;
  return {
    format: FORMAT,
    version: VERSION,
    nonFinite,
    skippedSteps,
    updates,
    accumulated,
    gradients,
    groups: groups.map((group, gi) => {
      const hyper = resolveOptions(group);
      return {
        hyper: { ...hyper, lr: typeof hyper.lr === 'function' ? 'schedule' : hyper.lr },
        params: group.params.map((param, i): SavedParamState => {
          const s = states[gi]![i]!;
          // A buffer the options need but that is not allocated yet (a feature switched on, no
          // step since) would start at zero: save it as zeros, so the saved state is complete.
          const optional = (buffer: FloatArray | null, needed: boolean): string | null =>
            buffer !== null ? encodeArray(buffer) : needed ? encodeArray(zerosLike(s.squareAvg)) : null;
          return {
            name: param.name ?? null,
            dtype: s.squareAvg instanceof Float64Array ? 'float64' : 'float32',
            length: s.squareAvg.length,
            step: s.step,
            squareAvg: encodeArray(s.squareAvg),
            gradAvg: optional(s.gradAvg, group.centered),
            momentumBuffer: optional(s.momentumBuffer, group.momentum > 0),
            gradSum: optional(gradSums[slot++] ?? null, false),
            rowsCurrent: rowsCurrent.has(param) ? encodeArray(rowsCurrent.get(param)!) : null,
          };
        }),
      };
    }),
  };
}

/** What a checked load writes: new hyperparameters per group and new contents per state. @internal */
export interface LoadPlan {
  readonly nonFinite: 'throw' | 'skip' | 'apply';
  readonly skippedSteps: number;
  readonly updates: number;
  readonly accumulated: number;
  readonly clip: readonly [number | null, number | null, number | null];
  readonly hyper: readonly GroupHyper[];
  /** Per group, per parameter (the optimizer's order): the state to restore. */
  readonly states: readonly (readonly RestoredState[])[];
}

/** @internal */
export interface RestoredState {
  readonly step: number;
  readonly squareAvg: FloatArray;
  readonly gradAvg: FloatArray | null;
  readonly momentumBuffer: FloatArray | null;
  readonly gradSum: FloatArray | null;
  readonly rowsCurrent: Int32Array | null;
}

const P = 'RMSProp.loadStateDict';

function fail(message: string): never {
  throw new Error(`${P}: ${message}`);
}

function isRecord(x: unknown): x is Readonly<Record<string, unknown>> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/**
 * Checks a saved state against the optimizer's groups and decodes every buffer, writing
 * nothing. Parameters with a name are matched by name, the others by position; sizes and
 * element types are checked for every pair. Throws an `Error` that says what does not match.
 *
 * @internal
 */
export function planLoad(saved: unknown, groups: readonly ParamGroup[], accumulate: number): LoadPlan {
  if (!isRecord(saved)) fail(`expected a state object from stateDict(), got ${describe(saved)}`);
  if (saved['format'] !== FORMAT) {
    fail(`not an rmsprop state: format is ${describe(saved['format'])}, expected string "${FORMAT}"`);
  }
  if (saved['version'] !== VERSION) {
    fail(`unsupported version ${describe(saved['version'])}: this release reads version ${VERSION}`);
  }
  const nonFinite = saved['nonFinite'];
  if (nonFinite !== 'throw' && nonFinite !== 'skip' && nonFinite !== 'apply') {
    fail(`invalid nonFinite: expected 'throw', 'skip' or 'apply', got ${describe(nonFinite)}`);
  }
  const count = (key: 'skippedSteps' | 'updates' | 'accumulated'): number => {
    const value = saved[key];
    if (!isCount(value)) fail(`invalid ${key}: expected a whole number >= 0, got ${describe(value)}`);
    return value;
  };
  const skippedSteps = count('skippedSteps');
  const updates = count('updates');
  const gradients = saved['gradients'];
  if (!isRecord(gradients)) fail(`invalid gradients: expected an object, got ${describe(gradients)}`);
  if (gradients['accumulate'] !== accumulate) {
    fail(`the state was saved with accumulate ${describe(gradients['accumulate'])}, this optimizer accumulates ${accumulate}`);
  }
  const clip = (['clipValue', 'clipNorm', 'clipGlobalNorm'] as const).map((name) => {
    const v = gradients[name];
    if (v !== null && (typeof v !== 'number' || !(v > 0) || v === Infinity)) {
      fail(`invalid ${name}: expected null or a finite number > 0, got ${describe(v)}`);
    }
    return v;
  }) as unknown as readonly [number | null, number | null, number | null];
  const accumulated = count('accumulated');
  if (accumulated >= accumulate && accumulated > 0) {
    fail(`the state holds ${accumulated} accumulated gradients, but this optimizer applies every ${accumulate} (accumulate)`);
  }
  const savedGroups = saved['groups'];
  if (!Array.isArray(savedGroups)) fail(`invalid groups: expected an array, got ${describe(savedGroups)}`);
  if (savedGroups.length !== groups.length) {
    fail(`the state has ${savedGroups.length} parameter groups, this optimizer ${groups.length}`);
  }

  // Every saved entry, checked for shape, and the named ones by name.
  const entries: Readonly<Record<string, unknown>>[][] = [];
  const byName = new Map<string, readonly [number, number]>();
  const hyper: GroupHyper[] = [];
  savedGroups.forEach((g: unknown, gi) => {
    if (!isRecord(g)) fail(`invalid group ${gi}: expected an object, got ${describe(g)}`);
    if (!isRecord(g['hyper'])) fail(`invalid hyper of group ${gi}: expected an object, got ${describe(g['hyper'])}`);
    // A schedule was saved as 'schedule': the group must bring its own (functions are not JSON).
    const schedule = g['hyper']['lr'] === 'schedule';
    const current = groups[gi]!.lr;
    if (schedule && typeof current !== 'function') {
      fail(`group ${gi} was saved with a learning-rate schedule: give the group its schedule (lr: a function) before loading`);
    }
    const h = (schedule ? { ...g['hyper'], lr: 0 } : g['hyper']) as unknown as GroupHyper & RMSPropHyper;
    checkOptions(h, P, gi, []);
    checkHyper(h, P, gi);
    checkFrozen(h.frozen, P, gi);
    hyper.push(resolveOptions(h, schedule ? { lr: current } : {}));
    const params = g['params'];
    if (!Array.isArray(params)) fail(`invalid params of group ${gi}: expected an array, got ${describe(params)}`);
    const count = groups[gi]!.params.length;
    if (params.length !== count) {
      fail(`group ${gi} of the state has ${params.length} parameters, this optimizer's ${count}`);
    }
    entries.push(
      params.map((e: unknown, i) => {
        if (!isRecord(e)) fail(`invalid state ${at(gi, i)}: expected an object, got ${describe(e)}`);
        const name = e['name'];
        if (name !== null && (typeof name !== 'string' || name === '')) {
          fail(`invalid name of the state ${at(gi, i)}: expected a non-empty string or null, got ${describe(name)}`);
        }
        if (name !== null) {
          const other = byName.get(name);
          if (other !== undefined) fail(`the name ${JSON.stringify(name)} appears twice in the state: ${at(...other)} and ${at(gi, i)}`);
          byName.set(name, [gi, i]);
        }
        return e;
      }),
    );
  });

  const used = new Set<Readonly<Record<string, unknown>>>();
  const states = groups.map((group, gi) =>
    group.params.map((param, i): RestoredState => {
      let entry: Readonly<Record<string, unknown>>;
      let where: string;
      if (param.name !== undefined) {
        const found = byName.get(param.name);
        if (found === undefined) fail(`the state has no parameter named ${JSON.stringify(param.name)} ${at(gi, i)}`);
        entry = entries[found[0]]![found[1]]!;
        where = `of ${JSON.stringify(param.name)} ${at(gi, i)}`;
      } else {
        entry = entries[gi]![i]!;
        if (entry['name'] !== null) {
          fail(`the state ${at(gi, i)} belongs to the parameter named ${JSON.stringify(entry['name'])}, but this parameter has no name`);
        }
        where = at(gi, i);
      }
      if (used.has(entry)) fail(`two parameters would load the same saved state ${where}`);
      used.add(entry);
      return restore(entry, param.data, hyper[gi]!, where, accumulate);
    }),
  );
  return { nonFinite, skippedSteps, updates, accumulated, clip, hyper, states };
}

function restore(
  e: Readonly<Record<string, unknown>>,
  data: FloatArray,
  hyper: GroupHyper,
  where: string,
  accumulate: number,
): RestoredState {
  const dtype = data instanceof Float64Array ? 'float64' : 'float32';
  if (e['dtype'] !== dtype) {
    fail(`the state ${where} holds ${describe(e['dtype'])} values, the parameter is a ${typeName(data)}`);
  }
  if (e['length'] !== data.length) {
    fail(`the state ${where} has length ${describe(e['length'])}, the parameter ${data.length}`);
  }
  const step = e['step'];
  if (!isCount(step)) fail(`invalid step of the state ${where}: expected a whole number >= 0, got ${describe(step)}`);
  const buffer = (key: 'squareAvg' | 'gradAvg' | 'momentumBuffer' | 'gradSum', needed: string | null): FloatArray | null => {
    const text = e[key];
    if (text === null || text === undefined) {
      if (needed !== null) fail(`the state ${where} has no ${key}, which ${needed} needs`);
      return null;
    }
    if (typeof text !== 'string') fail(`invalid ${key} of the state ${where}: expected a base64 string, got ${describe(text)}`);
    const decoded = decodeFloats(text, dtype, data.length);
    if (typeof decoded === 'string') fail(`${key} of the state ${where} ${decoded}`);
    return decoded;
  };
  return {
    step,
    squareAvg: buffer('squareAvg', 'every state')!,
    gradAvg: buffer('gradAvg', hyper.centered ? 'centered' : null),
    momentumBuffer: buffer('momentumBuffer', hyper.momentum > 0 ? `momentum ${hyper.momentum}` : null),
    gradSum: accumulate > 1 ? buffer('gradSum', null) : none(e['gradSum'], where),
    rowsCurrent: rows(e['rowsCurrent'], data.length, step, where),
  };
}

/** The per-row currency of an exact sparse parameter: whole rows, each current as of <= step. */
function rows(text: unknown, length: number, step: number, where: string): Int32Array | null {
  if (text === null || text === undefined) return null;
  const current = typeof text === 'string' ? decodeInts(text) : null;
  if (current === null || current.length === 0 || length % current.length !== 0 || current.some((u) => u < 0 || u > step)) {
    fail(`invalid rowsCurrent of the state ${where}: expected base64 of one update count (0 to ${step}) per row`);
  }
  return current;
}

/** Without accumulation a saved gradient sum has nowhere to go. */
function none(gradSum: unknown, where: string): null {
  if (gradSum !== null && gradSum !== undefined) {
    fail(`the state ${where} holds accumulated gradients (gradSum), but this optimizer does not accumulate (accumulate: 1)`);
  }
  return null;
}
