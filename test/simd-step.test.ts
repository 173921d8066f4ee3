import { describe, expect, it } from 'vitest';
import { RMSProp, createArena, createState, rmspropDefaults, rmspropStep, stateFromJSON, stateToJSON } from '../src/index.js';
import type { RMSPropHyper, RMSPropOptions } from '../src/index.js';
import { trajectoryError } from './support/compare.js';
import { label, switchCombinations } from './support/configs.js';
import { normals, rng } from './support/random.js';
import { replay } from './support/replay.js';
import { loadTorchFixture } from './support/torch-fixture.js';

// Every combination of the switches that has an effect, as in the kernel's table, but centered
// with bias correction: ill-conditioned on its first step, so that a float32 computation cannot
// follow a float64 one; the arena declines it and the class steps it with the TS kernel (below).
const CONFIGS: RMSPropHyper[] = switchCombinations((h) => h.centered && h.biasCorrection);
CONFIGS.push(
  { ...rmspropDefaults, maximize: true, momentum: 0.5, centered: true },
  { ...rmspropDefaults, lr: 0.1, alpha: 0.9, eps: 1e-3, initialAccumulator: 1 },
);

describe('the SIMD kernel (Arena.step)', () => {
  it.each(CONFIGS.map((h) => [label(h), h] as const))('equals the TS kernel within float32 rounding: %s', (_l, hyper) => {
    const arena = createArena(1 << 14);
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
        expect(arena.step(p, g, s, hyper)).toBe(true);
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
    const ga = arena.alloc(5);
    const mb = arena.alloc(5);
    const after = arena.alloc(4).fill(7);
    // Views that are not whole allocations: the kernel must stop at their ends.
    for (const hyper of [rmspropDefaults, { ...rmspropDefaults, centered: true, momentum: 0.9 }]) {
      const pView = p.subarray(0, 3);
      const state = { squareAvg: sq.subarray(0, 3), gradAvg: ga.subarray(0, 3), momentumBuffer: mb.subarray(0, 3), step: 0 };
      expect(arena.step(pView, g.subarray(0, 3), state, hyper)).toBe(true);
      expect(Array.from(p.subarray(3))).toEqual([1, 1]);
      for (const x of [sq, ga, mb]) expect(Array.from(x.subarray(3))).toEqual([0, 0]);
      for (const guard of [before, between, after]) expect(guard.every((x) => x === 7)).toBe(true);
      expect(pView[0]).not.toBe(1);
    }
  });

  it('steps views of odd offsets and lengths in place, as the TS kernel does', () => {
    const arena = createArena(1024);
    const hyper = { ...rmspropDefaults, momentum: 0.9, centered: true };
    const data = arena.alloc(40);
    const grad = arena.alloc(40);
    data.set(normals(rng(7), 40));
    grad.set(normals(rng(8), 40));
    const p = data.subarray(3, 38); // 35 elements, 12 bytes past a 16-byte boundary
    const g = grad.subarray(1, 36);
    const s = createState(p, hyper, (like) => arena.alloc(like.length).subarray(0, like.length));
    const q = Float32Array.from(p);
    const sq = createState(q, hyper);
    expect(arena.step(p, g, s, hyper)).toBe(true);
    rmspropStep(q, Float32Array.from(g), sq, hyper);
    expect(trajectoryError([[Array.from(p)]], [[Array.from(q)]], 'float32')).toBeLessThanOrEqual(1e-6);
  });
});

