import { describe, expect, it } from 'vitest';
import { arenaKernel, createArena } from '../src/arena.js';
import { RMSProp, createState, rmspropDefaults, rmspropStep } from '../src/index.js';
import type { RMSPropHyper, RMSPropState } from '../src/index.js';
import { simdStep } from '../src/simd-step.js';
import { trajectoryError } from './support/compare.js';
import { label, switchCombinations } from './support/configs.js';
import { normals, rng } from './support/random.js';
import { replay } from './support/replay.js';
import { loadTorchFixture } from './support/torch-fixture.js';

// Every combination of the switches that has an effect, as in the kernel's table, but centered
// with bias correction: ill-conditioned on its first step, so that a float32 computation cannot
// follow a float64 one; the class steps it with the TS kernel (tested below).
const CONFIGS: RMSPropHyper[] = switchCombinations((h) => h.centered && h.biasCorrection);
CONFIGS.push(
  { ...rmspropDefaults, maximize: true, momentum: 0.5, centered: true },
  { ...rmspropDefaults, lr: 0.1, alpha: 0.9, eps: 1e-3, initialAccumulator: 1 },
);

describe('the SIMD kernel', () => {
  it.each(CONFIGS.map((h) => [label(h), h] as const))('equals the TS kernel within float32 rounding: %s', (_l, hyper) => {
    const arena = createArena(1 << 14);
    const kernel = arenaKernel(arena)!;
    const random = rng(5);
    for (const n of [0, 1, 3, 4, 5, 8, 17, 64]) {
      const init = normals(random, n).map(Math.fround);
      const p = arena.alloc(n);
      p.set(init);
      const g = arena.alloc(n);
      const s = createState(p, hyper, (like) => arena.alloc(like.length));
      const q = Float32Array.from(init);
      const sq = createState(q, hyper);
      const ours: number[][][] = [];
      const ts: number[][][] = [];
      for (let t = 0; t < 12; t++) {
        g.set(normals(random, n, t % 3 === 0 ? 30 : 0.5));
        simdStep(kernel, p, g, s as RMSPropState<Float32Array>, hyper);
        rmspropStep(q, Float32Array.from(g), sq, hyper);
        ours.push([Array.from(p), Array.from(s.squareAvg)]);
        ts.push([Array.from(q), Array.from(sq.squareAvg)]);
      }
      expect(trajectoryError(ours, ts, 'float32')).toBeLessThanOrEqual(1e-5);
      expect(s.step).toBe(12);
    }
  });

  it('touches nothing outside the views it is given, tail elements included', () => {
    const arena = createArena(256);
    const before = arena.alloc(4).fill(7);
    const p = arena.alloc(5).fill(1);
    const between = arena.alloc(3).fill(7);
    const g = arena.alloc(5).fill(0.5);
    const sq = arena.alloc(5);
    const after = arena.alloc(4).fill(7);
    // Views that are not whole allocations: the kernel must stop at their ends.
    const pView = p.subarray(0, 3);
    simdStep(arenaKernel(arena)!, pView, g.subarray(0, 3), { squareAvg: sq.subarray(0, 3), gradAvg: null, momentumBuffer: null, step: 0 }, rmspropDefaults);
    expect(Array.from(p.subarray(3))).toEqual([1, 1]);
    expect(Array.from(sq.subarray(3))).toEqual([0, 0]);
    for (const guard of [before, between, after]) expect(guard.every((x) => x === 7)).toBe(true);
    expect(pView[0]).not.toBe(1);
  });
});

describe('RMSProp with an arena', () => {
  const fixture = loadTorchFixture();

  it.each(fixture.cases.filter((c) => c.dtype === 'float32').map((c) => [c.name, c] as const))(
    'reproduces PyTorch through the SIMD path: %s',
    (_n, c) => {
      // The same replay, with every parameter and gradient in an arena.
      const arena = createArena(1 << 16);
      const inArena = { ...c, init: c.init };
      const { worst, opt } = replay(inArena, arena);
      expect(worst).toBeLessThanOrEqual(1e-5);
      for (const g of opt.paramGroups) for (const p of g.params) expect(arena.owns(opt.getState(p)!.squareAvg)).toBe(true);
    },
  );

  it('steps parameters outside the arena with the TS kernel, in the same optimizer', () => {
    const arena = createArena(1024);
    const a = { data: arena.alloc(6), grad: arena.alloc(6) };
    const b = { data: new Float32Array(6), grad: new Float32Array(6) };
    const c = { data: new Float64Array(6), grad: new Float64Array(6) };
    for (const p of [a, b, c]) {
      p.data.set([1, 2, 3, -1, -2, -3]);
      p.grad.set([0.5, -0.5, 1, 2, -3, 0.25]);
    }
    const opt = new RMSProp([a, b, c], { arena, momentum: 0.9 });
    expect(arena.owns(opt.getState(a)!.squareAvg)).toBe(true);
    expect(arena.owns(opt.getState(b)!.squareAvg)).toBe(false);
    for (let t = 0; t < 5; t++) opt.step();
    expect(trajectoryError([[Array.from(a.data)]], [[Array.from(b.data)]], 'float32')).toBeLessThanOrEqual(1e-6);
    // Not bit for bit: a ran through the float32 SIMD kernel, b through the float64 TS one.
    expect(Array.from(a.data)).not.toEqual(Array.from(b.data));
    expect(trajectoryError([[Array.from(c.data)]], [[Array.from(b.data)]], 'float32')).toBeLessThanOrEqual(1e-6);
  });

  it('steps centered + biasCorrection with the TS kernel, bit for bit', () => {
    const arena = createArena(1024);
    const a = { data: arena.alloc(9), grad: arena.alloc(9) };
    const b = { data: new Float32Array(9), grad: new Float32Array(9) };
    for (const p of [a, b]) {
      p.data.set(normals(rng(2), 9));
      p.grad.set(normals(rng(3), 9));
    }
    const options = { centered: true, biasCorrection: true, momentum: 0.5 };
    const optA = new RMSProp([a], { ...options, arena });
    const optB = new RMSProp([b], options);
    for (let t = 0; t < 4; t++) {
      optA.step();
      optB.step();
    }
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
  });

  it('rejects a full arena before registering anything, and a non-arena', () => {
    const arena = createArena(16);
    const p = { data: arena.alloc(8), grad: arena.alloc(4) };
    expect(() => new RMSProp([p], { arena, momentum: 0.9 })).toThrow(
      new RangeError('RMSProp: the arena is full: the state of these parameters needs 16 float32 values, 4 are free; create a larger arena'),
    );
    expect(arena.used).toBe(12);
    expect(() => new RMSProp([p], { arena: {} as never })).toThrow(new TypeError('RMSProp: invalid arena: expected an arena from createArena(), got an object'));
  });

  it('saves and restores arena state like any other', () => {
    const arena = createArena(4096);
    const make = (): { data: Float32Array; grad: Float32Array; name: string } => ({ data: arena.alloc(10).fill(1), grad: arena.alloc(10), name: 'w' });
    const a = make();
    const opt = new RMSProp([a], { arena, centered: true });
    a.grad.set(normals(rng(1), 10));
    opt.step();
    const b = make();
    b.data.set(a.data);
    const opt2 = new RMSProp([b], { arena });
    opt2.loadStateDict(JSON.parse(JSON.stringify(opt.stateDict())));
    expect(arena.owns(opt2.getState(b)!.gradAvg!)).toBe(true);
    b.grad.set(a.grad);
    opt.step();
    opt2.step();
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
  });
});
