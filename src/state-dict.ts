// What RMSProp.stateDict() gives and loadStateDict() takes: a plain object of typed-array
// copies, numbers and strings (structured-clone safe), and the checks a load runs before it
// writes anything. Text and byte encodings are codecs beside this (state-json.ts).
import { at, checkNumber, count, invalid, isFloatArray } from './checks.js';
import { OPTION_NAMES, checkHyper, checkOptions, checkPolicy, inGroup, isFrozen, resolveOptions } from './options.js';
import type { GroupHyper, NonFinitePolicy } from './options.js';
import type { RMSPropHyper } from './rmsprop-step.js';
import type { FloatArray } from './rmsprop-step.js';
import { attached, stateBuffers } from './memory.js';
import type { GroupRecord, Registry, Slot } from './records.js';
import { allocate } from './slots.js';

/** The format tag of a saved state. */
const FORMAT = 'rmsprop-state';
/** The version this release writes and reads (1 was base64 JSON: `stateFromJSON` reads it). */
const VERSION = 2;

/**
 * The saved state of one parameter: its name (or `null`), update count, and copies of its state
 * buffers (`null` where the buffer does not exist). The element type and length are the
 * buffers'.
 *
 * @example
 * ```ts
 * const p: SavedParamState = opt.stateDict().groups[0]!.params[0]!;
 * p.step;      // updates applied to the parameter
 * p.squareAvg; // a Float32Array copy
 * ```
 */
export interface SavedParamState {
  readonly name: string | null;
  readonly step: number;
  readonly squareAvg: FloatArray;
  readonly gradAvg: FloatArray | null;
  readonly momentumBuffer: FloatArray | null;
}

/**
 * The saved state of one parameter group: its hyperparameters and its parameters' states, in
 * the group's order. A learning-rate schedule (a function) is recorded as `lr: 'schedule'`:
 * loading such a state needs the group to have its schedule.
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
 * Everything an `RMSProp` optimizer holds, as a plain object of typed-array copies, numbers and
 * strings, as PyTorch's `state_dict()` holds tensors: post it to a worker or store it in
 * IndexedDB as it is (structured clone), or encode it with `stateToJSON`.
 *
 * @example
 * ```ts
 * const saved = opt.stateDict();
 * worker.postMessage(saved); // typed arrays and all
 * // ... later, with an optimizer built over the same parameters:
 * opt.loadStateDict(saved);
 * ```
 */
export interface RMSPropStateDict {
  /** Always `'rmsprop-state'`. */
  readonly format: 'rmsprop-state';
  /** The format version: `2`. */
  readonly version: number;
  readonly nonFinite: NonFinitePolicy;
  readonly skippedSteps: number;
  /** Updates applied so far: where a learning-rate schedule resumes. */
  readonly updates: number;
  readonly groups: readonly SavedGroupState[];
}

const SAVE = 'RMSProp.stateDict';
const P = 'RMSProp.loadStateDict';

/** Every hyperparameter of a group, checked as a step checks them (a schedule's values are not called). @internal */
export function checkedHyper(group: GroupHyper, prefix: string, gi: number): GroupHyper {
  const h = resolveOptions(group, {}, prefix, gi);
  const lr = h.lr;
  checkHyper({ ...h, lr: typeof lr === 'function' ? 0 : lr } as RMSPropHyper, prefix, gi);
  isFrozen(h, prefix, gi);
  return h;
}

/**
 * Builds the saved form of an optimizer's records: copies of the state buffers, or (`copy`
 * false, for an encoder that copies them itself at once) the live buffers.
 *
 * @internal
 */
export function saveState(records: readonly GroupRecord[], nonFinite: NonFinitePolicy, skippedSteps: number, updates: number, copy = true): RMSPropStateDict {
  const hypers = records.map((r) => checkedHyper(r.group, SAVE, r.index));
  for (const r of records) r.slots.forEach((s) => attached(s, SAVE));
  return {
    format: FORMAT,
    version: VERSION,
    nonFinite,
    skippedSteps,
    updates,
    groups: records.map((r, gi) => {
      const hyper = hypers[gi]!;
      return {
        hyper: { ...hyper, lr: typeof hyper.lr === 'function' ? 'schedule' : hyper.lr },
        params: r.slots.map((s): SavedParamState => {
          const { squareAvg, gradAvg, momentumBuffer } = s.state;
          // A buffer the options need but that is not allocated yet (a feature switched on, no
          // step since) would start at zero: save it as zeros, so the saved state is complete.
          const optional = (buffer: FloatArray | null, needed: boolean): FloatArray | null =>
            buffer !== null ? (copy ? buffer.slice() : buffer) : needed ? squareAvg.slice().fill(0) : null;
          return {
            name: s.name ?? null,
            step: s.state.step,
            squareAvg: copy ? squareAvg.slice() : squareAvg,
            gradAvg: optional(gradAvg, hyper.centered),
            momentumBuffer: optional(momentumBuffer, hyper.momentum > 0),
          };
        }),
      };
    }),
  };
}

