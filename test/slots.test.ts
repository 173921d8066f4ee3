import { describe, expect, it } from 'vitest';
import { createArena } from '../src/arena.js';
import { buildGroups } from '../src/param-groups.js';
import type { ParamRef } from '../src/param-groups.js';
import { rmspropDefaults } from '../src/rmsprop-step.js';
import type { FloatArray } from '../src/rmsprop-step.js';
import type { Arena } from '../src/backend.js';
import type { GroupRecord, Registry } from '../src/records.js';
import { allocate, checkRecords, createRecords, nonFinite, readRecord, spanOf } from '../src/slots.js';
import { expectError } from './support/expect-error.js';

/** A registry with nothing registered: these tests check one group at a time. */
const registry = (arena: Arena | null = null): Registry => ({ records: () => [], arena, reading: false, map: null });

/** What a step does to one active group before it writes: read, then check. */
function readRecord1(r: GroupRecord): void {
  r.active = true;
  readRecord(r, undefined, 'X');
}
const checkRecord = (r: GroupRecord): void => checkRecords([r], 'X', registry());

const base = { ...rmspropDefaults, frozen: false };

function records(specs: readonly { params: ParamRef[]; [k: string]: unknown }[], arena: Arena | null = null) {
  const { groups, params } = buildGroups(specs, base, [], 0, 'X');
  return createRecords(groups, params, registry(arena), 'X');
}

const param = (data: FloatArray, grad: FloatArray | null = null): { data: FloatArray; grad: FloatArray | null } => ({ data, grad });

describe('createRecords', () => {
  it('gives each kind of state buffer to adjacent parameters as adjacent views of one block', () => {
    const [r] = records([{ params: [param(new Float32Array(3)), param(new Float32Array(2)), param(new Float64Array(4)), param(new Float32Array(5))], momentum: 0.9, centered: true }]);
    const [a, b, c, d] = r!.slots.map((s) => s.state);
    for (const kind of ['squareAvg', 'gradAvg', 'momentumBuffer'] as const) {
      expect(a![kind]!.buffer).toBe(b![kind]!.buffer);
      expect(b![kind]!.byteOffset).toBe(a![kind]!.byteOffset + 12);
      expect(d![kind]!.byteOffset).toBe(b![kind]!.byteOffset + 8); // the float64 parameter between them has a block of its own
      expect(c![kind]).toBeInstanceOf(Float64Array);
    }
  });

  it('fills squareAvg with initialAccumulator and allocates only what the options need', () => {
    const [r] = records([{ params: [param(new Float32Array(2))], initialAccumulator: 1 }]);
    const s = r!.slots[0]!.state;
    expect(Array.from(s.squareAvg)).toEqual([1, 1]);
    expect(s.gradAvg).toBeNull();
    expect(s.momentumBuffer).toBeNull();
  });

  it('puts the state of parameters whose data live in the arena in the arena, with one allocation', () => {
    const arena = createArena(64);
    const inside = param(arena.alloc(5), arena.alloc(5));
    const [r] = records([{ params: [inside, param(new Float32Array(5))], momentum: 0.5 }], arena);
    const [s, t] = r!.slots.map((x) => x.state);
    expect(arena.owns(s!.squareAvg) && arena.owns(s!.momentumBuffer!)).toBe(true);
    expect(arena.owns(t!.squareAvg)).toBe(false);
    expect(arena.used).toBe(8 + 8 + 12); // two views of 5 for the user, one block of 10 for the state
  });

  it('throws from the arena when it is full, before allocating anything', () => {
    const arena = createArena(16);
    const p = param(arena.alloc(8), arena.alloc(4));
    expectError(() => records([{ params: [p], momentum: 0.9 }], arena), RangeError, 'X: the arena is full: the state of these parameters needs 16 float32 values, 4 are free; create a larger arena');
    expect(arena.used).toBe(12);
  });
});