describe('RMSProp with an arena', () => {
  const fixture = loadTorchFixture();

  it.each(fixture.cases.filter((c) => c.dtype === 'float32').map((c) => [c.name, c] as const))(
    'reproduces PyTorch through the SIMD path: %s',
    (_n, c) => {
      // The same replay, with every parameter and gradient in an arena.
      const arena = createArena(1 << 16);
      const { worst, opt } = replay(c, arena);
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

  /** The same run with and without the arena; the parameters after each. */
  function both(options: RMSPropOptions, grads: (t: number) => number[], n: number, steps: number): { arena: Float32Array; plain: Float32Array } {
    const arena = createArena(4096);
    const a = { data: arena.alloc(n), grad: arena.alloc(n) };
    const b = { data: new Float32Array(n), grad: new Float32Array(n) };
    const init = normals(rng(2), n);
    a.data.set(init);
    b.data.set(init);
    const optA = new RMSProp([a], { ...options, arena });
    const optB = new RMSProp([b], options);
    expect(arena.owns(optA.getState(a)!.squareAvg)).toBe(true);
    for (let t = 0; t < steps; t++) {
      a.grad.set(grads(t));
      b.grad.set(grads(t));
      optA.step();
      optB.step();
    }
    return { arena: a.data, plain: b.data };
  }

  it('steps centered + biasCorrection with the TS kernel, bit for bit', () => {
    const { arena, plain } = both({ centered: true, biasCorrection: true, momentum: 0.5 }, (t) => normals(rng(3 + t), 9), 9, 4);
    expect(Array.from(arena)).toEqual(Array.from(plain));
  });

  it('steps eps 1e-50 (0 in float32) with the TS kernel: finite, bit for bit', () => {
    // Zero gradients make 0 / (sqrt(0) + eps): 0 with eps 1e-50, 0 / 0 = NaN with eps 0.
    const grads = (t: number): number[] => normals(rng(3 + t), 9).map((x, i) => (i % 3 === 0 ? 0 : x));
    for (const options of [{ eps: 1e-50 }, { eps: 1e-50, momentum: 0.9, centered: true }, { eps: 1e-50, epsInSqrt: true }]) {
      const { arena, plain } = both(options, grads, 9, 5);
      expect(arena.every(Number.isFinite)).toBe(true);
      expect(Array.from(arena)).toEqual(Array.from(plain));
    }
  });

  it('steps an lr or weightDecay that overflows float32 with the TS kernel, bit for bit', () => {
    for (const options of [{ lr: 1e39 }, { weightDecay: 1e39, lr: 1e-45 }, { lr: 1e20, weightDecay: 1e20, decoupledWeightDecay: true }]) {
      const { arena, plain } = both(options, (t) => normals(rng(3 + t), 5), 5, 2);
      expect(Array.from(arena)).toEqual(Array.from(plain));
    }
  });

  it.each([
    { centered: true },
    { centered: true, momentum: 0.9 },
    { centered: true, epsInSqrt: true },
    { centered: true, momentum: 0.9, nesterov: true, lrInMomentum: true },
    { centered: true, weightDecay: 0.1 },
    { centered: true, weightDecay: 0.1, decoupledWeightDecay: true },
    { centered: true, maximize: true, alpha: 0.5 },
    { centered: false },
  ])('never produces NaN from gradients of 3e38, whose squares overflow float32: %o', (options) => {
    const n = 7; // four lanes and a tail of three
    const random = rng(11);
    const grads = (t: number): number[] =>
      normals(random, n).map((x, i) => ((t + i) % 4 === 0 ? 0.5 * x : Math.sign(x) * 3e38));
    const arena = createArena(1024);
    const p = { data: arena.alloc(n).fill(1), grad: arena.alloc(n) };
    const opt = new RMSProp([p], { ...options, arena });
    const hyper: RMSPropHyper = { ...rmspropDefaults, ...options };
    // The same run straight through the kernel, to be sure it is the SIMD path that runs.
    const q = arena.alloc(n).fill(1);
    const g = arena.alloc(n);
    const s = createState(q, hyper, (like) => arena.alloc(like.length));
    for (let t = 0; t < 8; t++) {
      p.grad.set(grads(t));
      g.set(p.grad);
      opt.step();
      expect(arena.step(q, g, s, hyper)).toBe(true);
      for (const x of [p.data, q]) expect(Array.from(x).filter((v) => !Number.isFinite(v)), `step ${t}`).toEqual([]);
      for (const state of [opt.getState(p)!, s]) {
        for (const b of [state.squareAvg, state.gradAvg, state.momentumBuffer]) if (b !== null) expect(b.some(Number.isNaN), `step ${t}`).toBe(false);
      }
    }
    expect(Array.from(p.data)).toEqual(Array.from(q));
  });

  it('gives momentum switched on later its buffer outside a full arena, and steps it as the TS kernel', () => {
    const arena = createArena(24); // data, grad and squareAvg of 8: nothing left
    const a = { data: arena.alloc(8), grad: arena.alloc(8) };
    const b = { data: new Float32Array(8), grad: new Float32Array(8) };
    const optA = new RMSProp([a], { arena });
    const optB = new RMSProp([b]);
    for (const [p, opt] of [[a, optA], [b, optB]] as const) {
      p.data.set(normals(rng(4), 8));
      p.grad.set(normals(rng(5), 8));
      opt.paramGroups[0]!.momentum = 0.9;
      opt.paramGroups[0]!.centered = true;
      opt.step();
      opt.step();
    }
    expect(arena.owns(optA.getState(a)!.momentumBuffer!)).toBe(false);
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
  });

  it('saves and restores arena state like any other, structured-clone and JSON alike', () => {
    const arena = createArena(4096);
    const make = (): { data: Float32Array; grad: Float32Array; name: string } => ({ data: arena.alloc(10).fill(1), grad: arena.alloc(10), name: 'w' });
    const a = make();
    const opt = new RMSProp([a], { arena, centered: true });
    a.grad.set(normals(rng(1), 10));
    opt.step();
    for (const copy of [(x: unknown) => structuredClone(x), (x: unknown) => stateFromJSON(stateToJSON(x))]) {
      const saved = opt.stateDict();
      const b = make();
      b.data.set(a.data);
      const opt2 = new RMSProp([b], { arena });
      opt2.loadStateDict(copy(saved) as typeof saved);
      expect(arena.owns(opt2.getState(b)!.gradAvg!)).toBe(true);
      expect(Array.from(opt2.getState(b)!.gradAvg!)).toEqual(Array.from(opt.getState(a)!.gradAvg!));
      b.grad.set(a.grad);
      const reference = Float32Array.from(a.data);
      const again = { data: reference, grad: Float32Array.from(a.grad), name: 'w' };
      const opt3 = new RMSProp([again], { arena: createArena(64) }); // its state outside any arena of its data
      opt3.loadStateDict(copy(saved) as typeof saved);
      opt2.step();
      opt3.step();
      // b through the SIMD kernel, `again` through the TS kernel, from the same state.
      expect(trajectoryError([[Array.from(b.data)]], [[Array.from(reference)]], 'float32')).toBeLessThanOrEqual(1e-6);
    }
  });
});
