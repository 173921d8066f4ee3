// What a buffer may share with what. A step writes each parameter's data and state and reads its
// gradient; `zeroGrad` writes the gradients; `SparseRows` writes data and state. None of those
// writes may land in memory that is another parameter's data, gradient or state, or this one's
// other buffers, and no state may be read after it is gone (detached). These are the checks,
// for every way a buffer can change: at registration, at a step, at `zeroGrad`, at a sparse step.
import { at, invalid, isFloatArray, overlaps, readError } from './checks.js';
import type { Arena } from './backend.js';
import type { Located } from './param-groups.js';
import type { Owner, Registry, Slot } from './records.js';
import type { FloatArray, RMSPropState } from './rmsprop-step.js';

type ByMemory = Map<ArrayBufferLike, Owner[]>;

/** A state's buffers, those it lacks as `null`. @internal */
export function stateBuffers(state: RMSPropState): (FloatArray | null)[] {
  return [state.squareAvg, state.gradAvg, state.momentumBuffer];
}

/** Every parameter's data (as last checked) and state, by memory: built when first needed. */
function registered(registry: Registry): ByMemory {
  if (registry.map === null) {
    const map: ByMemory = (registry.map = new Map());
    for (const r of registry.records()) {
      for (const slot of r.slots) {
        for (const view of [slot.checkedData, ...stateBuffers(slot.state)]) {
          if (view === null) continue;
          const o: Owner = { view, slot, what: view === slot.checkedData ? 'data' : 'state' };
          const list = map.get(view.buffer);
          if (list === undefined) map.set(view.buffer, [o]);
          else list.push(o);
        }
      }
    }
  }
  return registry.map;
}

/** Whose buffer: a parameter's group and index. */
interface Who {
  readonly group: number;
  readonly index: number;
}

/** A buffer in a check: its bytes in its memory, whose, what of it, and whether it is new. */
interface Entry {
  readonly start: number;
  readonly end: number;
  readonly who: Who;
  readonly what: 'data' | 'state' | 'grad';
  readonly fresh: boolean;
}

/**
 * The overlaps that matter among new buffers and what is registered: one pass over the memories
 * that hold a new buffer, each sorted by offset, so that thousands of parameters that are views
 * of one buffer cost a sort, not a comparison of every pair. Gradients may share memory with
 * each other (both are only read); any other two buffers may not.
 */
class Check {
  readonly #buckets = new Map<ArrayBufferLike, Entry[]>();

  /** Adds `view` (new or not) to the buckets; `open` adds it only to a bucket that exists (one holding a new buffer). */
  add(view: FloatArray | null, who: Who, what: Entry['what'], fresh: boolean, open = fresh): void {
    if (view === null || view.byteLength === 0) return;
    const buffer = view.buffer;
    let list = this.#buckets.get(buffer);
    if (list === undefined) {
      if (!open) return;
      this.#buckets.set(buffer, (list = []));
    }
    list.push({ start: view.byteOffset, end: view.byteOffset + view.byteLength, who, what, fresh });
  }

  /** Adds what is registered, but for the data of the parameters in `replaced` (being replaced). */
  registered(registry: Registry, replaced: ReadonlySet<Who>): void {
    const map = registered(registry);
    for (const buffer of this.#buckets.keys()) {
      for (const o of map.get(buffer) ?? []) if (!(o.what === 'data' && replaced.has(o.slot))) this.add(o.view, o.slot, o.what, false);
    }
  }

  get empty(): boolean {
    return this.#buckets.size === 0;
  }

  /** Throws for the first two buffers that may not share memory and do, at least one of them new. */
  run(prefix: string): void {
    for (const list of this.#buckets.values()) {
      if (list.length < 2) continue;
      list.sort((a, b) => a.start - b.start);
      // The earlier entry reaching furthest: of all, of all but gradients, and the same of the new ones.
      let all: Entry | null = null;
      let nonGrad: Entry | null = null;
      let freshAll: Entry | null = null;
      let freshNonGrad: Entry | null = null;
      for (const e of list) {
        const c = e.what === 'grad' ? (e.fresh ? nonGrad : freshNonGrad) : e.fresh ? all : freshAll;
        if (c !== null && e.start < c.end) throw conflict(prefix, e, c);
        const furthest = (x: Entry | null): Entry => (x === null || e.end > x.end ? e : x);
        all = furthest(all);
        if (e.what !== 'grad') nonGrad = furthest(nonGrad);
        if (e.fresh) freshAll = furthest(freshAll);
        if (e.fresh && e.what !== 'grad') freshNonGrad = furthest(freshNonGrad);
      }
    }
  }
}