describe('allocate', () => {
  it('gives the slots lacking a buffer a zeroed one, adjacent, and says whether it did', () => {
    const [r] = records([{ params: [param(new Float32Array(3)), param(new Float32Array(3))] }]);
    expect(allocate(r!.slots, 'momentumBuffer', null)).toBe(true);
    const [a, b] = r!.slots.map((s) => s.state.momentumBuffer!);
    expect(b!.byteOffset).toBe(a!.byteOffset + 12);
    expect(Array.from(a!)).toEqual([0, 0, 0]);
    expect(allocate(r!.slots, 'momentumBuffer', null)).toBe(false);
  });

  it('falls back to an ordinary block when the arena is full, rather than throwing', () => {
    const arena = createArena(24);
    const p = param(arena.alloc(8), arena.alloc(8));
    const [r] = records([{ params: [p] }], arena);
    expect(arena.used).toBe(24);
    allocate(r!.slots, 'gradAvg', arena);
    expect(arena.owns(r!.slots[0]!.state.gradAvg!)).toBe(false);
  });
});

describe('readRecord, checkRecord and spanOf', () => {
  function flat(n: number, sizes: readonly number[]) {
    const data = new Float32Array(n);
    const grad = new Float32Array(n).fill(0.5);
    let at = 0;
    const params = sizes.map((k) => {
      const p = param(data.subarray(at, at + k), grad.subarray(at, at + k));
      at += k;
      return p;
    });
    return { params, grad, r: records([{ params }])[0]! };
  }

  it('see a flat group as one span from its first step with the same objects: views over all of it, made once', () => {
    const { params, r } = flat(10, [4, 1, 5]);
    readRecord1(r);
    checkRecord(r);
    expect(spanOf(r)).toBeNull(); // new objects: checked one by one, stepped one by one
    readRecord1(r);
    checkRecord(r);
    const span = spanOf(r)!;
    expect(span.n).toBe(10);
    expect(span.data.buffer).toBe(params[0]!.data.buffer);
    expect(span.data.length).toBe(10);
    expect(span.state.squareAvg.length).toBe(10);
    readRecord1(r);
    checkRecord(r);
    expect(spanOf(r)).toBe(span);
  });

  it('see no span when a gradient is missing, the parameters are not adjacent, or there is only one', () => {
    const { params, r } = flat(10, [4, 6]);
    params[1]!.grad = null;
    readRecord1(r);
    checkRecord(r);
    expect(spanOf(r)).toBeNull();
    const gap = [param(new Float32Array(8).subarray(0, 3), new Float32Array(8).subarray(0, 3)), param(new Float32Array(4), new Float32Array(4))];
    const [r2] = records([{ params: gap }]);
    readRecord1(r2!);
    checkRecord(r2!);
    expect(spanOf(r2!)).toBeNull();
    const [r3] = records([{ params: [param(new Float32Array(3), new Float32Array(3))] }]);
    readRecord1(r3!);
    checkRecord(r3!);
    expect(spanOf(r3!)).toBeNull();
  });

  it('work the span out again when a buffer changes, once the objects stay', () => {
    const { params, grad, r } = flat(10, [5, 5]);
    readRecord1(r);
    checkRecord(r);
    readRecord1(r);
    checkRecord(r);
    const first = spanOf(r)!;
    params[1]!.grad = new Float32Array(5); // not adjacent any more
    readRecord1(r);
    checkRecord(r);
    expect(spanOf(r)).toBeNull();
    params[1]!.grad = grad.subarray(5, 10); // adjacent again, a new view
    readRecord1(r);
    checkRecord(r);
    expect(spanOf(r)).toBeNull(); // changed this step
    readRecord1(r);
    checkRecord(r);
    const again = spanOf(r)!;
    expect(again).not.toBe(first);
    expect(again.grad.length).toBe(10);
  });

  it('find a detached buffer in a span by its own views, and say which parameter', () => {
    const { grad, r } = flat(10, [5, 5]);
    readRecord1(r);
    checkRecord(r);
    structuredClone(grad.buffer, { transfer: [grad.buffer as ArrayBuffer] });
    readRecord1(r);
    expectError(() => checkRecord(r), RangeError, 'X: invalid grad: expected a Float32Array of length 5 or null, got a Float32Array of length 0 (detached) (group 0, param 0)');
  });

  it('find the first non-finite gradient of an active group', () => {
    const { params, r } = flat(10, [5, 5]);
    params[1]!.grad![2] = -Infinity;
    r.active = true;
    readRecord1(r);
    expect(nonFinite([r])).toBe(r.slots[1]);
    r.active = false;
    expect(nonFinite([r])).toBeNull();
  });
});
