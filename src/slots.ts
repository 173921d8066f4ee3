// The optimizer's records: one per registered parameter (a slot) and one per group, how their
// state buffers are allocated, and the checks a step runs on each parameter's buffers.
import type { Arena } from './backend.js';
import { at, invalid, isFloatArray, overlaps } from './checks.js';
import { allFinite, firstNonFinite } from './finite.js';
import { formatValue } from './format.js';
import type { Mutable } from './options.js';
import type { Located, ParamGroup, ParamRef } from './param-groups.js';
import { rmspropDefaults, rmspropStep } from './rmsprop-step.js';
import type { FloatArray, RMSPropHyper, RMSPropState } from './rmsprop-step.js';

/** One registered parameter and everything that belongs to it. @internal */
export interface Slot {
  readonly param: ParamRef;
  /** Its name as registered (names are fixed at registration). */
  readonly name: string | undefined;
  readonly group: number;
  readonly index: number;
  /** Element count and type, fixed at registration: data, grad and state keep them for life. */
  readonly length: number;
  readonly f64: boolean;
  readonly state: RMSPropState;
  /**
   * The data and grad that last passed the checks. A typed array keeps its type, offset and
   * buffer for life, so the same pair with the same lengths needs no second look: an engine
   * that reuses its buffers pays two identity tests.
   */
  checkedData: FloatArray;
  checkedGrad: FloatArray | null;
  /** The step under way's data and grad, each read from the parameter once. */
  data: FloatArray;
  grad: FloatArray | null;
  /** Whether the arena holds its checked data, grad and state (`undefined`: to ask). */
  owned: boolean | undefined;
  /** What `getState` gives: a read-only view of `state`, made when first asked for. */
  view: Readonly<RMSPropState> | null;
}

type Kind = 'squareAvg' | 'gradAvg' | 'momentumBuffer';

/** One registered group: the user's group object, its slots, and the step under way's numbers. @internal */
export interface GroupRecord {
  readonly group: ParamGroup;
  readonly index: number;
  readonly slots: readonly Slot[];
  /** The hyperparameters of the step under way, `lr` a number: what the kernel reads. */
  readonly hyper: Mutable<RMSPropHyper>;
  /** Whether the step under way updates this group (it is not frozen). */
  active: boolean;
  /** Views over the whole group's buffers, for stepping it as one span; `undefined`: to work out (see {@link spanOf}). */
  span: Span | null | undefined;
  /** Whether every parameter has a gradient this step, and all the same update count. */
  whole: boolean;
  /** Whether a data or grad object read this step is not the pair its slot checked last. */
  changed: boolean;
  /**
   * Whether every parameter is known to have the same update count (they start so, and stepping
   * the whole group keeps them so): a step then need not read each count. Set to `false` by
   * anything that may step some of them alone (a partial step, `SparseRows`, a load).
   */
  aligned: boolean;
}

/** A group's parameters as one run: views over all their data, grads and state. @internal */
export interface Span {
  /** Elements in all. */
  readonly n: number;
  readonly data: FloatArray;
  readonly grad: FloatArray;
  readonly state: RMSPropState;
  /** Whether the arena holds all of it (`undefined`: to ask). */
  owned: boolean | undefined;
}

/**
 * Zeroed buffers for `slots`, one per slot, as adjacent views of as few blocks as possible: one
 * per element type, and one in the arena for the float32 parameters whose data live there.
 * Adjacent state is what lets a run of adjacent parameters be stepped as one span. The arena
 * block is one allocation: when it does not fit, a registration (`prefix` given) throws before
 * anything is allocated, and a buffer allocated later goes to an ordinary block instead (and
 * those parameters to the TS kernel).
 */
function zeroViews(slots: readonly Slot[], arena: Arena | null, prefix: string | null): FloatArray[] {
  const sizes = [0, 0, 0]; // float32, float64, arena
  const where = slots.map(({ checkedData: d }) => (d instanceof Float64Array ? 1 : arena?.owns(d) ? 2 : 0));
  slots.forEach((s, i) => (sizes[where[i]!]! += s.length));
  let inArena: FloatArray = new Float32Array(0);
  if (arena !== null && sizes[2]! > 0) {
    const free = Math.ceil(arena.capacity / 4) * 4 - arena.used;
    if (sizes[2]! <= free) {
      inArena = arena.alloc(sizes[2]!);
    } else if (prefix !== null) {
      throw new RangeError(`${prefix}: the arena is full: the state of these parameters needs ${sizes[2]} float32 values, ${free} are free; create a larger arena`);
    } else {
      where.forEach((w, i) => (where[i] = w === 2 ? 0 : w));
      sizes[0]! += sizes[2]!;
    }
  }
  const blocks = [new Float32Array(sizes[0]!), new Float64Array(sizes[1]!), inArena];
  const next = [0, 0, 0];
  return slots.map((s, i) => {
    const w = where[i]!;
    const start = next[w]!;
    next[w] = start + s.length;
    return blocks[w]!.subarray(start, start + s.length);
  });
}

