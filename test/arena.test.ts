import { describe, expect, it } from 'vitest';
import { createArena } from '../src/arena.js';
import type { Arena } from '../src/backend.js';
import { RMSProp, createState, rmspropDefaults } from '../src/index.js';
import type { FloatArray, RMSPropHyper, RMSPropState } from '../src/index.js';
import { expectError } from './support/expect-error.js';

const CAPACITY = 'createArena: invalid capacity: expected a whole number from 1 to 2^28 (float32 values), got';

/** Grows the arena's memory by nothing: which still detaches every view of it. */
function growMemory(arena: Arena): void {
  (arena.memory as unknown as { grow(pages: number): number }).grow(0);
}

describe('createArena', () => {
  it('hands out zeroed, 16-byte aligned, non-overlapping views until it is full', () => {
    const arena = createArena(10);
    expect(arena.capacity).toBe(10);
    expect(arena.used).toBe(0);
    const a = arena.alloc(3);
    const b = arena.alloc(5);
    expect(a.byteOffset % 16).toBe(0);
    expect(b.byteOffset % 16).toBe(0);
    expect(a.byteOffset).toBeGreaterThan(0); // no view starts at address 0
    expect(b.byteOffset).toBeGreaterThanOrEqual(a.byteOffset + 16);
    expect(Array.from(b)).toEqual([0, 0, 0, 0, 0]);
    expect(arena.used).toBe(12);
    expect(arena.owns(a)).toBe(true);
    expect(arena.owns(b.subarray(1, 2))).toBe(true);
    expect(arena.owns(new Float32Array(3))).toBe(false);
    expect(arena.owns(new Float64Array(3))).toBe(false);
    expectError(() => arena.alloc(1), RangeError, 'Arena.alloc: the arena is full: 1 values asked for, 0 free of 10; create a larger arena');
    expect(arena.alloc(0).length).toBe(0);
    expect(arena.used).toBe(12);
  });

  it('does not own the views of another arena', () => {
    const one = createArena(4);
    const other = createArena(4);
    expect(other.owns(one.alloc(4))).toBe(false);
  });

  it('never grows by itself, so views stay attached', () => {
    const arena = createArena(1 << 16);
    const view = arena.alloc(1 << 16);
    expect(() => arena.alloc(4)).toThrow(RangeError);
    view[0] = 1;
    expect(view[0]).toBe(1);
    expect(view.buffer.byteLength).toBeGreaterThan(0);
  });

  it('owns only what it handed out (views of it included), not other views of its memory', () => {
    const arena = createArena(64);
    const a = arena.alloc(8);
    expect([arena.owns(a), arena.owns(a.subarray(2, 4))]).toEqual([true, true]);
    const buffer = arena.memory.buffer;
    expect(arena.owns(new Float32Array(buffer, a.byteOffset + a.byteLength, 4))).toBe(false); // not handed out yet
    expect(arena.owns(new Float32Array(buffer, 0, 2))).toBe(false); // the reserved bytes
  });

  it("refuses to allocate once its memory grew (every view it handed out is detached)", () => {
    const arena = createArena(4);
    const view = arena.alloc(4);
    growMemory(arena);
    expect(view.length).toBe(0);
    expectError(() => arena.alloc(4), Error, "Arena.alloc: the arena's memory grew, which detached every view it handed out; create a new arena (never grow its memory)");
  });

  it('is frozen', () => {
    const arena = createArena(4);
    expect(Object.isFrozen(arena)).toBe(true);
  });

  it.each([
    [0, RangeError, '0'],
    [-1, RangeError, '-1'],
    [1.5, RangeError, '1.5'],
    [NaN, RangeError, 'NaN'],
    [Infinity, RangeError, 'Infinity'],
    [2 ** 28 + 1, RangeError, '268435457'],
    ['8', TypeError, 'string "8"'],
    [null, TypeError, 'null'],
    [undefined, TypeError, 'undefined'],
    [8n, TypeError, 'bigint 8n'],
  ] as const)('rejects a capacity of %o', (capacity, type, text) => {
    expectError(() => createArena(capacity as unknown as number), type, `${CAPACITY} ${text}`);
  });
});

