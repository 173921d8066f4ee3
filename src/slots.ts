// The optimizer's records at work (their types are in records.ts): registering parameters and
// allocating their state, reading and checking what a step is given, and stepping each group,
// as one span when its layout is flat. The memory checks are in memory.ts.
import type { Arena } from './backend.js';
import { at, invalid, readError } from './checks.js';
import { allFinite, firstNonFinite } from './finite.js';
import { formatValue } from './format.js';
import { checkNew, checkSlots } from './memory.js';
import type { Mutable } from './options.js';
import type { Located, ParamGroup, ParamRef } from './param-groups.js';
import type { GroupRecord, Registry, Slot, Span } from './records.js';
import { rmspropDefaults, rmspropStep } from './rmsprop-step.js';
import type { FloatArray, RMSPropHyper, RMSPropState } from './rmsprop-step.js';

type Kind = 'squareAvg' | 'gradAvg' | 'momentumBuffer';

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
 * Throws, before anything is allocated, for data that shares memory with what the optimizer
 * holds ({@link checkNew}), an `initialAccumulator` beyond a float32 parameter's range, or a
 * full arena.
 *
 * @internal
 */
export function createRecords(groups: readonly ParamGroup[], params: readonly (readonly Located[])[], registry: Registry, prefix: string): GroupRecord[] {
  checkNew(params, registry, prefix);
  groups.forEach((group, k) => {
    // Checked as a number when the options were; what a float32 state can hold only now.
    const p = params[k]!.find((q) => q.data instanceof Float32Array);
    if (p !== undefined && Math.fround(group.initialAccumulator) === Infinity) {
      throw new RangeError(
        `${prefix}: invalid initialAccumulator in group ${p.group}: expected a number a Float32Array holds (at most 3.4028234663852886e+38) for ${at(p.group, p.index)}, got ${formatValue(group.initialAccumulator)}`,
      );
    }
  });
  const arena = registry.arena;
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
        loads: 0,
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
export function readRecord(r: GroupRecord, grads: ReadonlyMap<ParamRef, FloatArray | null> | undefined, prefix: string): void {
  const slots = r.slots;
  let whole = true;
  let changed = false;
  let i = 0;
  try {
    for (; i < slots.length; i++) {
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
  } catch (error) {
    throw readError(error, prefix, 'its grad or data', at(r.index, i));
  }
  if (whole && !r.aligned) {
    // Counts may differ (a partial step, a sparse update, a load): look, once, until they agree.
    const step = slots[0]!.state.step;
    let equal = true;
    for (let k = 1; k < slots.length; k++) if (slots[k]!.state.step !== step) equal = false;
    r.aligned = equal;
  }
  r.whole = whole && r.aligned;
  r.changed = changed;
}

/**
 * Checks what {@link readRecord} read for every active group, before anything is written. The
 * pairs not seen before get every check, all together ({@link checkSlots}); a pair seen before
 * only needs its lengths (a buffer can be detached or shrunk since).
 *
 * @internal
 */
export function checkRecords(records: readonly GroupRecord[], prefix: string, registry: Registry): void {
  let changed: Slot[] | null = null; // made only when something changed: a step with the same objects allocates nothing
  for (const r of records) {
    if (!r.active || !r.changed) continue;
    r.span = undefined;
    for (const s of r.slots) if (s.grad !== null && (s.grad !== s.checkedGrad || s.data !== s.checkedData)) (changed ??= []).push(s);
  }
  if (changed !== null) checkSlots(changed, prefix, registry);
  for (const r of records) if (r.active) checkLengths(r, prefix, registry);
}

/**
 * A pair seen before only needs its lengths checked: once on a span's own views, else per
 * parameter. Whether the layout is flat is worked out here, for a group whose objects did not
 * change this step: an engine that hands over new objects at every step would pay for working it
 * out again each time (some 150 ns a parameter) more than the span saves.
 */
function checkLengths(r: GroupRecord, prefix: string, registry: Registry): void {
  const slots = r.slots;
  if (r.whole && !r.changed) {
    if (r.span === undefined) r.span = flat(slots);
    const span = r.span;
    if (span !== null) {
      if (span.data.length === span.n && span.grad.length === span.n && fits(span.state, span.n)) return;
      r.span = undefined; // detached or shrunk under it: the checks below say which
    }
  }
  for (const s of slots) {
    const n = s.length;
    if (s.grad !== null && (s.data.length !== n || s.grad.length !== n || !fits(s.state, n))) checkSlots([s], prefix, registry);
  }
}

/** Whether every state buffer still has `n` elements (a transferred buffer has none). */
function fits(state: RMSPropState, n: number): boolean {
  const { squareAvg, gradAvg, momentumBuffer } = state;
  return squareAvg.length === n && (gradAvg === null || gradAvg.length === n) && (momentumBuffer === null || momentumBuffer.length === n);
}

/**
 * The group as one span when {@link readRecord} found it whole and its parameters, gradients and
 * each state buffer adjacent in one buffer each (the flat layout: views of one array, in order):
 * views over the whole run, stepped by one kernel call, the same arithmetic element for element
 * without a call per parameter. Otherwise `null`.
 *
 * Whether the layout is flat is worked out once ({@link checkRecords}: a view's `buffer` and
 * `byteOffset` cost V8 some 30 ns each) and kept until a buffer changes: a new data or grad
 * object, a buffer allocated, a state loaded (each sets `span` to `undefined`, and the group is
 * stepped parameter by parameter until the layout is worked out again).
 *
 * @internal
 */
export function spanOf(r: GroupRecord): Span | null {
  const span = r.whole ? r.span : null;
  if (span === undefined || span === null) return null;
  span.state.step = r.slots[0]!.state.step;
  return span;
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
  // The base constructors: a subclass's own constructor (a tensor class) is not ours to call.
  const view = <T extends FloatArray | null>(a: T): T => (a === null ? a : (new (a instanceof Float64Array ? Float64Array : Float32Array)(a.buffer as ArrayBuffer, a.byteOffset, n) as T));
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
export function ensure(r: GroupRecord, hyper: RMSPropHyper, registry: Registry): RMSPropHyper {
  const centered = hyper.centered && allocate(r.slots, 'gradAvg', registry.arena);
  const momentum = hyper.momentum > 0 && allocate(r.slots, 'momentumBuffer', registry.arena);
  if (centered || momentum) {
    r.span = undefined;
    registry.map = null;
  }
  return hyper;
}

/**
 * Readies a group for a feature beside the class that is about to step one of its parameters
 * (`s`) alone (`SparseRows`, through the `slotOf` hook), with `data` it has checked: the buffers
 * `hyper` needs are allocated, a new data object is recorded as checked, and the group's counts
 * may differ from then on.
 *
 * @internal
 */
export function lend(r: GroupRecord, hyper: RMSPropHyper, registry: Registry, s: Slot, data: FloatArray): void {
  r.aligned = false;
  ensure(r, hyper, registry);
  if (data !== s.checkedData) {
    s.checkedData = data;
    s.owned = undefined;
    r.span = undefined;
    registry.map = null;
  }
}

/**
 * Writes one active group's update: the buffers it needs ({@link ensure}), then the group as one
 * span when it can ({@link spanOf}), else each parameter with a gradient. Returns whether it
 * updated anything.
 *
 * @internal
 */
export function update(r: GroupRecord, registry: Registry): boolean {
  const slots = r.slots;
  const arena = registry.arena;
  const hyper = ensure(r, r.hyper, registry);
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
 * Writes every active group's update ({@link update}), between the arena's `begin()` and `end()`
 * when it has them (a batching arena records its calls and runs them at `end()`). Returns whether
 * it updated anything.
 *
 * @internal
 */
export function updateAll(records: readonly GroupRecord[], registry: Registry): boolean {
  const arena = registry.arena;
  let updated = false;
  arena?.begin?.();
  try {
    for (let r = 0; r < records.length; r++) if (records[r]!.active && update(records[r]!, registry)) updated = true;
  } finally {
    arena?.end?.();
  }
  return updated;
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