/**
 * A read-only view of a state: the live buffers and count, which user code cannot reassign.
 * Made when first asked for, so that registration lays the records out close together.
 *
 * @internal
 */
export function viewOf(state: RMSPropState): Readonly<RMSPropState> {
  return Object.freeze({
    get squareAvg() {
      return state.squareAvg;
    },
    get gradAvg() {
      return state.gradAvg;
    },
    get momentumBuffer() {
      return state.momentumBuffer;
    },
    get step() {
      return state.step;
    },
  });
}

/**
 * Creates the slots of newly registered groups, with their state (`squareAvg` filled with the
 * group's `initialAccumulator`; `gradAvg` and `momentumBuffer` when its options need them).
 * Throws only when the arena is full, before anything is allocated.
 *
 * @internal
 */
export function createRecords(groups: readonly ParamGroup[], params: readonly (readonly Located[])[], arena: Arena | null, prefix: string): GroupRecord[] {
  const records = groups.map((group, k): GroupRecord => {
    const slots = params[k]!.map((p): Slot => {
      const state: RMSPropState = { squareAvg: p.data, gradAvg: null, momentumBuffer: null, step: 0 };
      return {
        param: p.param,
        name: p.name,
        group: p.group,
        index: p.index,
        length: p.data.length,
        f64: p.data instanceof Float64Array,
        state,
        checkedData: p.data,
        checkedGrad: null,
        data: p.data,
        grad: null,
        owned: undefined,
        view: null,
      };
    });
    return { group, index: slots[0]!.group, slots, hyper: { ...rmspropDefaults }, active: false, span: undefined, whole: false, changed: false, aligned: true };
  });
  // Every buffer of every new slot in one go, so that the arena is asked once; each kind of
  // buffer in slot order, so that adjacent parameters have adjacent state.
  const needs: [Slot, Kind][] = [];
  for (const kind of ['squareAvg', 'gradAvg', 'momentumBuffer'] as const) {
    for (const { group, slots } of records) {
      if (kind === 'squareAvg' || (kind === 'gradAvg' ? group.centered : group.momentum > 0)) for (const s of slots) needs.push([s, kind]);
    }
  }
  const views = zeroViews(needs.map(([s]) => s), arena, prefix);
  needs.forEach(([s, kind], i) => ((s.state as Mutable<RMSPropState>)[kind] = views[i]!));
  for (const { group, slots } of records) for (const s of slots) if (group.initialAccumulator !== 0) s.state.squareAvg.fill(group.initialAccumulator);
  return records;
}

/**
 * Gives every slot lacking it a zeroed `kind` buffer (a feature switched on after
 * registration, or a loaded state that has the buffer), in the arena when the data each slot
 * was last checked with lives there and the arena has room.
 *
 * @internal
 */
export function allocate(slots: readonly Slot[], kind: 'gradAvg' | 'momentumBuffer', arena: Arena | null): boolean {
  // Called at every step: no closure in here (one capturing a parameter allocates a context per call).
  for (let i = 0; i < slots.length; i++) if (slots[i]!.state[kind] === null) return fill(slots, kind, arena);
  return false;
}

function fill(slots: readonly Slot[], kind: 'gradAvg' | 'momentumBuffer', arena: Arena | null): true {
  const lacking = slots.filter((s) => s.state[kind] === null);
  const views = zeroViews(lacking, arena, null);
  lacking.forEach((s, i) => {
    s.state[kind] = views[i]!;
    s.owned = undefined;
  });
  return true;
}

/**
 * Reads every parameter's grad (from `grads` when given) and, when there is one, its data: once
 * each, in one pass, which is the only place a step runs user code (getters). Notes whether any
 * is not the pair checked last time, and whether the group can be stepped as one span (every
 * gradient there, one update count).
 *
 * @internal
 */
