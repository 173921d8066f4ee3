// What a buffer may share with what. A step writes each parameter's data and state and reads its
// gradient; `zeroGrad` writes the gradients; `SparseRows` writes data and state. None of those
// writes may land in memory that is another parameter's data, gradient or state, or this one's
// other buffers, and no state may be read after it is gone (detached). These are the checks,
// for every way a buffer can change: at registration, at a step, at `zeroGrad`, at a sparse step.
import { at, invalid, isFloatArray, overlaps, readError } from './checks.js';
import type { Located } from './param-groups.js';
import type { GroupRecord, Owner, Registry, Slot } from './records.js';
import type { FloatArray } from './rmsprop-step.js';

type ByMemory = Map<ArrayBufferLike, Owner[]>;

/** `owners` by the memory they live in. */
function byMemory(owners: readonly Owner[]): ByMemory {
  const map: ByMemory = new Map();
  for (const o of owners) {
    const list = map.get(o.view.buffer);
    if (list === undefined) map.set(o.view.buffer, [o]);
    else list.push(o);
  }
  return map;
}

/** Every parameter's data (as last checked) and state, by memory (built when first needed). */
function registered(registry: Registry): ByMemory {
  return (registry.map ??= byMemory(
    registry.records().flatMap((r) =>
      r.slots.flatMap((slot) => {
        const { squareAvg, gradAvg, momentumBuffer } = slot.state;
        return [slot.checkedData, squareAvg, gradAvg, momentumBuffer].flatMap((view, k): Owner[] => (view === null ? [] : [{ view, slot, what: k === 0 ? 'data' : 'state' }]));
      }),
    ),
  ));
}

/** The gradients of `records` (the active ones, with `active`) by memory: this step's (`current`), or those last checked. */
function gradients(records: readonly GroupRecord[], current: boolean, active = false): ByMemory {
  return byMemory(
    records.flatMap((r) =>
      !active || r.active
        ? r.slots.flatMap((slot): Owner[] => {
            const view = current ? slot.grad : slot.checkedGrad;
            return view === null ? [] : [{ view, slot, what: 'grad' }];
          })
        : [],
    ),
  );
}

/**
 * What of `map` overlaps `x`, a buffer of `s` (`null`: of a parameter not registered yet), said
 * as an error says it; `s`'s own data does not count (it is `x`'s predecessor, or `x`).
 */
function find(map: ByMemory, x: FloatArray, s: Slot | null): string | null {
  for (const { view, slot, what } of map.get(x.buffer) ?? []) {
    if ((slot !== s || what !== 'data') && overlaps(x, view)) return slot === s ? `its own ${what}` : `the ${what} of ${at(slot.group, slot.index)}`;
  }
  return null;
}

/** Whether `x` is a view of a resizable or growable buffer, whose length can change under the optimizer. */
function resizable(x: FloatArray): boolean {
  const b = x.buffer as { readonly resizable?: boolean; readonly growable?: boolean };
  return b.resizable === true || b.growable === true;
}

function fixedSize(x: FloatArray, prefix: string, name: string, where: string): void {
  if (resizable(x)) throw new TypeError(invalid(prefix, name, 'a view of a fixed-size buffer', x, '', ` on a resizable buffer ${where}`));
}

/**
 * Registration: each new parameter's data against what the optimizer holds (every registered
 * parameter's data, state and gradient) and against the arena, before anything is allocated.
 * The new parameters among themselves are checked when the groups are built.
 *
 * @internal
 */
export function checkNew(params: readonly (readonly Located[])[], registry: Registry, prefix: string): void {
  const arena = registry.arena;
  let grads: ByMemory | null = null;
  for (const list of params) {
    for (const p of list) {
      const where = at(p.group, p.index);
      fixedSize(p.data, prefix, 'data', where);
      if (arena !== null && !arena.owns(p.data) && p.data.buffer === arena.memory.buffer) {
        throw new Error(`${prefix}: data ${where} is a view of the arena's memory that arena.alloc did not hand out: the arena would hand the same memory out again`);
      }
      grads ??= gradients(registry.records(), false);
      const hit = find(registered(registry), p.data, null) ?? find(grads, p.data, null);
      if (hit !== null) throw new Error(`${prefix}: data ${where} shares memory with ${hit}`);
    }
  }
}

/**
 * Every check of one parameter's buffers at a step: `data` has the type and length it was
 * registered with, `grad` is a buffer of that type and length; neither shares memory with the
 * other or with this parameter's state; a new `data` object shares none with another
 * parameter's data, state or gradient of this step, a `grad` none with another's data or state;
 * and the state is still attached. Throws naming the group and parameter; else remembers the
 * pair as checked.
 *
 * @internal
 */
export function checkSlot(s: Slot, prefix: string, registry: Registry): void {
  checkData(s, s.data, prefix);
  const grad = checkBuffer(s, s.grad, prefix, 'grad', 'or null');
  const where = at(s.group, s.index);
  if (overlaps(grad, s.data)) throw new Error(`${prefix}: grad shares memory with data ${where}`);
  if (grad !== s.checkedGrad) fixedSize(grad, prefix, 'grad', where);
  if (s.data !== s.checkedData) {
    fixedSize(s.data, prefix, 'data', where);
    registry.grads ??= gradients(registry.records(), true, true);
    const hit = find(registered(registry), s.data, s) ?? find(registry.grads, s.data, s);
    if (hit !== null) throw new Error(`${prefix}: data ${where} shares memory with ${hit}`);
    registry.map = null; // a new data object: the index is rebuilt when next needed
  }
  const hit = find(registered(registry), grad, s);
  if (hit !== null) throw new Error(`${prefix}: grad ${where} shares memory with ${hit}`);
  s.checkedData = s.data;
  s.checkedGrad = grad;
  s.owned = undefined;
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
  const where = at(s.group, s.index);
  fixedSize(x, prefix, 'data', where);
  const hit = find(registered(registry), x, s) ?? find(gradients(registry.records(), false), x, s);
  if (hit !== null) throw new Error(`${prefix}: data ${where} shares memory with ${hit}`);
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
  const owners: Owner[] = [];
  const slots = registry.records().flatMap((r) => r.slots);
  for (const s of slots) {
    const grad = read(s, 'grad', P);
    if (grad === null) continue;
    const g = checkBuffer(s, grad, P, 'grad', 'or null');
    if (g !== s.checkedGrad) {
      const hit = overlaps(g, s.checkedData) ? 'its own data' : find(registered(registry), g, s);
      if (hit !== null) throw new Error(`${P}: grad ${at(s.group, s.index)} shares memory with ${hit}`);
    }
    grads.push(g);
    owners.push({ view: g, slot: s, what: 'grad' });
  }
  let map: ByMemory | null = null;
  for (const s of slots) {
    const data = read(s, 'data', P);
    if (data === s.checkedData || !isFloatArray(data)) continue; // a step checks the rest
    map ??= byMemory(owners);
    for (const { view, slot } of map.get(data.buffer) ?? []) {
      if (overlaps(data, view)) throw new Error(`${P}: grad ${at(slot.group, slot.index)} shares memory with the data of ${at(s.group, s.index)}`);
    }
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
export function attached(s: Slot, prefix: string): void {
  for (const b of [s.state.squareAvg, s.state.gradAvg, s.state.momentumBuffer]) {
    if (b !== null && b.length !== s.length) {
      throw new Error(`${prefix}: the state of ${at(s.group, s.index)} is detached (transferred, or the arena's memory grew): its values are lost`);
    }
  }
}