/** What a checked load writes: hyperparameters per group, contents per slot. @internal */
export interface LoadPlan {
  readonly nonFinite: NonFinitePolicy;
  readonly skippedSteps: number;
  readonly updates: number;
  readonly hyper: readonly GroupHyper[];
  /** Per group, per parameter (the optimizer's order): the state to restore. */
  readonly states: readonly (readonly SavedParamState[])[];
}

type Entry = Readonly<Record<string, unknown>>;

/**
 * What a load is checked against, per group: its object (for a schedule) and its parameters as
 * registered. An `RMSProp`'s group records are these; the WebGPU optimizer's give no `state`.
 *
 * @internal
 */
export interface LoadTarget {
  readonly group: { readonly lr: unknown };
  readonly slots: readonly Target[];
}

/** A registered parameter as a load checks it: name, element type, length, and (on the CPU) its state. @internal */
export interface Target {
  readonly name: string | undefined;
  readonly f64: boolean;
  readonly length: number;
  readonly group: number;
  readonly index: number;
  readonly state?: Slot['state'];
}

/** Throws `RMSProp.loadStateDict: invalid <path>: expected <allowed>, got <value>`. */
function bad(prefix: string, path: string, allowed: string, value: unknown): never {
  throw new Error(invalid(prefix, path, allowed, value));
}

function record(prefix: string, x: unknown, path: string): Entry {
  return typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Entry) : bad(prefix, path, 'an object', x);
}

function list(prefix: string, x: unknown, path: string, n: number, what: string): readonly unknown[] {
  return Array.isArray(x) && x.length === n ? x : bad(prefix, path, `an array of ${n} ${what}`, x);
}

/**
 * Checks a saved state against the optimizer's records, writing nothing. Parameters with a name
 * are matched by name, the others by position; every buffer's element type and length are
 * checked against the state the parameter was registered with. Every message names the field
 * by its path in the saved state, its value and what is allowed.
 *
 * @internal
 */
export function planLoad(saved: unknown, records: readonly LoadTarget[], prefix: string = P): LoadPlan {
  const { format, version, nonFinite, skippedSteps, updates, groups } = record(prefix, saved, 'state');
  if (format !== FORMAT) bad(prefix, 'format', `"${FORMAT}" (a state from stateDict())`, format);
  if (version !== VERSION) bad(prefix, 'version', `${VERSION}${version === 1 ? ' (version 1 was text: read it with stateFromJSON)' : ''}`, version);
  const plan = {
    nonFinite: checkPolicy(nonFinite, prefix),
    skippedSteps: checkNumber(skippedSteps, count, prefix, 'skippedSteps'),
    updates: checkNumber(updates, count, prefix, 'updates'),
    hyper: [] as GroupHyper[],
    states: [] as SavedParamState[][],
  };
  const saves = list(prefix, groups, 'groups', records.length, 'groups');
  for (const r of records) for (const s of r.slots) if (s.state !== undefined) attached(s as Required<Target>, prefix);
  // Every saved entry, with its path, and the named ones by name.
  const entries: [Entry, string][][] = [];
  const byName = new Map<string, [Entry, string]>();
  saves.forEach((g, gi) => {
    const path = `groups[${gi}]`;
    const { hyper, params } = record(prefix, g, path);
    const h = record(prefix, hyper, `${path}.hyper`);
    // A schedule was saved as 'schedule': the group must bring its own (functions are not data).
    const current = records[gi]!.group.lr;
    if (h['lr'] === 'schedule' && typeof current !== 'function') {
      bad(prefix, `${path}.hyper.lr`, 'a number; "schedule" needs the group to have its schedule (lr: a function) before loading', 'schedule');
    }
    const given = h['lr'] === 'schedule' ? { ...h, lr: current } : h;
    checkOptions(given, prefix, gi, []);
    plan.hyper.push(checkedHyper(resolveOptions(given as unknown as GroupHyper, {}, prefix, gi), prefix, gi));
    const n = records[gi]!.slots.length;
    entries.push(
      list(prefix, params, `${path}.params`, n, "parameters' states").map((e, i): [Entry, string] => {
        const at = `${path}.params[${i}]`;
        const entry = record(prefix, e, at);
        const name = entry['name'];
        if (name !== null && (typeof name !== 'string' || name === '')) bad(prefix, `${at}.name`, 'a non-empty string or null', name);
        if (name !== null) {
          if (byName.has(name)) bad(prefix, `${at}.name`, `a name used once (${byName.get(name)![1]} has it too)`, name);
          byName.set(name, [entry, at]);
        }
        return [entry, at];
      }),
    );
  });
  const used = new Set<Entry>();
  records.forEach((r, gi) =>
    plan.states.push(
      r.slots.map((s, i): SavedParamState => {
        const [entry, path] =
          s.name === undefined
            ? entries[gi]![i]!
            : (byName.get(s.name) ?? missing(prefix, s.name, gi, i, [...byName.keys()]));
        if (s.name === undefined && entry['name'] !== null) bad(prefix, `${path}.name`, `null: ${at(gi, i)} has no name`, entry['name']);
        if (used.has(entry)) bad(prefix, path, `the state of one parameter, not of two (${at(gi, i)} matches it too)`, entry);
        used.add(entry);
        return restore(prefix, entry, path, s, plan.hyper[gi]!);
      }),
    ),
  );
  return plan;
}