export function readRecord(r: GroupRecord, grads: ReadonlyMap<ParamRef, FloatArray | null> | undefined): void {
  const slots = r.slots;
  let whole = true;
  let changed = false;
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i]!;
    const param = s.param;
    const grad = (s.grad = grads === undefined ? param.grad : (grads.get(param) ?? null));
    if (grad === null) {
      whole = false;
      continue;
    }
    const data = (s.data = param.data);
    if (grad !== s.checkedGrad || data !== s.checkedData) changed = true;
  }
  if (whole && !r.aligned) {
    // Counts may differ (a partial step, a sparse update, a load): look, once, until they agree.
    const step = slots[0]!.state.step;
    let equal = true;
    for (let i = 1; i < slots.length; i++) if (slots[i]!.state.step !== step) equal = false;
    r.aligned = equal;
  }
  r.whole = whole && r.aligned;
  r.changed = changed;
}

/**
 * Checks what {@link readRecord} read, before anything is written. A pair not seen before gets
 * every check ({@link checkSlot}); a pair seen before only needs its lengths (a buffer can be
 * detached or shrunk since), which a group stepped as one span checks once, on its own views.
 *
 * @internal
 */
export function checkRecord(r: GroupRecord, prefix: string, index: MemoryIndex): void {
  const slots = r.slots;
  if (r.changed) {
    r.span = undefined;
    for (const s of slots) if (s.grad !== null && (s.grad !== s.checkedGrad || s.data !== s.checkedData)) checkSlot(s, prefix, index);
  }
  if (r.whole) {
    if (r.span === undefined) r.span = flat(slots);
    const span = r.span;
    if (span !== null) {
      if (span.data.length === span.n && span.grad.length === span.n && span.state.squareAvg.length === span.n) return;
      r.span = undefined; // detached or shrunk under it: the checks below say which
    }
  }
  for (const s of slots) {
    const n = s.length;
    if (s.grad !== null && (s.data.length !== n || s.grad.length !== n || s.state.squareAvg.length !== n)) checkSlot(s, prefix, index);
  }
}

/**
 * The group as one span when {@link readRecord} found it whole and its parameters, gradients and
 * each state buffer adjacent in one buffer each (the flat layout: views of one array, in order):
 * views over the whole run, stepped by one kernel call, the same arithmetic element for element
 * without a call per parameter. Otherwise `null`.
 *
 * Whether the layout is flat is worked out once (a view's `buffer` and `byteOffset` cost V8 some
 * 30 ns each) and kept until a buffer changes: a new data or grad object, a buffer allocated, a
 * state loaded (each sets `span` to `undefined`).
 *
 * @internal
 */
export function spanOf(r: GroupRecord): Span | null {
  if (!r.whole) return null;
  if (r.span === undefined) r.span = flat(r.slots);
  if (r.span !== null) r.span.state.step = r.slots[0]!.state.step;
  return r.span;
}

function flat(slots: readonly Slot[]): Span | null {
  const first = slots[0]!;
  const f = first.state;
  let n = 0;
  for (const { data, grad, state } of slots) {
    if (!next(first.data, data, n) || !next(first.grad, grad, n) || !next(f.squareAvg, state.squareAvg, n) || !next(f.gradAvg, state.gradAvg, n) || !next(f.momentumBuffer, state.momentumBuffer, n)) {
      return null;
    }
    n += data.length;
  }
  const view = <T extends FloatArray | null>(a: T): T => (a === null ? a : (new (a.constructor as Float32ArrayConstructor)(a.buffer, a.byteOffset, n) as T));
  return slots.length < 2 ? null : { n, data: view(first.data), grad: view(first.grad)!, state: { squareAvg: view(f.squareAvg), gradAvg: view(f.gradAvg), momentumBuffer: view(f.momentumBuffer), step: 0 }, owned: undefined };
}

/** Whether `b` starts `n` elements after `a` starts, in the same buffer (both null: true). */
function next(a: FloatArray | null, b: FloatArray | null, n: number): boolean {
  return a === null ? b === null : b !== null && a.buffer === b.buffer && b.byteOffset === a.byteOffset + n * a.BYTES_PER_ELEMENT && a.BYTES_PER_ELEMENT === b.BYTES_PER_ELEMENT;
}

/**
 * Gives a group's parameters the buffers `hyper` needs that they lack (a feature switched on
 * since: PyTorch raises there), forgetting the layout worked out for the old ones. Returns
 * `hyper`.
 *
 * @internal
 */
export function ensure(r: GroupRecord, hyper: RMSPropHyper, arena: Arena | null, index: MemoryIndex): RMSPropHyper {
  const centered = hyper.centered && allocate(r.slots, 'gradAvg', arena);
  const momentum = hyper.momentum > 0 && allocate(r.slots, 'momentumBuffer', arena);
  if (centered || momentum) {
    r.span = undefined;
    index.map = null;
  }
  return hyper;
}

/**
 * Readies a group for a feature beside the class that steps one of its parameters alone
 * (`SparseRows`, through the `slotOf` hook): its counts may then differ, and with `hyper` the
 * buffers it needs are allocated.
 *
 * @internal
 */