describe('Arena.alloc', () => {
  it.each([
    [-1, RangeError, '-1'],
    [1.5, RangeError, '1.5'],
    [NaN, RangeError, 'NaN'],
    [Infinity, RangeError, 'Infinity'],
    [2 ** 53, RangeError, '9007199254740992'],
    ['4', TypeError, 'string "4"'],
    [null, TypeError, 'null'],
  ] as const)('rejects a length of %o and allocates nothing', (length, type, text) => {
    const arena = createArena(8);
    expectError(() => arena.alloc(length as unknown as number), type, `Arena.alloc: invalid length: expected a whole number from 0 to 2^52, got ${text}`);
    expect(arena.used).toBe(0);
  });

  it.each([[2 ** 30], [2 ** 31], [2 ** 32], [2 ** 32 + 4], [2 ** 40]])('says the arena is full for a length of %d, and allocates nothing', (length) => {
    const arena = createArena(8);
    expectError(() => arena.alloc(length), RangeError, `Arena.alloc: the arena is full: ${length} values asked for, 8 free of 8; create a larger arena`);
    expect(arena.used).toBe(0);
    expect(arena.alloc(8).length).toBe(8);
  });
});

describe('Arena.step', () => {
  /** A parameter, its gradient and state, all in the arena (or as `where` says). */
  function setup(arena: Arena, hyper: RMSPropHyper, n = 6): { p: Float32Array; g: Float32Array; s: RMSPropState<Float32Array> } {
    const p = arena.alloc(n).fill(1);
    const g = arena.alloc(n).fill(0.5);
    const s = createState(p, hyper, (like) => arena.alloc(like.length));
    return { p, g, s };
  }
  const snapshot = (...xs: (FloatArray | null)[]): (number[] | null)[] => xs.map((x) => (x === null ? null : Array.from(x)));

  it('steps what lives in the arena and returns true', () => {
    const arena = createArena(256);
    const hyper = { ...rmspropDefaults, momentum: 0.9, centered: true };
    const { p, g, s } = setup(arena, hyper);
    expect(arena.step(p, g, s, hyper)).toBe(true);
    expect(s.step).toBe(1);
    expect(p[0]).not.toBe(1);
    expect(s.squareAvg[0]).not.toBe(0);
  });

  it('returns false and writes nothing for a Float64Array or buffers outside the arena', () => {
    const arena = createArena(256);
    const p64 = new Float64Array(4).fill(1);
    const s64 = createState(p64, rmspropDefaults);
    expect(arena.step(p64, new Float64Array(4).fill(1), s64, rmspropDefaults)).toBe(false);
    expect(Array.from(p64)).toEqual([1, 1, 1, 1]);
    expect(s64.step).toBe(0);
    const outside = Float32Array.of(1, 2, 3, 4);
    const sOutside = createState(outside, rmspropDefaults);
    expect(arena.step(outside, Float32Array.of(1, 1, 1, 1), sOutside, rmspropDefaults)).toBe(false);
    expect(Array.from(outside)).toEqual([1, 2, 3, 4]);
    expect(Array.from(sOutside.squareAvg)).toEqual([0, 0, 0, 0]);
    expect(sOutside.step).toBe(0);
  });

  it.each([
    ['param', { ...rmspropDefaults }],
    ['grad', { ...rmspropDefaults }],
    ['squareAvg', { ...rmspropDefaults }],
    ['gradAvg', { ...rmspropDefaults, centered: true }],
    ['momentumBuffer', { ...rmspropDefaults, momentum: 0.9 }],
  ] as const)('returns false and writes nothing when only the %s is outside the arena', (which, hyper) => {
    const arena = createArena(256);
    const { p, g, s } = setup(arena, { ...hyper, centered: true, momentum: 0.9 });
    const out = (x: Float32Array): Float32Array => Float32Array.from(x);
    const param = which === 'param' ? out(p) : p;
    const grad = which === 'grad' ? out(g) : g;
    const state = { ...s };
    if (which === 'squareAvg' || which === 'gradAvg' || which === 'momentumBuffer') state[which] = out(s[which]!);
    const before = snapshot(param, grad, state.squareAvg, state.gradAvg, state.momentumBuffer);
    expect(arena.step(param, grad, state, hyper)).toBe(false);
    expect(snapshot(param, grad, state.squareAvg, state.gradAvg, state.momentumBuffer)).toEqual(before);
    expect(state.step).toBe(0);
  });

  it('ignores state buffers the options do not use', () => {
    const arena = createArena(256);
    const { p, g, s } = setup(arena, rmspropDefaults);
    const state = { ...s, gradAvg: new Float32Array(6), momentumBuffer: new Float32Array(6) };
    expect(arena.step(p, g, state, rmspropDefaults)).toBe(true);
  });

  it.each([
    ['centered with biasCorrection', { centered: true, biasCorrection: true }],
    ['eps 1e-50 (0 in float32)', { eps: 1e-50 }],
    ['eps 1e39 (Infinity in float32)', { eps: 1e39 }],
    ['lr 1e39 (Infinity in float32)', { lr: 1e39 }],
    ['weightDecay 1e39 (Infinity in float32)', { weightDecay: 1e39 }],
    ['lr * weightDecay 1e40 (Infinity in float32)', { lr: 1e20, weightDecay: 1e20 }],
    ['lr * weightDecay 1e40, decoupled', { lr: 1e20, weightDecay: 1e20, decoupledWeightDecay: true }],
  ] as const)('returns false and writes nothing for %s', (_what, options) => {
    const arena = createArena(256);
    const hyper: RMSPropHyper = { ...rmspropDefaults, ...options };
    const { p, g, s } = setup(arena, hyper);
    const before = snapshot(p, g, s.squareAvg, s.gradAvg, s.momentumBuffer);
    expect(arena.step(p, g, s, hyper)).toBe(false);
    expect(arena.step(p, g, s, hyper, true)).toBe(false);
    expect(snapshot(p, g, s.squareAvg, s.gradAvg, s.momentumBuffer)).toEqual(before);
    expect(s.step).toBe(0);
  });

  it.each([
    ['eps 1e-45 (the least float32)', { eps: 1e-45 }],
    ['lr 3e38', { lr: 3e38 }],
    ['centered without biasCorrection', { centered: true }],
    ['biasCorrection without centering', { biasCorrection: true }],
  ] as const)('steps %s', (_what, options) => {
    const arena = createArena(256);
    const hyper: RMSPropHyper = { ...rmspropDefaults, ...options };
    const { p, g, s } = setup(arena, hyper);
    expect(arena.step(p, g, s, hyper)).toBe(true);
    expect(s.step).toBe(1);
  });

  it('with owned = true, takes the caller at its word and skips the buffer checks', () => {
    const arena = createArena(256);
    const guard = arena.alloc(8).fill(7);
    // Views outside the arena, at byte offset 0: the kernel reads their offsets as addresses in
    // the arena, so it steps the arena's first 16 (reserved) bytes and leaves these alone.
    const p = Float32Array.of(1, 2, 3, 4);
    const g = Float32Array.of(1, 1, 1, 1);
    const s = createState(p, rmspropDefaults);
    expect(arena.step(p, g, s, rmspropDefaults)).toBe(false);
    expect(arena.step(p, g, s, rmspropDefaults, true)).toBe(true);
    expect(s.step).toBe(1);
    expect(Array.from(p)).toEqual([1, 2, 3, 4]);
    expect(Array.from(s.squareAvg)).toEqual([0, 0, 0, 0]);
    expect(guard.every((x) => x === 7)).toBe(true);
  });
});