/**
 * The error for two buffers that share memory, said of the new one (of two new ones: the data,
 * or the later parameter's).
 */
function conflict(prefix: string, a: Entry, b: Entry): Error {
  const later = a.who.group - b.who.group || a.who.index - b.who.index;
  const aFirst = a.fresh !== b.fresh ? a.fresh : a.what !== b.what && (a.what === 'grad' || b.what === 'grad') ? b.what === 'grad' : later >= 0;
  const [s, o] = aFirst ? [a, b] : [b, a];
  const where = at(s.who.group, s.who.index);
  if (s.who === o.who && s.what !== 'state' && o.what !== 'state') return new Error(`${prefix}: grad shares memory with data ${where}`);
  return new Error(`${prefix}: ${s.what} ${where} shares memory with ${s.who === o.who ? `its own ${o.what}` : `the ${o.what} of ${at(o.who.group, o.who.index)}`}`);
}

/** Whether `x` is a view of a resizable or growable buffer, whose length can change under the optimizer. */
function resizable(x: FloatArray): boolean {
  const b = x.buffer as { readonly resizable?: boolean; readonly growable?: boolean };
  return b.resizable === true || b.growable === true;
}

/** Refuses a new buffer whose length could change, or that lies in arena memory the arena may still hand out. */
function fixedSize(x: FloatArray, prefix: string, name: string, where: string, arena: Arena | null): void {
  if (resizable(x)) throw new TypeError(invalid(prefix, name, 'a view of a fixed-size buffer', x, '', ` on a resizable buffer ${where}`));
  if (arena !== null && x.buffer === arena.memory.buffer && !arena.owns(x)) {
    throw new Error(`${prefix}: ${name} ${where} is a view of the arena's memory that arena.alloc did not hand out: the arena would hand the same memory out again`);
  }
}

/** Adds every parameter's gradient as it is now (read once) to `check`, where it has new buffers. */
function currentGrads(check: Check, registry: Registry, prefix: string): void {
  for (const r of registry.records()) {
    for (const s of r.slots) {
      const grad = read(s, 'grad', prefix);
      if (isFloatArray(grad)) check.add(grad, s, 'grad', false);
    }
  }
}

/**
 * Registration: each new parameter's data against what the optimizer holds (every registered
 * parameter's data, state and gradient, as they are now) and against the arena, before
 * anything is allocated.
 *
 * @internal
 */
export function checkNew(params: readonly (readonly Located[])[], registry: Registry, prefix: string): void {
  const check = new Check();
  for (const list of params) {
    for (const p of list) {
      fixedSize(p.data, prefix, 'data', at(p.group, p.index), registry.arena);
      check.add(p.data, p, 'data', true);
    }
  }
  // Each registered parameter's data as it is now (one without a gradient may have moved since
  // a step last checked it), and its state.
  for (const r of registry.records()) {
    for (const s of r.slots) {
      const data = read(s, 'data', prefix);
      check.add(isFloatArray(data) ? data : s.checkedData, s, 'data', false);
      for (const view of stateBuffers(s.state)) check.add(view, s, 'state', false);
    }
  }
  currentGrads(check, registry, prefix);
  check.run(prefix);
}

/**
 * The checks of the parameters of a step whose data or grad object is not the pair checked last
 * (`slots`): `data` has the type and length it was registered with and the state is attached;
 * `grad` is a buffer of that type and length that shares no memory with the data; and no new
 * object shares memory with any parameter's data or state, nor a new data with a gradient of
 * this step. Throws naming the group and parameter; else remembers each pair as checked.
 *
 * @internal
 */