export function lend(r: GroupRecord, hyper: RMSPropHyper | undefined, arena: Arena | null, index: MemoryIndex): void {
  r.aligned = false;
  if (hyper !== undefined) ensure(r, hyper, arena, index);
}

/**
 * Writes one active group's update: the buffers it needs ({@link ensure}), then the group as one
 * span when it can ({@link spanOf}), else each parameter with a gradient. Returns whether it
 * updated anything.
 *
 * @internal
 */
export function update(r: GroupRecord, arena: Arena | null, index: MemoryIndex): boolean {
  const slots = r.slots;
  const hyper = ensure(r, r.hyper, arena, index);
  const span = spanOf(r);
  if (span !== null) {
    run(arena, span, span.data, span.grad, span.state, hyper);
    for (let i = 0; i < slots.length; i++) slots[i]!.state.step = span.state.step;
    return true;
  }
  let stepped = 0;
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i]!;
    if (s.grad !== null) {
      run(arena, s, s.data, s.grad, s.state, hyper);
      stepped++;
    }
  }
  if (stepped < slots.length) r.aligned = false;
  return stepped > 0;
}

/**
 * One kernel call: the arena's SIMD kernel when the arena holds every buffer (asked once per
 * layout, as reading a view's `buffer` is slow) and takes the hyperparameters, else the TS one.
 * No closure in here: one capturing `arena` would allocate a context at every call.
 */
function run(arena: Arena | null, target: Slot | Span, data: FloatArray, grad: FloatArray, state: RMSPropState, hyper: RMSPropHyper): void {
  if (arena !== null) {
    target.owned ??= owns(arena, data) && owns(arena, grad) && owns(arena, state.squareAvg) && owns(arena, state.gradAvg) && owns(arena, state.momentumBuffer);
    if (target.owned && arena.step(data, grad, state, hyper, true)) return;
  }
  rmspropStep(data, grad, state, hyper);
}

/** The first parameter of an active group whose gradient holds NaN or ±Infinity, or `null`. @internal */
export function nonFinite(records: readonly GroupRecord[]): Slot | null {
  for (let r = 0; r < records.length; r++) {
    const { active, slots } = records[r]!;
    for (let i = 0; active && i < slots.length; i++) {
      const grad = slots[i]!.grad;
      if (grad !== null && !allFinite(grad)) return slots[i]!;
    }
  }
  return null;
}

/** The error for a non-finite gradient under `nonFinite: 'throw'`. @internal */
export function nonFiniteError(s: Slot, prefix: string): RangeError {
  const k = firstNonFinite(s.grad!);
  return new RangeError(
    `${prefix}: grad holds ${formatValue(s.grad![k])} at element ${k} ${at(s.group, s.index)}; nothing was updated. ` +
      `Set nonFinite to 'skip' to skip such steps, or to 'apply' to apply them as PyTorch does`,
  );
}

function owns(arena: Arena, x: FloatArray | null): boolean {
  return x === null || (x instanceof Float32Array && arena.owns(x));
}

/**
 * Every check of one parameter's buffers: `data` has the type and length it was registered
 * with, `grad` is a buffer of that type and length; neither shares memory with the other, with
 * this parameter's state, or (a new object) with another parameter's data or state; and the
 * state is still attached. Throws naming the group and parameter; else remembers the pair as
 * checked.
 *
 * @internal
 */
export function checkSlot(s: Slot, prefix: string, index: MemoryIndex): void {
  checkData(s, s.data, prefix);
  const grad = checkBuffer(s, s.grad, prefix, 'grad', 'or null');
  const where = at(s.group, s.index);
  if (overlaps(grad, s.data)) throw new Error(`${prefix}: grad shares memory with data ${where}`);
  if (s.data !== s.checkedData) {
    const hit = sharing(s.data, s, index);
    if (hit !== null) throw new Error(`${prefix}: data ${where} shares memory with ${hit}`);
    index.map = null; // a new data object: the index is rebuilt when next needed
  }
  const hit = sharing(grad, s, index);
  if (hit !== null) throw new Error(`${prefix}: grad ${where} shares memory with ${hit}`);
  s.checkedData = s.data;
  s.checkedGrad = grad;
  s.owned = undefined;
}

/**
 * Every registered buffer by the memory it lives in: each parameter's data (as last checked) and
 * state. A data or grad object not seen before is looked up here (a view's `buffer` costs V8 some
 * 25 ns, so this is built once, and again only after a buffer is added or a data object
 * changes: `map` is then set to `null`). @internal
 */