describe('RMSProp with an arena', () => {
  it('rejects a non-arena', () => {
    const p = { data: new Float32Array(2), grad: null };
    expectError(() => new RMSProp([p], { arena: {} as never }), TypeError, 'RMSProp: invalid arena: expected an arena from createArena(), got an object');
    expectError(() => new RMSProp([p], { arena: null as never }), TypeError, 'RMSProp: invalid arena: expected an arena from createArena(), got null');
  });

  it('rejects a full arena before registering or allocating anything', () => {
    const arena = createArena(16);
    const p = { data: arena.alloc(8), grad: arena.alloc(4) };
    expect(arena.used).toBe(12);
    // squareAvg and momentumBuffer: 16 values, asked for at once.
    expectError(() => new RMSProp([p], { arena, momentum: 0.9 }), RangeError, 'RMSProp: the arena is full: the state of these parameters needs 16 float32 values, 4 are free; create a larger arena');
    expect(arena.used).toBe(12);
    // Not even squareAvg fits now; without the arena the parameter registers as any other.
    expectError(() => new RMSProp([p], { arena }), RangeError, 'RMSProp: the arena is full: the state of these parameters needs 8 float32 values, 4 are free; create a larger arena');
    const opt = new RMSProp([p]);
    expect(arena.owns(opt.getState(p)!.squareAvg)).toBe(false);
    expect(arena.used).toBe(12);
  });

  it('rejects a group for which the arena is full in addParamGroup, leaving the optimizer as it was', () => {
    const arena = createArena(40);
    const a = { data: arena.alloc(8), grad: arena.alloc(8) };
    const opt = new RMSProp([a], { arena });
    const used = arena.used;
    expect(used).toBe(24);
    const b = { data: arena.alloc(4), grad: arena.alloc(4), name: 'b' };
    const c = { data: arena.alloc(4), grad: null };
    expect(arena.used).toBe(36);
    // squareAvg and gradAvg of both: 16 values, asked for at once.
    expectError(() => opt.addParamGroup({ params: [b, c], centered: true }), RangeError, 'RMSProp.addParamGroup: the arena is full: the state of these parameters needs 16 float32 values, 4 are free; create a larger arena');
    expect(arena.used).toBe(36);
    expect(opt.paramGroups).toHaveLength(1);
    expect(opt.getState(b)).toBeUndefined();
    expect(opt.getState(c)).toBeUndefined();
    expect(opt.stateDict().groups).toHaveLength(1);
    a.grad.fill(1);
    expect(opt.step()).toBe(true);
    // Nothing of b or c was registered: a group of them whose state fits is accepted.
    opt.addParamGroup({ params: [b] });
    expect(opt.paramGroups).toHaveLength(2);
    expect(arena.owns(opt.getState(b)!.squareAvg)).toBe(true);
  });

  describe('whose memory grew (every view detached)', () => {
    const DETACHED = 'a Float32Array of length 0 (detached)';

    it('throws on step, naming the parameter, and counts no update', () => {
      const arena = createArena(64);
      const seen: number[] = [];
      const p = { data: arena.alloc(8).fill(1), grad: arena.alloc(8).fill(1) };
      const opt = new RMSProp([p], { arena, lr: (t) => (seen.push(t), 0.01) });
      opt.step();
      growMemory(arena);
      expectError(() => opt.step(), RangeError, `RMSProp.step: invalid data: expected a Float32Array of length 8 (as registered), got ${DETACHED} (group 0, param 0)`);
      expectError(() => opt.step(), RangeError, `RMSProp.step: invalid data: expected a Float32Array of length 8 (as registered), got ${DETACHED} (group 0, param 0)`);
      expect(opt.getState(p)!.step).toBe(1);
      expect(seen).toEqual([0, 1, 1]); // the update index did not advance
    });

    it('throws on step for parameters stepped as one span', () => {
      const arena = createArena(256);
      const data = arena.alloc(12).fill(1);
      const grad = arena.alloc(12).fill(0.5);
      const params = [0, 4, 8].map((k) => ({ data: data.subarray(k, k + 4), grad: grad.subarray(k, k + 4) }));
      const opt = new RMSProp(params, { arena, momentum: 0.5 });
      opt.step();
      opt.step();
      growMemory(arena);
      expectError(() => opt.step(), RangeError, `RMSProp.step: invalid data: expected a Float32Array of length 4 (as registered), got ${DETACHED} (group 0, param 0)`);
      for (const p of params) expect(opt.getState(p)!.step).toBe(2);
    });

    it('throws on step when the data is replaced but the state is lost', () => {
      const arena = createArena(64);
      const p: { data: Float32Array; grad: Float32Array } = { data: arena.alloc(8).fill(1), grad: new Float32Array(8).fill(1) };
      const opt = new RMSProp([p], { arena });
      opt.step();
      growMemory(arena);
      p.data = new Float32Array(8).fill(1);
      expectError(() => opt.step(), Error, 'RMSProp.step: the state of (group 0, param 0) is detached (transferred, or the arena\'s memory grew): its values are lost');
      expect(Array.from(p.data)).toEqual(new Array(8).fill(1));
    });

    it('throws on stateDict rather than saving empty buffers', () => {
      const arena = createArena(64);
      const p = { data: arena.alloc(8), grad: arena.alloc(8) };
      const opt = new RMSProp([p], { arena });
      growMemory(arena);
      expectError(() => opt.stateDict(), Error, 'RMSProp.stateDict: the state of (group 0, param 0) is detached (transferred, or the arena\'s memory grew): its values are lost');
    });
  });
});