export function checkSlots(slots: readonly Slot[], prefix: string, registry: Registry): void {
  const check = new Check();
  const replaced = new Set<Who>();
  for (const s of slots) {
    checkData(s, s.data, prefix);
    const grad = checkBuffer(s, s.grad, prefix, 'grad', 'or null');
    const where = at(s.group, s.index);
    if (overlaps(grad, s.data)) throw new Error(`${prefix}: grad shares memory with data ${where}`);
    if (s.data !== s.checkedData) {
      fixedSize(s.data, prefix, 'data', where, registry.arena);
      check.add(s.data, s, 'data', true);
      replaced.add(s);
    }
    if (grad !== s.checkedGrad) {
      fixedSize(grad, prefix, 'grad', where, registry.arena);
      check.add(grad, s, 'grad', true);
    }
  }
  if (!check.empty) {
    check.registered(registry, replaced);
    // For the new data, the gradients of this step that did not change (the new ones are in).
    if (replaced.size > 0) {
      for (const r of registry.records()) if (r.active) for (const s of r.slots) if (s.grad === s.checkedGrad) check.add(s.grad, s, 'grad', false);
    }
    check.run(prefix);
  }
  for (const s of slots) {
    s.checkedData = s.data;
    s.checkedGrad = s.grad;
    s.owned = undefined;
  }
  if (replaced.size > 0) registry.map = null; // rebuilt when next needed
}

/**
 * A sparse step's checks of the data it writes, read afresh: the type and length registered,
 * the state attached, and (a data object other than the one last checked) no memory shared
 * with what the optimizer holds, this parameter's own gradient included.
 *
 * @internal
 */
export function checkLent(s: Slot, data: unknown, registry: Registry, prefix: string): void {
  checkData(s, data, prefix);
  const x = data as FloatArray;
  if (x === s.checkedData) return;
  fixedSize(x, prefix, 'data', at(s.group, s.index), registry.arena);
  const check = new Check();
  check.add(x, s, 'data', true);
  check.registered(registry, new Set([s]));
  currentGrads(check, registry, prefix);
  check.run(prefix);
}

/**
 * Checks every parameter's `grad` for `zeroGrad`: `null`, or a buffer of the parameter's type and
 * length that is not detached and, when it is not the one `step()` last checked, shares no
 * registered memory (zeroing a buffer that is a parameter's data would wipe the parameter); and
 * no parameter's data, if it changed since, is one of them. Returns the gradients to fill.
 *
 * @internal
 */
export function zeroable(registry: Registry): FloatArray[] {
  const P = 'RMSProp.zeroGrad';
  const grads: FloatArray[] = [];
  const kept: [FloatArray, Slot][] = [];
  const check = new Check();
  const replaced = new Set<Who>();
  const slots = registry.records().flatMap((r) => r.slots);
  for (const s of slots) {
    const grad = read(s, 'grad', P);
    if (grad === null) continue;
    const g = checkBuffer(s, grad, P, 'grad', 'or null');
    if (g === s.checkedGrad) kept.push([g, s]);
    else check.add(g, s, 'grad', true);
    grads.push(g);
  }
  for (const s of slots) {
    const data = read(s, 'data', P);
    if (data === s.checkedData || !isFloatArray(data)) continue; // a step checks the rest
    check.add(data, s, 'data', true);
    replaced.add(s);
  }
  if (!check.empty) {
    check.registered(registry, replaced);
    for (const [g, s] of kept) check.add(g, s, 'grad', false);
    check.run(P);
  }
  return grads;
}

/** A parameter's `grad` or `data`, read once; a getter that throws is named. */
function read(s: Slot, name: 'grad' | 'data', prefix: string): unknown {
  try {
    return s.param[name];
  } catch (error) {
    throw readError(error, prefix, `its ${name}`, at(s.group, s.index));
  }
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
export function attached(s: Pick<Slot, 'state' | 'length' | 'group' | 'index'>, prefix: string): void {
  for (const b of stateBuffers(s.state)) {
    if (b !== null && b.length !== s.length) {
      throw new Error(`${prefix}: the state of ${at(s.group, s.index)} is detached (transferred, or the arena's memory grew): its values are lost`);
    }
  }
}