function missing(prefix: string, name: string, gi: number, i: number, names: readonly string[]): never {
  const have = names.length === 0 ? 'no names' : `the names ${names.map((n) => JSON.stringify(n)).join(', ')}`;
  throw new Error(`${prefix}: invalid groups: expected a state named ${JSON.stringify(name)} for ${at(gi, i)}, got ${have}`);
}

function restore(prefix: string, e: Entry, path: string, s: Target, hyper: GroupHyper): SavedParamState {
  const type = `a ${s.f64 ? 'Float64Array' : 'Float32Array'} of length ${s.length}`;
  const buffer = (key: string, needed: string | false): FloatArray | null => {
    const b = e[key];
    if ((b === null || b === undefined) && needed === false) return null;
    if (isFloatArray(b) && b instanceof Float64Array === s.f64 && b.length === s.length) return b;
    return bad(prefix, `${path}.${key}`, needed === false ? `${type} or null` : `${type} (${needed} needs it)`, b);
  };
  return {
    name: s.name ?? null,
    step: checkNumber(e['step'], count, prefix, `${path}.step`),
    squareAvg: buffer('squareAvg', 'every state')!,
    gradAvg: buffer('gradAvg', hyper.centered && 'centered'),
    momentumBuffer: buffer('momentumBuffer', hyper.momentum > 0 && `momentum ${hyper.momentum}`),
  };
}

/**
 * Checks that every option of every group object can be written (the objects are the user's:
 * frozen, read-only or accessor fields would fail half-way through a load).
 *
 * @internal
 */
export function checkWritable(records: readonly { readonly group: object; readonly index: number }[], prefix: string): void {
  for (const r of records) {
    for (const name of OPTION_NAMES) {
      const d = Object.getOwnPropertyDescriptor(r.group, name);
      if (d === undefined ? !Object.isExtensible(r.group) : d.writable !== true) {
        throw new Error(`${prefix}: cannot write ${name}${inGroup(r.index)}: the group object is frozen or ${name} is not a plain writable field; nothing was loaded`);
      }
    }
  }
}

/**
 * Writes a checked plan. The group objects are the user's and may have been frozen or given
 * read-only or accessor fields: they are checked first (plain writable fields only), so that
 * writing them cannot fail. Then the buffers (into the existing arrays, so references from
 * `getState` stay valid) and counts.
 *
 * @internal
 */
export function commitLoad(plan: LoadPlan, records: readonly GroupRecord[], registry: Registry): void {
  // The saved buffers were checked before user code (getters in the saved object) last ran:
  // one of them may since have been detached. No user code runs from here on.
  records.forEach((r, gi) =>
    r.slots.forEach((s, i) => {
      const p = plan.states[gi]![i]!;
      for (const b of stateBuffers(p)) {
        if (b !== null && b.length !== s.length) throw new Error(`${P}: a saved buffer of ${at(s.group, s.index)} was detached after it was checked; nothing was loaded`);
      }
    }),
  );
  checkWritable(records, P);
  // A saved buffer that is one of the optimizer's own (a state from getState() passed back, two
  // parameters' states swapped) would be overwritten before it is read: copy those first.
  const live = new Set<ArrayBufferLike>();
  for (const r of records) for (const { state } of r.slots) for (const b of stateBuffers(state)) if (b !== null) live.add(b.buffer);
  const own = <T extends FloatArray | null>(b: T): T => (b !== null && live.has(b.buffer) ? (b.slice() as T) : b);
  const states = plan.states.map((list) => list.map((p) => ({ ...p, squareAvg: own(p.squareAvg), gradAvg: own(p.gradAvg), momentumBuffer: own(p.momentumBuffer) })));
  records.forEach((r, gi) => {
    r.span = undefined;
    r.aligned = false;
    Object.assign(r.group, plan.hyper[gi]);
    const saved = states[gi]!;
    if (saved.some((p) => p.gradAvg !== null)) allocate(r.slots, 'gradAvg', registry.arena);
    if (saved.some((p) => p.momentumBuffer !== null)) allocate(r.slots, 'momentumBuffer', registry.arena);
    r.slots.forEach((s, i) => {
      const p = saved[i]!;
      s.owned = undefined;
      s.loads++;
      const state = s.state;
      state.squareAvg.set(p.squareAvg);
      state.gradAvg = p.gradAvg === null ? null : (state.gradAvg!.set(p.gradAvg), state.gradAvg);
      state.momentumBuffer = p.momentumBuffer === null ? null : (state.momentumBuffer!.set(p.momentumBuffer), state.momentumBuffer);
      state.step = p.step;
    });
  });
  registry.map = null;
}