export interface MemoryIndex {
  map: Map<ArrayBufferLike, { readonly view: FloatArray; readonly slot: Slot; readonly data: boolean }[]> | null;
  readonly records: () => readonly GroupRecord[];
}

/** What of the registered memory `x` (a buffer of `s`) overlaps: another's data or state, or `s`'s own state; else `null`. */
function sharing(x: FloatArray, s: Slot, index: MemoryIndex): string | null {
  if (index.map === null) {
    const map: NonNullable<MemoryIndex['map']> = (index.map = new Map());
    for (const r of index.records()) {
      for (const slot of r.slots) {
        for (const view of [slot.checkedData, slot.state.squareAvg, slot.state.gradAvg, slot.state.momentumBuffer]) {
          if (view === null) continue;
          const list = map.get(view.buffer) ?? [];
          list.push({ view, slot, data: view === slot.checkedData });
          map.set(view.buffer, list);
        }
      }
    }
  }
  for (const { view, slot, data } of index.map.get(x.buffer) ?? []) {
    if ((slot !== s || !data) && overlaps(x, view)) return slot === s ? 'its own state' : `the ${data ? 'data' : 'state'} of ${at(slot.group, slot.index)}`;
  }
  return null;
}

/**
 * Checks `step()`'s optional gradient map: a map (anything with `get` and `keys`) whose keys are
 * all parameters of this optimizer; a key it does not hold would be a gradient silently unused.
 *
 * @internal
 */
export function checkGrads(grads: unknown, slots: ReadonlyMap<ParamRef, Slot>, prefix: string): void {
  if (grads === undefined) return;
  const g = grads as Partial<ReadonlyMap<unknown, unknown>> | null;
  if (typeof g?.get !== 'function' || typeof g.keys !== 'function') {
    throw new TypeError(invalid(prefix, 'grads', 'a Map from parameters to gradients, or nothing', grads));
  }
  for (const key of g.keys()) {
    if (!slots.has(key as ParamRef)) throw new Error(`${prefix}: grads holds a key that is not a parameter of this optimizer: ${formatValue(key)}`);
  }
}

/**
 * Checks every parameter's `grad` for `zeroGrad`: `null`, or a buffer of the parameter's type and
 * length that is not detached and, when it is not the one `step()` last checked, shares no
 * registered memory (zeroing a buffer that is a parameter's data would wipe the parameter).
 * Returns the gradients to fill.
 *
 * @internal
 */
export function zeroable(records: readonly GroupRecord[], index: MemoryIndex): FloatArray[] {
  const P = 'RMSProp.zeroGrad';
  const grads: FloatArray[] = [];
  for (const r of records) {
    for (const s of r.slots) {
      const grad: unknown = s.param.grad;
      if (grad === null) continue;
      const g = checkBuffer(s, grad, P, 'grad', 'or null');
      if (g !== s.checkedGrad) {
        const hit = overlaps(g, s.checkedData) ? 'its own data' : sharing(g, s, index);
        if (hit !== null) throw new Error(`${P}: grad ${at(s.group, s.index)} shares memory with ${hit}`);
      }
      grads.push(g);
    }
  }
  return grads;
}

/** Checks a buffer against the type and length `s` was registered with. */
function checkBuffer(s: Slot, x: unknown, prefix: string, name: string, more: string): FloatArray {
  if (isFloatArray(x) && x instanceof Float64Array === s.f64 && x.length === s.length) return x;
  // A detached buffer's views have length 0: reported as such by formatValue.
  const type = isFloatArray(x) && x instanceof Float64Array === s.f64 ? RangeError : TypeError;
  throw new type(invalid(prefix, name, `a ${s.f64 ? 'Float64Array' : 'Float32Array'} of length ${s.length} ${more}`, x, '', ` ${at(s.group, s.index)}`));
}

/**
 * Checks that `data` has the type and length `s` was registered with (a parameter cannot change
 * either), and that the state has not been detached under it. Throws naming the group and
 * parameter.
 *
 * @internal
 */
export function checkData(s: Slot, data: unknown, prefix: string): void {
  checkBuffer(s, data, prefix, 'data', '(as registered)');
  attached(s, prefix);
}

/** Throws when a slot's state buffers were detached under it (transferred, or an arena whose memory grew). @internal */
export function attached(s: Slot, prefix: string): void {
  for (const b of [s.state.squareAvg, s.state.gradAvg, s.state.momentumBuffer]) {
    if (b !== null && b.length !== s.length) {
      throw new Error(`${prefix}: the state of ${at(s.group, s.index)} is detached (transferred, or the arena's memory grew): its values are lost`);
    }
  }
}
