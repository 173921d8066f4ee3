import { describe, expect, it } from 'vitest';
import { RMSProp, SparseRows, clipGradNorm, createArena, rmspropDefaults } from '../src/index.js';
import type { FloatArray, ParamGroup, ParamRef, RMSPropOptions } from '../src/index.js';
import { expectError } from './support/expect-error.js';
import { normals, rng } from './support/random.js';
import { replay } from './support/replay.js';
import { loadTorchFixture } from './support/torch-fixture.js';

interface Param {
  readonly data: FloatArray;
  grad: FloatArray | null;
  readonly name?: string;
}

const fixture = loadTorchFixture();

describe('RMSProp reproduces torch.optim.RMSprop', () => {
  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const { opt, params, worst: error } = replay(c);
    // float32: PyTorch rounds after every operation, this library once per stored value, so the
    // two agree to float32 rounding, not bit for bit. float64 follows PyTorch's operation order.
    expect(error).toBeLessThanOrEqual(c.dtype === 'float64' ? 1e-12 : 1e-5);
    // The final state as well: step counts and every buffer.
    c.finalState.forEach((expected, i) => {
      const state = opt.getState(params[i]!)!;
      expect(state.step).toBe(expected.step);
      const tolerance = c.dtype === 'float64' ? 1e-12 : 1e-5;
      // Subnormal values carry fewer significant bits: relative error is measured against at
      // least the smallest normal number of the type.
      const smallestNormal = c.dtype === 'float64' ? 2 ** -1022 : 2 ** -126;
      for (const key of ['squareAvg', 'gradAvg', 'momentumBuffer'] as const) {
        const want = expected[key];
        const got = state[key];
        if (want === null) continue; // torch never created it; ours may exist but is unused
        expect(got).not.toBeNull();
        let scale = smallestNormal;
        for (const x of want) scale = Math.max(scale, Math.abs(x));
        want.forEach((x, j) => {
          expect(Math.abs(got![j]! - x)).toBeLessThanOrEqual(tolerance * Math.max(Math.abs(x), scale));
        });
      }
    });
  });

  it('stays within 1e-5 (float32) and 1e-12 (float64) over every case, and prints the worst', () => {
    const worst = { float32: 0, float64: 0 };
    const rows = fixture.cases.map((c) => {
      const e = replay(c).worst;
      worst[c.dtype] = Math.max(worst[c.dtype], e);
      return `${e.toExponential(2)}  ${c.dtype}  ${c.name}`;
    });
    // Printed by `npx vitest run test/optimizer.test.ts`; docs/algorithm.md quotes it.
    console.log(`worst trajectory error (test/support/compare.ts) against torch ${fixture.torch}, per case:\n${rows.join('\n')}`);
    expect(worst.float32).toBeLessThanOrEqual(1e-5);
    expect(worst.float64).toBeLessThanOrEqual(1e-12);
  });
});

function makeParams(seed: number, sizes: readonly number[] = [5, 1, 12]): Param[] {
  const random = rng(seed);
  return sizes.map((n, i) => ({ data: Float32Array.from(normals(random, n)), grad: new Float32Array(n), name: `s${seed}p${i}` }));
}

function copyParams(params: readonly Param[]): Param[] {
  return params.map((p) => ({ data: p.data.slice(), grad: p.grad && p.grad.slice(), ...(p.name ? { name: p.name } : {}) }));
}

function fillGrads(params: readonly Param[], seed: number): void {
  const random = rng(seed);
  for (const p of params) if (p.grad) p.grad.set(normals(random, p.grad.length));
}

/** Parameters and every state buffer, bit for bit. */
function snapshot(opt: RMSProp): unknown[] {
  const bits = (a: FloatArray | null): number[] | null => (a === null ? null : Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)));
  return opt.paramGroups.flatMap((g) =>
    g.params.map((p) => {
      const s = opt.getState(p)!;
      return [bits(p.data), bits(s.squareAvg), bits(s.gradAvg), bits(s.momentumBuffer), s.step];
    }),
  );
}

describe('RMSProp', () => {
  it('skips a parameter whose grad is null and leaves its state as it was', () => {
    const params = makeParams(1);
    const opt = new RMSProp(params, { momentum: 0.9 });
    fillGrads(params, 2);
    opt.step();
    const before = params[1]!.data.slice();
    const stateBefore = opt.getState(params[1]!)!.squareAvg.slice();
    params[1]!.grad = null;
    fillGrads(params, 3);
    opt.step();
    expect(params[1]!.data).toEqual(before);
    expect(opt.getState(params[1]!)!.squareAvg).toEqual(stateBefore);
    expect(opt.getState(params[1]!)!.step).toBe(1);
    expect(opt.getState(params[0]!)!.step).toBe(2);
  });

  it('keys state by the parameter object, not by position', () => {
    const a = makeParams(4);
    const b = copyParams(a);
    const opt1 = new RMSProp(a);
    const opt2 = new RMSProp([b[2]!, b[0]!, b[1]!]);
    for (let t = 0; t < 3; t++) {
      fillGrads(a, 10 + t);
      fillGrads(b, 10 + t);
      opt1.step();
      opt2.step();
    }
    a.forEach((p, i) => expect(b[i]!.data).toEqual(p.data));
  });

  it('reads grad at every step, so an engine may swap gradient buffers', () => {
    const params = makeParams(5);
    const twin = copyParams(params);
    const opt = new RMSProp(params);
    const opt2 = new RMSProp(twin);
    for (let t = 0; t < 3; t++) {
      params.forEach((p) => (p.grad = new Float32Array(p.data.length)));
      fillGrads(params, t);
      fillGrads(twin, t);
      opt.step();
      opt2.step();
    }
    params.forEach((p, i) => expect(p.data).toEqual(twin[i]!.data));
  });

  it('reads the group hyperparameters at every step', () => {
    const params = makeParams(6);
    const opt = new RMSProp(params, { lr: 0.1 });
    opt.paramGroups[0]!.lr = 0;
    fillGrads(params, 1);
    const before = params.map((p) => p.data.slice());
    opt.step();
    params.forEach((p, i) => expect(p.data).toEqual(before[i]));
    opt.paramGroups[0]!.lr = 0.1;
    opt.step();
    expect(params[0]!.data).not.toEqual(before[0]);
  });

  it('allocates the missing buffer when momentum or centered is switched on later', () => {
    const params = makeParams(7);
    const opt = new RMSProp(params);
    const s = opt.getState(params[0]!)!;
    expect(s.momentumBuffer).toBeNull();
    expect(s.gradAvg).toBeNull();
    fillGrads(params, 1);
    opt.step();
    opt.paramGroups[0]!.momentum = 0.5;
    opt.paramGroups[0]!.centered = true;
    opt.step();
    expect(s.momentumBuffer).toBeInstanceOf(Float32Array);
    expect(s.gradAvg).toBeInstanceOf(Float32Array);
    expect(s.momentumBuffer!.some((x) => x !== 0)).toBe(true);
  });

  it('resolves group options over the optimizer options over the defaults', () => {
    const [a, b, c] = makeParams(8);
    const opt = new RMSProp([{ params: [a!] }, { params: [b!], lr: 0.5, centered: true }], { lr: 0.2, momentum: 0.1 });
    const base = { ...rmspropDefaults, frozen: false };
    expect(opt.defaults).toEqual({ ...base, lr: 0.2, momentum: 0.1 });
    const { params: _p0, ...g0 } = opt.paramGroups[0]!;
    const { params: _p1, ...g1 } = opt.paramGroups[1]!;
    expect(g0).toEqual({ ...base, lr: 0.2, momentum: 0.1 });
    expect(g1).toEqual({ ...base, lr: 0.5, momentum: 0.1, centered: true });
    opt.addParamGroup({ params: [c!], alpha: 0.9 });
    const { params: _p2, ...g2 } = opt.paramGroups[2]!;
    expect(g2).toEqual({ ...base, lr: 0.2, momentum: 0.1, alpha: 0.9 });
    expect(opt.getState(c!)!.momentumBuffer).toBeInstanceOf(Float32Array);
  });

  it('steps two groups exactly like two optimizers', () => {
    const a = makeParams(9);
    const b = copyParams(a);
    const opt = new RMSProp([{ params: [a[0]!, a[1]!], momentum: 0.9 }, { params: [a[2]!], centered: true, lr: 0.05 }]);
    const opt1 = new RMSProp([b[0]!, b[1]!], { momentum: 0.9 });
    const opt2 = new RMSProp([b[2]!], { centered: true, lr: 0.05 });
    for (let t = 0; t < 4; t++) {
      fillGrads(a, t);
      fillGrads(b, t);
      opt.step();
      opt1.step();
      opt2.step();
    }
    a.forEach((p, i) => expect(p.data).toEqual(b[i]!.data));
  });

  it('zeroGrad fills every gradient with zeros and leaves null alone', () => {
    const params = makeParams(10);
    params[1]!.grad = null;
    fillGrads(params, 1);
    new RMSProp(params).zeroGrad();
    expect(params[0]!.grad!.every((x) => x === 0)).toBe(true);
    expect(params[1]!.grad).toBeNull();
    expect(params[2]!.grad!.every((x) => x === 0)).toBe(true);
  });

  it('updates subarray views of one flat buffer and nothing around them', () => {
    const flat = new Float32Array(40).fill(9);
    const grads = new Float32Array(40).fill(1);
    const views: Param[] = [
      { data: flat.subarray(2, 10), grad: grads.subarray(2, 10) },
      { data: flat.subarray(10, 11), grad: grads.subarray(10, 11) },
      { data: flat.subarray(20, 37), grad: grads.subarray(20, 37) },
    ];
    const copies: Param[] = views.map((v) => ({ data: v.data.slice(), grad: v.grad!.slice() }));
    const opt = new RMSProp(views, { momentum: 0.5, centered: true });
    const ref = new RMSProp(copies, { momentum: 0.5, centered: true });
    for (let t = 0; t < 3; t++) {
      opt.step();
      ref.step();
    }
    views.forEach((v, i) => expect(v.data).toEqual(copies[i]!.data));
    for (const i of [0, 1, 11, 12, 13, 14, 15, 16, 17, 18, 19, 37, 38, 39]) expect(flat[i]).toBe(9);
    expect(flat[2]).not.toBe(9);
  });

  it('updates Float64Array parameters in float64', () => {
    const p: Param = { data: new Float64Array([1, 2]), grad: new Float64Array([0.5, -0.5]) };
    const opt = new RMSProp([p]);
    opt.step();
    expect(opt.getState(p)!.squareAvg).toBeInstanceOf(Float64Array);
    // First step: v = (1 - alpha) g^2, p -= lr g / (sqrt(v) + eps), in float64.
    const v = (1 - 0.99) * 0.25;
    expect(p.data[0]).toBe(1 - (0.01 * 0.5) / (Math.sqrt(v) + 1e-8));
  });

  it('makes paramGroups and each group params read-only', () => {
    const params = makeParams(11);
    const opt = new RMSProp(params);
    expect(Object.isFrozen(opt.paramGroups)).toBe(true);
    expect(Object.isFrozen(opt.paramGroups[0]!.params)).toBe(true);
    expect(() => {
      (opt.paramGroups[0] as { params: readonly ParamRef[] }).params = [];
    }).toThrow(TypeError);
  });
});

// ---------------------------------------------------------------------------------------------
// Bad input: the exact message, and afterwards the optimizer steps exactly like an untouched twin.

type Ctor = new (message: string) => Error;

const CONSTRUCTOR_CASES: [string, () => unknown, Ctor, string][] = [
  ['params not an array', () => new RMSProp(null as never), TypeError, 'RMSProp: invalid params: expected an array of parameters or of parameter groups, got null'],
  ['params an empty array', () => new RMSProp([]), RangeError, 'RMSProp: invalid params: the array is empty'],
  ['parameters and groups mixed', () => { const [a, b] = makeParams(1); return new RMSProp([a!, { params: [b!] }] as never); }, TypeError, 'RMSProp: invalid params: entry 0 is a parameter but entry 1 is not; pass parameters or groups, not both'],
  ['a parameter that is not an object', () => new RMSProp([42] as never), TypeError, 'RMSProp: invalid param: expected an object with data and grad, got 42 (group 0, param 0)'],
  ['data a plain array', () => new RMSProp([{ data: [1, 2], grad: null }] as never), TypeError, 'RMSProp: invalid data: expected a Float32Array or Float64Array, got an array of length 2 (group 0, param 0)'],
  ['data an Int32Array', () => new RMSProp([...makeParams(1), { data: new Int32Array(3), grad: null }] as never), TypeError, 'RMSProp: invalid data: expected a Float32Array or Float64Array, got an Int32Array of length 3 (group 0, param 3)'],
  ['an empty name', () => new RMSProp([{ data: new Float32Array(1), grad: null, name: '' }]), TypeError, 'RMSProp: invalid name: expected a non-empty string or no name, got string "" (group 0, param 0)'],
  ['a parameter twice', () => { const [a, b] = makeParams(1); return new RMSProp([{ params: [a!, b!] }, { params: [a!] }]); }, Error, 'RMSProp: a parameter appears twice: (group 0, param 0) and (group 1, param 0)'],
  ['a name twice', () => { const [a, b] = makeParams(1); return new RMSProp([a!, { ...b!, name: 's1p0' }]); }, Error, 'RMSProp: duplicate parameter name "s1p0": (group 0, param 0) and (group 0, param 1)'],
  ['two parameters sharing memory', () => { const f = new Float32Array(10); return new RMSProp([{ data: f.subarray(0, 6), grad: null }, { data: f.subarray(8), grad: null }, { data: f.subarray(5, 7), grad: null }]); }, Error, 'RMSProp: data (group 0, param 2) shares memory with the data of (group 0, param 0)'],
  ['an empty group', () => new RMSProp([{ params: makeParams(1) }, { params: [] }]), RangeError, 'RMSProp: group 1 has no parameters'],
  ['group params not an array', () => new RMSProp([{ params: makeParams(1) }, { params: 'w' }] as never), TypeError, 'RMSProp: invalid params in group 1: expected an array, got string "w"'],
  ['options not an object', () => new RMSProp(makeParams(1), 0.01 as never), TypeError, 'RMSProp: invalid options: expected an object, got 0.01'],
  ['an unknown option', () => new RMSProp(makeParams(1), { rho: 0.9 } as never), TypeError, 'RMSProp: unknown option "rho" (did you mean alpha?); the options are lr, alpha, eps, weightDecay, momentum, centered, maximize, epsInSqrt, lrInMomentum, nesterov, initialAccumulator, biasCorrection, decoupledWeightDecay, frozen'],
  ['an unknown group option', () => new RMSProp([{ params: makeParams(1), weight_decay: 0.1 }] as never), TypeError, 'RMSProp: unknown option "weight_decay" in group 0 (did you mean weightDecay?); the options are lr, alpha, eps, weightDecay, momentum, centered, maximize, epsInSqrt, lrInMomentum, nesterov, initialAccumulator, biasCorrection, decoupledWeightDecay, frozen'],
  ['lr negative', () => new RMSProp(makeParams(1), { lr: -1 }), RangeError, 'RMSProp: invalid lr: expected a finite number >= 0, got -1'],
  ['lr NaN', () => new RMSProp(makeParams(1), { lr: NaN }), RangeError, 'RMSProp: invalid lr: expected a finite number >= 0, got NaN'],
  ['lr Infinity', () => new RMSProp(makeParams(1), { lr: Infinity }), RangeError, 'RMSProp: invalid lr: expected a finite number >= 0, got Infinity'],
  ['lr a string', () => new RMSProp(makeParams(1), { lr: '0.1' } as never), TypeError, 'RMSProp: invalid lr: expected a finite number >= 0, got string "0.1"'],
  ['alpha 1', () => new RMSProp(makeParams(1), { alpha: 1 }), RangeError, 'RMSProp: invalid alpha: expected a number in [0, 1), got 1'],
  ['alpha negative', () => new RMSProp(makeParams(1), { alpha: -0.5 }), RangeError, 'RMSProp: invalid alpha: expected a number in [0, 1), got -0.5'],
  ['eps 0', () => new RMSProp(makeParams(1), { eps: 0 }), RangeError, 'RMSProp: invalid eps: expected a finite number > 0, got 0'],
  ['eps -0', () => new RMSProp(makeParams(1), { eps: -0 }), RangeError, 'RMSProp: invalid eps: expected a finite number > 0, got -0'],
  ['weightDecay negative', () => new RMSProp(makeParams(1), { weightDecay: -1e-4 }), RangeError, 'RMSProp: invalid weightDecay: expected a finite number >= 0, got -0.0001'],
  ['momentum 1', () => new RMSProp(makeParams(1), { momentum: 1 }), RangeError, 'RMSProp: invalid momentum: expected a number in [0, 1), got 1'],
  ['momentum a bigint', () => new RMSProp(makeParams(1), { momentum: 0n } as never), TypeError, 'RMSProp: invalid momentum: expected a number in [0, 1), got bigint 0n'],
  ['centered a string', () => new RMSProp(makeParams(1), { centered: 'yes' } as never), TypeError, 'RMSProp: invalid centered: expected a boolean, got string "yes"'],
  ['maximize a number', () => new RMSProp(makeParams(1), { maximize: 1 } as never), TypeError, 'RMSProp: invalid maximize: expected a boolean, got 1'],
  ['a bad option in a group', () => new RMSProp([{ params: makeParams(1) }, { params: makeParams(2), lr: -3 }]), RangeError, 'RMSProp: invalid lr in group 1: expected a finite number >= 0, got -3'],
  ['a group that is not an object', () => new RMSProp([{ params: makeParams(1) }, null] as never), TypeError, 'RMSProp: invalid params: entry 0 is a group but entry 1 is not; pass parameters or groups, not both'],
];

describe('new RMSProp with bad input', () => {
  it.each(CONSTRUCTOR_CASES)('rejects %s', (_name, call, type, message) => {
    expectError(call, type, message);
  });

  it('accepts options given as undefined as not given', () => {
    const opt = new RMSProp(makeParams(1), { lr: undefined } as unknown as RMSPropOptions);
    expect(opt.defaults.lr).toBe(0.01);
  });
});

interface Pair {
  readonly params: Param[];
  readonly opt: RMSProp;
  readonly twinParams: Param[];
  readonly twin: RMSProp;
}

/** Two identical optimizers over identical parameters, two groups, a few steps in. */
function pair(): Pair {
  const params = makeParams(21, [5, 1, 12, 3]);
  const twinParams = copyParams(params);
  const build = (ps: Param[]): RMSProp =>
    new RMSProp([{ params: [ps[0]!, ps[1]!], momentum: 0.9 }, { params: [ps[2]!, ps[3]!], centered: true }], { weightDecay: 0.01 });
  const pr = { params, opt: build(params), twinParams, twin: build(twinParams) };
  for (let t = 0; t < 2; t++) {
    fillGrads(params, 100 + t);
    fillGrads(twinParams, 100 + t);
    pr.opt.step();
    pr.twin.step();
  }
  return pr;
}

function expectTwins(pr: Pair): void {
  expect(snapshot(pr.opt)).toEqual(snapshot(pr.twin));
  // And they keep stepping alike.
  fillGrads(pr.params, 7);
  fillGrads(pr.twinParams, 7);
  pr.opt.step();
  pr.twin.step();
  expect(snapshot(pr.opt)).toEqual(snapshot(pr.twin));
  expect(pr.opt.paramGroups.length).toBe(pr.twin.paramGroups.length);
}

type Mutation = (pr: Pair) => () => void; // breaks something, returns the repair

const STEP_CASES: [string, Mutation, Ctor, string][] = [
  ['grad of another length', (pr) => { const p = pr.params[3]!; const g = p.grad; p.grad = new Float32Array(2); return () => (p.grad = g); }, RangeError, 'RMSProp.step: invalid grad: expected a Float32Array of length 3 or null, got a Float32Array of length 2 (group 1, param 1)'],
  ['grad of another type', (pr) => { const p = pr.params[3]!; const g = p.grad; p.grad = new Float64Array(3); return () => (p.grad = g); }, TypeError, 'RMSProp.step: invalid grad: expected a Float32Array of length 3 or null, got a Float64Array of length 3 (group 1, param 1)'],
  ['grad a plain array', (pr) => { const p = pr.params[3]!; const g = p.grad; p.grad = [1, 2, 3] as never; return () => (p.grad = g); }, TypeError, 'RMSProp.step: invalid grad: expected a Float32Array of length 3 or null, got an array of length 3 (group 1, param 1)'],
  ['grad undefined', (pr) => { const p = pr.params[3]!; const g = p.grad; p.grad = undefined as never; return () => (p.grad = g); }, TypeError, 'RMSProp.step: invalid grad: expected a Float32Array of length 3 or null, got undefined (group 1, param 1)'],
  ['grad sharing memory with data', (pr) => { const p = pr.params[3]!; const g = p.grad; p.grad = p.data; return () => (p.grad = g); }, Error, 'RMSProp.step: grad shares memory with data (group 1, param 1)'],
  ['data resized', (pr) => { const p = pr.params[3] as { data: FloatArray }; const d = p.data; p.data = new Float32Array(4); return () => (p.data = d); }, RangeError, 'RMSProp.step: invalid data: expected a Float32Array of length 3 (as registered), got a Float32Array of length 4 (group 1, param 1)'],
  ['data retyped', (pr) => { const p = pr.params[3] as { data: FloatArray }; const d = p.data; p.data = new Float64Array(3); return () => (p.data = d); }, TypeError, 'RMSProp.step: invalid data: expected a Float32Array of length 3 (as registered), got a Float64Array of length 3 (group 1, param 1)'],
  ['lr set negative', (pr) => { const g = pr.opt.paramGroups[1]!; g.lr = -0.1; return () => (g.lr = 0.01); }, RangeError, 'RMSProp.step: invalid lr in group 1: expected a finite number >= 0, got -0.1'],
  ['lr set NaN', (pr) => { const g = pr.opt.paramGroups[1]!; g.lr = NaN; return () => (g.lr = 0.01); }, RangeError, 'RMSProp.step: invalid lr in group 1: expected a finite number >= 0, got NaN'],
  ['alpha set to 1', (pr) => { const g = pr.opt.paramGroups[1]!; g.alpha = 1; return () => (g.alpha = 0.99); }, RangeError, 'RMSProp.step: invalid alpha in group 1: expected a number in [0, 1), got 1'],
  ['eps set to 0', (pr) => { const g = pr.opt.paramGroups[1]!; g.eps = 0; return () => (g.eps = 1e-8); }, RangeError, 'RMSProp.step: invalid eps in group 1: expected a finite number > 0, got 0'],
  ['momentum set to a string', (pr) => { const g = pr.opt.paramGroups[1]! as { momentum: unknown }; g.momentum = '0.9'; return () => (g.momentum = 0); }, TypeError, 'RMSProp.step: invalid momentum in group 1: expected a number in [0, 1), got string "0.9"'],
  ['weightDecay deleted', (pr) => { const g = pr.opt.paramGroups[1]! as { weightDecay?: number }; delete g.weightDecay; return () => (g.weightDecay = 0.01); }, TypeError, 'RMSProp.step: invalid weightDecay in group 1: expected a finite number >= 0, got undefined'],
  ['centered set to 1', (pr) => { const g = pr.opt.paramGroups[1]! as { centered: unknown }; g.centered = 1; return () => (g.centered = true); }, TypeError, 'RMSProp.step: invalid centered in group 1: expected a boolean, got 1'],
];

describe('RMSProp.step with bad input', () => {
  it.each(STEP_CASES)('rejects %s and writes nothing', (_name, breakIt, type, message) => {
    const pr = pair();
    fillGrads(pr.params, 3);
    fillGrads(pr.twinParams, 3);
    const repair = breakIt(pr);
    const before = snapshot(pr.opt);
    expectError(() => pr.opt.step(), type, message);
    expectError(() => pr.opt.step(), type, message);
    expect(snapshot(pr.opt)).toEqual(before);
    repair();
    expectTwins(pr);
  });
});

const ADD_GROUP_CASES: [string, (pr: Pair) => unknown, Ctor, string][] = [
  ['a parameter already registered', (pr) => pr.opt.addParamGroup({ params: [...makeParams(3), pr.params[2]!] }), Error, 'RMSProp.addParamGroup: a parameter appears twice: (group 1, param 0) and (group 2, param 3)'],
  ['a name already used', (pr) => pr.opt.addParamGroup({ params: [{ data: new Float32Array(2), grad: null, name: 's21p3' }] }), Error, 'RMSProp.addParamGroup: duplicate parameter name "s21p3": (group 1, param 1) and (group 2, param 0)'],
  ['data overlapping a registered parameter', (pr) => pr.opt.addParamGroup({ params: [{ data: pr.params[0]!.data.subarray(4), grad: null }] }), Error, 'RMSProp.addParamGroup: data (group 2, param 0) shares memory with the data of (group 0, param 0)'],
  ['no parameters', (pr) => pr.opt.addParamGroup({ params: [] }), RangeError, 'RMSProp.addParamGroup: group 2 has no parameters'],
  ['a bad option', (pr) => pr.opt.addParamGroup({ params: makeParams(4), momentum: -0.9 }), RangeError, 'RMSProp.addParamGroup: invalid momentum in group 2: expected a number in [0, 1), got -0.9'],
  ['not an object', (pr) => pr.opt.addParamGroup(undefined as never), TypeError, 'RMSProp.addParamGroup: invalid group 2: expected an object with params, got undefined'],
];

describe('RMSProp.addParamGroup with bad input', () => {
  it.each(ADD_GROUP_CASES)('rejects %s and registers nothing', (_name, call, type, message) => {
    const pr = pair();
    expectError(() => call(pr), type, message);
    expect(pr.opt.paramGroups.length).toBe(2);
    expectTwins(pr);
  });

  it('registers nothing from a rejected group, so its good parameters can be added later', () => {
    const pr = pair();
    const fresh = makeParams(30);
    expect(() => pr.opt.addParamGroup({ params: [...fresh, pr.params[0]!] })).toThrow(Error);
    expect(pr.opt.getState(fresh[0]!)).toBeUndefined();
    pr.opt.addParamGroup({ params: fresh });
    expect(pr.opt.paramGroups.length).toBe(3);
  });
});

describe('RMSProp.zeroGrad with bad input', () => {
  it('rejects a grad that is not a float buffer before zeroing anything', () => {
    const params = makeParams(12);
    fillGrads(params, 1);
    const opt = new RMSProp(params);
    const first = params[0]!.grad!.slice();
    params[2]!.grad = 'grad' as never;
    expectError(() => opt.zeroGrad(), TypeError, 'RMSProp.zeroGrad: invalid grad: expected a Float32Array of length 12 or null, got string "grad" (group 0, param 2)');
    expect(params[0]!.grad).toEqual(first);
  });
});

describe('a frozen group', () => {
  it('is skipped entirely: parameters and state bit-unchanged, its schedule not called, others stepped', () => {
    const [a, b] = [makeParams(50), makeParams(51)];
    const calls: number[] = [];
    const opt = new RMSProp([
      { params: a, lr: (t: number) => (calls.push(t), 0.01), momentum: 0.9 },
      { params: b },
    ]);
    fillGrads(a, 1);
    fillGrads(b, 1);
    opt.step();
    opt.paramGroups[0]!.frozen = true;
    const before = snapshot(opt);
    fillGrads(a, 2);
    fillGrads(b, 2);
    const bBefore = b.map((p) => p.data.slice());
    opt.step();
    const after = snapshot(opt);
    expect(after.slice(0, a.length)).toEqual((before as unknown[]).slice(0, a.length));
    b.forEach((p, i) => expect(p.data).not.toEqual(bBefore[i]));
    expect(calls).toEqual([0]);
    opt.paramGroups[0]!.frozen = false;
    opt.step();
    expect(calls).toEqual([0, 2]); // the update index counts the optimizer's updates
  });

  it('must be a boolean', () => {
    const opt = new RMSProp(makeParams(52));
    (opt.paramGroups[0] as { frozen: unknown }).frozen = 'yes';
    expect(() => opt.step()).toThrow(new TypeError('RMSProp.step: invalid frozen in group 0: expected a boolean, got string "yes"'));
  });
});

describe('ParamGroup', () => {
  it('has every hyperparameter and its params', () => {
    const params = makeParams(13);
    const g: ParamGroup = new RMSProp(params).paramGroups[0]!;
    expect(Object.keys(g)).toEqual(['params', ...Object.keys(rmspropDefaults), 'frozen']);
    expect(Object.keys(rmspropDefaults)).toEqual([
      'lr', 'alpha', 'eps', 'weightDecay', 'momentum', 'centered', 'maximize',
      'epsInSqrt', 'lrInMomentum', 'nesterov', 'initialAccumulator', 'biasCorrection', 'decoupledWeightDecay',
    ]);
    expect(g.params).toEqual(params);
  });
});

describe('non-finite gradients', () => {
  const poison = (pr: Pair, value: number): (() => void) => {
    const g = pr.params[3]!.grad!;
    const old = g[1]!;
    g[1] = value;
    return () => (g[1] = old);
  };

  it.each([
    [NaN, 'NaN'],
    [Infinity, 'Infinity'],
    [-Infinity, '-Infinity'],
  ])("throw by default on %s, naming group, parameter and element, and write nothing", (value, text) => {
    const pr = pair();
    fillGrads(pr.params, 3);
    fillGrads(pr.twinParams, 3);
    const repair = poison(pr, value);
    const before = snapshot(pr.opt);
    expect(pr.opt.nonFinite).toBe('throw');
    expect(() => pr.opt.step()).toThrow(
      new RangeError(
        `RMSProp.step: grad holds ${text} at element 1 (group 1, param 1); nothing was updated. Set nonFinite to 'skip' to skip such steps, or to 'apply' to apply them as PyTorch does`,
      ),
    );
    expect(snapshot(pr.opt)).toEqual(before);
    expect(pr.opt.skippedSteps).toBe(0);
    repair();
    expectTwins(pr);
  });

  it("skip the whole step under 'skip', bit for bit, and count it", () => {
    const pr = pair();
    pr.opt.nonFinite = 'skip';
    fillGrads(pr.params, 3);
    fillGrads(pr.twinParams, 3);
    const repair = poison(pr, NaN);
    const before = snapshot(pr.opt);
    pr.opt.step();
    pr.opt.step();
    expect(snapshot(pr.opt)).toEqual(before);
    expect(pr.opt.skippedSteps).toBe(2);
    repair();
    expectTwins(pr);
    expect(pr.opt.skippedSteps).toBe(2);
  });

  it("apply them without looking under 'apply', as PyTorch does", () => {
    const params = makeParams(40);
    const opt = new RMSProp(params, { nonFinite: 'apply' });
    fillGrads(params, 1);
    params[0]!.grad![2] = NaN;
    const before = params[1]!.data.slice();
    opt.step();
    expect(Number.isNaN(params[0]!.data[2])).toBe(true);
    expect(Number.isNaN(params[0]!.data[1])).toBe(false);
    expect(params[1]!.data).not.toEqual(before);
    expect(opt.skippedSteps).toBe(0);
  });

  it('still report a structural error first under skip', () => {
    const params = makeParams(41);
    const opt = new RMSProp(params, { nonFinite: 'skip' });
    params[0]!.grad![0] = NaN;
    params[2]!.grad = new Float32Array(3);
    expectError(() => opt.step(), RangeError, 'RMSProp.step: invalid grad: expected a Float32Array of length 12 or null, got a Float32Array of length 3 (group 0, param 2)');
    expect(opt.skippedSteps).toBe(0);
  });

  it('reject an invalid policy in the options, on assignment, and in a group', () => {
    expect(() => new RMSProp(makeParams(1), { nonFinite: 'ignore' } as never)).toThrow(
      new TypeError(`RMSProp: invalid nonFinite: expected 'throw', 'skip' or 'apply', got string "ignore"`),
    );
    const opt = new RMSProp(makeParams(1));
    expect(() => {
      opt.nonFinite = null as never;
    }).toThrow(new TypeError(`RMSProp.nonFinite: invalid nonFinite: expected 'throw', 'skip' or 'apply', got null`));
    expect(opt.nonFinite).toBe('throw');
    expect(() => new RMSProp([{ params: makeParams(1), nonFinite: 'skip' }] as never)).toThrow(
      'RMSProp: unknown option "nonFinite" in group 0 (nonFinite applies to the whole optimizer: set it in the optimizer options)',
    );
  });
});

describe('step(grads): gradients kept apart from the parameters', () => {
  it('uses the map instead of each grad; a parameter missing from it has no gradient this step', () => {
    const a = makeParams(60);
    const b = copyParams(a);
    const optA = new RMSProp(a, { momentum: 0.9 });
    const optB = new RMSProp(b, { momentum: 0.9 });
    fillGrads(a, 1);
    const grads = new Map<ParamRef, FloatArray | null>([
      [b[0]!, a[0]!.grad!.slice()],
      [b[2]!, a[2]!.grad!.slice()],
    ]);
    a[1]!.grad = null;
    optA.step();
    expect(optB.step(grads)).toBe(true);
    a.forEach((p, i) => expect(Array.from(b[i]!.data)).toEqual(Array.from(p.data)));
    expect(optB.getState(b[1]!)!.step).toBe(0);
  });

  it("checks the map's gradients like any other", () => {
    const a = makeParams(61);
    const opt = new RMSProp(a);
    expectError(
      () => opt.step(new Map([[a[2]!, new Float64Array(12)]])),
      TypeError,
      'RMSProp.step: invalid grad: expected a Float32Array of length 12 or null, got a Float64Array of length 12 (group 0, param 2)',
    );
  });
});

/** Parameters as views of one flat buffer (the README's flat layout), and twins as separate arrays. */
function flatAndSeparate<T extends FloatArray>(T: { new (n: number): T; from(v: number[]): T }, sizes: readonly number[], seed: number) {
  const total = sizes.reduce((x, y) => x + y, 0);
  const data = T.from(normals(rng(seed), total));
  const grad = new T(total);
  let at = 0;
  const flat = sizes.map((n) => {
    const p = { data: data.subarray(at, at + n) as FloatArray, grad: grad.subarray(at, at + n) as FloatArray | null };
    at += n;
    return p;
  });
  const separate = flat.map((p) => ({ data: p.data.slice(), grad: new T(p.data.length) as FloatArray | null }));
  return { flat, separate, grad };
}

describe('a group laid out flat (views of one buffer) is stepped as one span', () => {
  it.each([
    ['float32, plain', Float32Array, {}],
    ['float32, momentum + centered + weight decay', Float32Array, { momentum: 0.9, centered: true, weightDecay: 0.01 }],
    ['float64, every other switch', Float64Array, { momentum: 0.5, epsInSqrt: true, lrInMomentum: true, nesterov: true, biasCorrection: true, decoupledWeightDecay: true, weightDecay: 0.1 }],
  ] as const)('bit for bit as the same parameters stepped one by one (%s)', (_n, T, options: RMSPropOptions) => {
    const { flat, separate, grad } = flatAndSeparate(T as never, [3, 1, 8, 5, 0, 7], 62);
    const optFlat = new RMSProp(flat, options);
    const optSep = new RMSProp(separate, options);
    for (let t = 0; t < 6; t++) {
      grad.set(normals(rng(100 + t), grad.length));
      separate.forEach((p, i) => p.grad!.set(flat[i]!.grad!));
      if (t === 3) optFlat.paramGroups[0]!.momentum = optSep.paramGroups[0]!.momentum = 0.7; // still one span
      optFlat.step();
      optSep.step();
    }
    flat.forEach((p, i) => {
      expect(Array.from(p.data)).toEqual(Array.from(separate[i]!.data));
      const [a, b] = [optFlat.getState(p)!, optSep.getState(separate[i]!)!];
      expect(a.step).toBe(6);
      expect(Array.from(a.squareAvg)).toEqual(Array.from(b.squareAvg));
      expect(a.momentumBuffer === null ? null : Array.from(a.momentumBuffer)).toEqual(b.momentumBuffer === null ? null : Array.from(b.momentumBuffer));
    });
  });

  it('falls back to one call per parameter, with the same results, when a gradient is missing, a buffer is swapped, or the update counts differ', () => {
    const { flat, separate, grad } = flatAndSeparate(Float32Array, [4, 4, 4], 63);
    const optFlat = new RMSProp(flat, { momentum: 0.9 });
    const optSep = new RMSProp(separate, { momentum: 0.9 });
    const swapped = new Float32Array(4);
    for (let t = 0; t < 8; t++) {
      grad.set(normals(rng(200 + t), grad.length));
      swapped.set(grad.subarray(4, 8));
      flat[1]!.grad = t === 2 ? null : t === 4 ? swapped : grad.subarray(4, 8); // null at 2 (counts differ after), a separate buffer at 4
      separate.forEach((p, i) => (p.grad = flat[i]!.grad === null ? null : Float32Array.from(flat[i]!.grad!)));
      optFlat.step();
      optSep.step();
      flat.forEach((p, i) => expect(Array.from(p.data)).toEqual(Array.from(separate[i]!.data)));
    }
    expect(optFlat.getState(flat[1]!)!.step).toBe(7);
    expect(optFlat.getState(flat[0]!)!.step).toBe(8);
  });

  it('keeps each update count of a flat group whose counts were made unequal by SparseRows or a load', () => {
    // With bias correction the count enters the arithmetic, so a span run with one count for all
    // would show in the values as well as in the counts.
    const options = { momentum: 0.9, biasCorrection: true };
    const { flat, separate, grad } = flatAndSeparate(Float64Array, [4, 4, 4], 65);
    const optFlat = new RMSProp(flat, options);
    const optSep = new RMSProp(separate, options);
    const dense = (t: number): void => {
      grad.set(normals(rng(400 + t), grad.length));
      separate.forEach((p, i) => (p.grad = Float64Array.from(flat[i]!.grad!)));
      optFlat.step();
      optSep.step();
    };
    const same = (): void =>
      flat.forEach((p, i) => {
        expect(Array.from(p.data)).toEqual(Array.from(separate[i]!.data));
        expect(optFlat.getState(p)!.step).toBe(optSep.getState(separate[i]!)!.step);
        expect(Array.from(optFlat.getState(p)!.squareAvg)).toEqual(Array.from(optSep.getState(separate[i]!)!.squareAvg));
      });
    dense(0);
    const update = { width: 2, rows: [1], grad: Float64Array.of(0.5, -2) };
    expect(new SparseRows(optFlat).step(flat[1]!, update)).toBe(true);
    expect(new SparseRows(optSep).step(separate[1]!, update)).toBe(true);
    for (let t = 1; t < 4; t++) dense(t);
    same();
    expect(optFlat.getState(flat[1]!)!.step).toBe(5);
    expect(optFlat.getState(flat[0]!)!.step).toBe(4);
    // A load whose counts differ, into an optimizer whose counts were equal.
    const saved = optSep.stateDict();
    const fresh = flatAndSeparate(Float64Array, [4, 4, 4], 65);
    const optFresh = new RMSProp(fresh.flat, options);
    fresh.grad.set(grad);
    optFresh.step();
    optFresh.loadStateDict(saved);
    fresh.flat.forEach((p, i) => p.data.set(separate[i]!.data));
    flat.forEach((p, i) => p.data.set(separate[i]!.data));
    const [a, b] = [optFresh, optFlat];
    for (let t = 4; t < 7; t++) {
      grad.set(normals(rng(400 + t), grad.length));
      fresh.grad.set(grad);
      a.step();
      b.step();
    }
    fresh.flat.forEach((p, i) => {
      expect(Array.from(p.data)).toEqual(Array.from(flat[i]!.data));
      expect(a.getState(p)!.step).toBe(b.getState(flat[i]!)!.step);
    });
    expect(a.getState(fresh.flat[1]!)!.step).toBe(8);
  });

  it('steps a flat group in an arena through the SIMD kernel as one span, equal to the one-by-one SIMD run', () => {
    const arena = createArena(1024);
    const block = arena.alloc(24);
    const gradBlock = arena.alloc(24);
    block.set(normals(rng(64), 24));
    const flat = [0, 8, 16].map((at) => ({ data: block.subarray(at, at + 8), grad: gradBlock.subarray(at, at + 8) }));
    const apart = flat.map((p) => {
      const q = { data: arena.alloc(8), grad: arena.alloc(8) };
      q.data.set(p.data);
      return q;
    });
    const optFlat = new RMSProp(flat, { arena, momentum: 0.9 });
    const optApart = new RMSProp(apart, { arena, momentum: 0.9 });
    for (let t = 0; t < 5; t++) {
      gradBlock.set(normals(rng(300 + t), 24));
      apart.forEach((q, i) => q.grad.set(flat[i]!.grad));
      optFlat.step();
      optApart.step();
    }
    flat.forEach((p, i) => expect(Array.from(p.data)).toEqual(Array.from(apart[i]!.data)));
    expect(arena.owns(optFlat.getState(flat[2]!)!.momentumBuffer!)).toBe(true);
  });
});

describe('a step runs user code (schedules, getters) before it checks anything', () => {
  /** Two groups; the second's schedule is `hook`, called with the update index. */
  function withHook(hook: (opt: RMSProp, params: Param[]) => void): { opt: RMSProp; params: Param[]; before: unknown[] } {
    const params = makeParams(70, [4, 3, 5]);
    fillGrads(params, 1);
    let opt: RMSProp | null = null;
    let armed = false;
    opt = new RMSProp([{ params: [params[0]!] }, { params: [params[1]!, params[2]!], lr: () => (armed ? hook(opt!, params) : undefined, 0.01) }], { momentum: 0.5 });
    opt.step();
    fillGrads(params, 2);
    armed = true;
    return { opt, params, before: snapshot(opt) };
  }

  it('a schedule that adds a group: the new group waits for the next step, the step goes on', () => {
    const extra = makeParams(71, [2]);
    fillGrads(extra, 3);
    let added = false;
    const { opt } = withHook((o) => {
      if (added) return;
      added = true;
      o.addParamGroup({ params: extra });
    });
    opt.step();
    expect(opt.paramGroups.length).toBe(3);
    expect(opt.getState(extra[0]!)!.step).toBe(0);
    opt.step();
    expect(opt.getState(extra[0]!)!.step).toBe(1);
  });

  it.each([
    ['detaches the buffer of an earlier parameter', (_o: RMSProp, p: Param[]): void => void structuredClone(p[0]!.grad!.buffer, { transfer: [p[0]!.grad!.buffer as ArrayBuffer] }), RangeError, 'RMSProp.step: invalid grad: expected a Float32Array of length 4 or null, got a Float32Array of length 0 (detached) (group 0, param 0)'],
    ['swaps the data of an earlier parameter for a shorter one', (_o: RMSProp, p: Param[]): void => void ((p[0] as { data: FloatArray }).data = new Float32Array(2)), RangeError, 'RMSProp.step: invalid data: expected a Float32Array of length 4 (as registered), got a Float32Array of length 2 (group 0, param 0)'],
    ['writes NaN into an earlier gradient', (_o: RMSProp, p: Param[]): void => void (p[0]!.grad![1] = NaN), RangeError, "RMSProp.step: grad holds NaN at element 1 (group 0, param 0); nothing was updated. Set nonFinite to 'skip' to skip such steps, or to 'apply' to apply them as PyTorch does"],
    ['calls step() again', (o: RMSProp): void => void o.step(), Error, 'RMSProp.step: the lr schedule of group 1 threw at update 1: RMSProp.step: called from a schedule or a getter while a step reads its parameters'],
    ['loads a state', (o: RMSProp): void => o.loadStateDict(o.stateDict()), Error, 'RMSProp.step: the lr schedule of group 1 threw at update 1: RMSProp.loadStateDict: called from a schedule or a getter while a step reads its parameters'],
  ] as const)('a schedule that %s: the step throws and writes nothing', (_n, hook, type, message) => {
    const { opt, params, before } = withHook(hook);
    const datas = params.map((p) => p.data);
    expectError(() => opt.step(), type, message);
    params.forEach((p, i) => ((p as { data: FloatArray }).data = datas[i]!)); // undo a swap: the optimizer's writes are what is compared
    expect(snapshot(opt)).toEqual(before);
  });

  it('a data getter that detaches an earlier parameter\'s buffer: caught, nothing written', () => {
    const params = makeParams(72, [4, 3]);
    fillGrads(params, 1);
    const second = params[1]!;
    const sneaky = {
      grad: second.grad,
      get data(): FloatArray {
        const g = params[0]!.grad!;
        if (g.length > 0) structuredClone(g.buffer, { transfer: [g.buffer as ArrayBuffer] });
        return second.data;
      },
    };
    let armed = false;
    const opt = new RMSProp([params[0]!, { get data() { return armed ? sneaky.data : second.data; }, grad: second.grad } as ParamRef]);
    opt.step();
    armed = true;
    const before = snapshot(opt);
    expectError(() => opt.step(), RangeError, 'RMSProp.step: invalid grad: expected a Float32Array of length 4 or null, got a Float32Array of length 0 (detached) (group 0, param 0)');
    expect(snapshot(opt)).toEqual(before);
  });

  it('reads each grad and data once per step', () => {
    const reads = { grad: 0, data: 0 };
    const data = new Float32Array(3);
    const grad = new Float32Array(3).fill(1);
    const p = {
      get data(): Float32Array {
        reads.data++;
        return data;
      },
      get grad(): Float32Array {
        reads.grad++;
        return grad;
      },
    };
    const opt = new RMSProp([p]);
    reads.data = reads.grad = 0;
    opt.step();
    expect(reads).toEqual({ grad: 1, data: 1 });
  });
});

describe('detached state', () => {
  it('a transferred state buffer is reported, not silently stepped', () => {
    const params = makeParams(73, [4, 3]);
    fillGrads(params, 1);
    const opt = new RMSProp(params);
    const sq = opt.getState(params[0]!)!.squareAvg;
    structuredClone(sq.buffer, { transfer: [sq.buffer as ArrayBuffer] }); // the whole state block
    expectError(() => opt.step(), Error, "RMSProp.step: the state of (group 0, param 0) is detached (transferred, or the arena's memory grew): its values are lost");
    expectError(() => opt.stateDict(), Error, "RMSProp.stateDict: the state of (group 0, param 0) is detached (transferred, or the arena's memory grew): its values are lost");
  });
});

describe('buffers that share memory with what the optimizer holds', () => {
  function two(): { p: Param; q: Param; opt: RMSProp } {
    const [p, q] = makeParams(80, [2, 2]);
    fillGrads([p!, q!], 1);
    const opt = new RMSProp([p!, q!], { momentum: 0.9 });
    opt.step();
    return { p: p!, q: q!, opt };
  }

  it.each([
    ["a data swapped for the parameter's own state", (p: Param, _q: Param, o: RMSProp): void => void ((p as { data: FloatArray }).data = o.getState(p)!.squareAvg), 'RMSProp.step: data (group 0, param 0) shares memory with its own state'],
    ["a data swapped for another parameter's data", (p: Param, q: Param): void => void ((p as { data: FloatArray }).data = q.data), 'RMSProp.step: data (group 0, param 0) shares memory with the data of (group 0, param 1)'],
    ["a data swapped for another parameter's state", (p: Param, q: Param, o: RMSProp): void => void ((p as { data: FloatArray }).data = o.getState(q)!.momentumBuffer!), 'RMSProp.step: data (group 0, param 0) shares memory with the state of (group 0, param 1)'],
    ["a grad that is another parameter's data", (p: Param, q: Param): void => void (p.grad = q.data), 'RMSProp.step: grad (group 0, param 0) shares memory with the data of (group 0, param 1)'],
    ["a grad that is the parameter's own state", (p: Param, _q: Param, o: RMSProp): void => void (p.grad = o.getState(p)!.squareAvg), 'RMSProp.step: grad (group 0, param 0) shares memory with its own state'],
    // Only the data changes, to memory that is another parameter's unchanged gradient.
    ["a data swapped for another parameter's gradient", (p: Param, q: Param): void => void ((p as { data: FloatArray }).data = q.grad!), 'RMSProp.step: data (group 0, param 0) shares memory with the grad of (group 0, param 1)'],
    ["a data swapped for another view of another parameter's gradient", (p: Param, q: Param): void => void ((p as { data: FloatArray }).data = new Float32Array(q.grad!.buffer, q.grad!.byteOffset, 2)), 'RMSProp.step: data (group 0, param 0) shares memory with the grad of (group 0, param 1)'],
  ])('refuses %s, writing nothing', (_n, spoil, message) => {
    const { p, q, opt } = two();
    const datas = [p.data, q.data];
    spoil(p, q, opt);
    const after = (): unknown => [snapshot(opt), Array.from(datas[0]!), Array.from(datas[1]!)];
    (p as { data: FloatArray }).data = datas[0]!;
    const before = after();
    spoil(p, q, opt);
    expectError(() => opt.step(), Error, message);
    (p as { data: FloatArray }).data = datas[0]!;
    expect(after()).toEqual(before);
  });

  it("zeroGrad refuses a grad that is a parameter's data, and a detached one, zeroing nothing", () => {
    const { p, q, opt } = two();
    const qData = Array.from(q.data);
    p.grad = q.data;
    expectError(() => opt.zeroGrad(), Error, 'RMSProp.zeroGrad: grad (group 0, param 0) shares memory with the data of (group 0, param 1)');
    expect(Array.from(q.data)).toEqual(qData);
    p.grad = new Float32Array(2).fill(5);
    structuredClone(q.grad!.buffer, { transfer: [q.grad!.buffer as ArrayBuffer] });
    expectError(() => opt.zeroGrad(), RangeError, 'RMSProp.zeroGrad: invalid grad: expected a Float32Array of length 2 or null, got a Float32Array of length 0 (detached) (group 0, param 1)');
    expect(Array.from(p.grad)).toEqual([5, 5]);
  });
});

describe('memory shared with what the optimizer holds, found whichever buffer changed and whenever', () => {
  const onData = (data: FloatArray): Param => ({ data, grad: null });

  it('finds data that overlap at registration between views that are not neighbours when sorted', () => {
    const f = new Float32Array(100);
    const views = [f.subarray(0, 50), f.subarray(60, 70), f.subarray(55, 58), f.subarray(80, 90), f.subarray(40, 45)];
    expectError(() => new RMSProp(views.map(onData)), Error, 'RMSProp: data (group 0, param 4) shares memory with the data of (group 0, param 0)');
  });

  it('says the new parameter overlaps the registered one', () => {
    const f = new Float32Array(20);
    const opt = new RMSProp([onData(f.subarray(10, 20))]);
    expectError(
      () => opt.addParamGroup({ params: [onData(f.subarray(0, 5)), onData(f.subarray(5, 11))] }),
      Error,
      'RMSProp.addParamGroup: data (group 1, param 1) shares memory with the data of (group 0, param 0)',
    );
    expect(opt.paramGroups.length).toBe(1);
  });

  it('compares bytes, across element types, and accepts adjacent and empty views', () => {
    const buffer = new ArrayBuffer(64);
    expectError(
      () => new RMSProp([onData(new Float32Array(buffer, 0, 3)), onData(new Float64Array(buffer, 8, 2))]),
      Error,
      'RMSProp: data (group 0, param 1) shares memory with the data of (group 0, param 0)',
    );
    expect(new RMSProp([onData(new Float32Array(buffer, 0, 4)), onData(new Float64Array(buffer, 16, 2))]).paramGroups).toHaveLength(1);
    const f = new Float64Array(10);
    expect(new RMSProp([f.subarray(0, 5), f.subarray(5, 5), f.subarray(5, 10), f.subarray(3, 3)].map(onData)).paramGroups).toHaveLength(1);
  });

  it("zeroGrad refuses to zero a gradient that is now another parameter's data", () => {
    const [a, b] = makeParams(81, [3, 3]);
    fillGrads([a!, b!], 1);
    const opt = new RMSProp([a!, b!]);
    opt.step();
    (b as { data: FloatArray }).data = a!.grad!;
    const grad = Array.from(a!.grad!);
    expectError(() => opt.zeroGrad(), Error, 'RMSProp.zeroGrad: data (group 0, param 1) shares memory with the grad of (group 0, param 0)');
    expect(Array.from(a!.grad!)).toEqual(grad);
  });

  it('finds an overlap among thousands of views of one buffer, wherever it is, and accepts what may share', () => {
    // Data and gradients interleaved in one buffer: data i at [50i, 50i+25), grad i at [50i+25, 50i+50).
    const N = 2000;
    const memory = new Float32Array(50 * N);
    const view = (at: number): Float32Array => memory.subarray(at, at + 25);
    const params = Array.from({ length: N }, (_, i) => ({ data: view(50 * i), grad: view(50 * i + 25) as FloatArray | null }));
    const opt = new RMSProp(params, { nonFinite: 'apply' });
    opt.step();
    for (const [k, j, offset] of [[0, N - 2, 10], [N - 1, 0, 1], [700, 701, 24], [1300, 17, 0]] as const) {
      const data = params[k]!.data;
      (params[k] as { data: FloatArray }).data = view(50 * j + 25 + offset); // over the gradient of j
      const before = [memory.slice(), opt.getState(params[k]!)!.step];
      expectError(() => opt.step(), Error, `RMSProp.step: data (group 0, param ${k}) shares memory with the grad of (group 0, param ${j})`);
      expect([memory.slice(), opt.getState(params[k]!)!.step]).toEqual(before);
      (params[k] as { data: FloatArray }).data = data;
    }
    // New view objects of the same memory every step, and two parameters sharing one gradient: fine.
    params.forEach((p, i) => {
      (p as { data: FloatArray }).data = view(50 * i);
      p.grad = view(50 * (i - (i % 2)) + 25);
    });
    opt.step();
    expect(opt.getState(params[1]!)!.step).toBe(2);
  });

  it("accepts as data a buffer that was a gradient the optimizer no longer reads (a pool's recycled memory)", () => {
    const [a, b] = makeParams(91, [4, 4]);
    fillGrads([a!, b!], 1);
    const opt = new RMSProp([a!, b!]);
    opt.step();
    const freed = a!.grad!;
    a!.grad = null; // zeroGrad(set_to_none): the engine takes the buffer back...
    opt.step();
    (b as { data: FloatArray }).data = freed; // ...and hands it out as b's new data
    freed.set(b!.data.length === 4 ? [1, 2, 3, 4] : []);
    opt.step();
    expect(opt.getState(b!)!.step).toBe(3);
  });

  it.each([
    ["another parameter's state", (o: RMSProp, w: Param) => o.getState(w)!.squareAvg, 'RMSProp.addParamGroup: data (group 1, param 0) shares memory with the state of (group 0, param 0)'],
    ["another parameter's gradient", (_o: RMSProp, w: Param) => w.grad!, 'RMSProp.addParamGroup: data (group 1, param 0) shares memory with the grad of (group 0, param 0)'],
  ])("addParamGroup refuses a parameter whose data is %s, changing nothing", (_n, buffer, message) => {
    const [w] = makeParams(82, [4]);
    fillGrads([w!], 1);
    const opt = new RMSProp([w!]);
    opt.step();
    const before = snapshot(opt);
    expectError(() => opt.addParamGroup({ params: [{ data: buffer(opt, w!), grad: new Float32Array(4).fill(1) }] }), Error, message);
    expect(snapshot(opt)).toEqual(before);
    expect(opt.paramGroups.length).toBe(1);
  });

  it('refuses a parameter that is a view of arena memory the arena did not hand out (its state would be put on it)', () => {
    const arena = createArena(64);
    const raw = new Float32Array(arena.memory.buffer, 16, 8);
    expectError(
      () => new RMSProp([{ data: raw, grad: new Float32Array(8) }], { arena }),
      Error,
      "RMSProp: data (group 0, param 0) is a view of the arena's memory that arena.alloc did not hand out: the arena would hand the same memory out again",
    );
    expect(arena.used).toBe(0);
    expect(arena.owns(raw)).toBe(false);
    expect(arena.owns(arena.alloc(4))).toBe(true);
  });

  it.each(['momentumBuffer', 'gradAvg'] as const)('step() finds a detached %s (switched on after registration, then transferred) before writing anything', (kind) => {
    for (const layout of ['separate', 'flat'] as const) {
      const { flat, separate, grad } = flatAndSeparate(Float32Array, [3, 3], 83);
      const params = layout === 'flat' ? flat : separate;
      if (layout === 'flat') grad.fill(0.5);
      else for (const p of separate) p.grad = new Float32Array(3).fill(0.5);
      const opt = new RMSProp(params);
      opt.step();
      Object.assign(opt.paramGroups[0]!, { momentum: 0.9, centered: true }); // buffers of their own
      opt.step();
      expect(opt.getState(params[1]!)![kind]!.buffer).not.toBe(opt.getState(params[1]!)!.squareAvg.buffer);
      const data = params.map((p) => Array.from(p.data));
      const buffer = opt.getState(params[1]!)![kind]!.buffer as ArrayBuffer;
      structuredClone(buffer, { transfer: [buffer] });
      expectError(() => opt.step(), Error, "RMSProp.step: the state of (group 0, param 0) is detached (transferred, or the arena's memory grew): its values are lost");
      expect(params.map((p) => Array.from(p.data))).toEqual(data);
    }
  });
});

describe('parameters that misbehave: getters that throw, resizable buffers, values float32 cannot hold', () => {
  it.each([
    ['step', (o: RMSProp) => o.step(), 'RMSProp.step: reading its grad or data threw (group 1, param 0): boom'],
    ['zeroGrad', (o: RMSProp) => o.zeroGrad(), 'RMSProp.zeroGrad: reading its grad threw (group 1, param 0): boom'],
    ['clipGradNorm', (o: RMSProp) => clipGradNorm(o.paramGroups, 1), 'clipGradNorm: reading its grad threw (group 1, param 0): boom'],
  ] as const)('%s names the parameter whose grad getter throws, and writes nothing', (_n, call, message) => {
    const params = makeParams(90, [3, 2]);
    fillGrads(params, 1);
    const opt = new RMSProp([{ params: [params[0]!] }, { params: [params[1]!] }]);
    opt.step();
    const before = [snapshot(opt), params.map((p) => Array.from(p.grad!))];
    Object.defineProperty(params[1]!, 'grad', { get: () => { throw new Error('boom'); } });
    expectError(() => call(opt), Error, message);
    expect([snapshot(opt), [Array.from(params[0]!.grad!)]]).toEqual([before[0], [before[1]![0]]]);
  });

  it('refuses a view of a resizable buffer, at registration and when a step is given one', () => {
    // ES2024 (Node 20 has it): typed as the ES2022 library knows ArrayBuffer's constructor.
    const Resizable = ArrayBuffer as unknown as new (bytes: number, options: { maxByteLength: number }) => ArrayBuffer;
    const resizable = (n: number): Float32Array => new Float32Array(new Resizable(4 * n, { maxByteLength: 64 }));
    expectError(
      () => new RMSProp([{ data: resizable(4), grad: null }]),
      TypeError,
      'RMSProp: invalid data: expected a view of a fixed-size buffer, got a Float32Array of length 4 on a resizable buffer (group 0, param 0)',
    );
    const w = { data: new Float32Array(4), grad: new Float32Array(4) as Float32Array | null };
    const opt = new RMSProp([w]);
    w.grad = resizable(4);
    expectError(() => opt.step(), TypeError, 'RMSProp.step: invalid grad: expected a view of a fixed-size buffer, got a Float32Array of length 4 on a resizable buffer (group 0, param 0)');
    expect(opt.getState(w)!.step).toBe(0);
  });

  it('refuses an initialAccumulator a float32 state cannot hold (it would be Infinity), for float32 parameters only', () => {
    expectError(
      () => new RMSProp([{ params: [{ data: new Float64Array(2), grad: null }] }, { params: [{ data: new Float32Array(2), grad: null }], initialAccumulator: 1e39 }]),
      RangeError,
      'RMSProp: invalid initialAccumulator in group 1: expected a number a Float32Array holds (at most 3.4028234663852886e+38) for (group 1, param 0), got 1e+39',
    );
    const opt = new RMSProp([{ data: new Float64Array(2), grad: null }], { initialAccumulator: 1e39 });
    expect(opt.getState(opt.paramGroups[0]!.params[0]!)!.squareAvg[0]).toBe(1e39);
  });
});

describe('step(grads) with a bad argument', () => {
  it.each([
    ['null', null, TypeError, 'RMSProp.step: invalid grads: expected a Map from parameters to gradients, or nothing, got null'],
    ['an array', [], TypeError, 'RMSProp.step: invalid grads: expected a Map from parameters to gradients, or nothing, got an array of length 0'],
    ['a key that is not a parameter', new Map([[{ data: new Float32Array(1), grad: null }, new Float32Array(1)]]), Error, 'RMSProp.step: grads holds a key that is not a parameter of this optimizer: an object'],
  ] as const)('refuses %s, writing nothing', (_n, grads, type, message) => {
    const params = makeParams(81);
    fillGrads(params, 1);
    const opt = new RMSProp(params);
    const before = snapshot(opt);
    expectError(() => opt.step(grads as never), type, message);
    expect(snapshot(opt)).toEqual(before);
  });
});

describe('what a step counts', () => {
  it('the update index counts steps that updated something: one with every group frozen, or no gradient, does not', () => {
    const params = makeParams(82);
    fillGrads(params, 1);
    const seen: number[] = [];
    const opt = new RMSProp(params, { lr: (t) => (seen.push(t), 0.01) });
    opt.step();
    opt.paramGroups[0]!.frozen = true;
    opt.step();
    opt.paramGroups[0]!.frozen = false;
    opt.step(new Map());
    opt.step();
    expect(seen).toEqual([0, 1, 1]);
    expect(opt.getState(params[0]!)!.step).toBe(2);
  });

  it('a policy a schedule assigns takes effect from the next step, as documented', () => {
    const params = makeParams(83);
    fillGrads(params, 1);
    params[0]!.grad![0] = NaN;
    let opt: RMSProp | null = null;
    opt = new RMSProp(params, { lr: () => ((opt!.nonFinite = 'apply'), 0.01) });
    expectError(() => opt!.step(), RangeError, "RMSProp.step: grad holds NaN at element 0 (group 0, param 0); nothing was updated. Set nonFinite to 'skip' to skip such steps, or to 'apply' to apply them as PyTorch does");
    expect(opt.nonFinite).toBe('apply');
  });
});

describe('what the optimizer hands out is read-only', () => {
  it('getState gives a live view whose fields cannot be reassigned', () => {
    const params = makeParams(84);
    const opt = new RMSProp(params);
    const view = opt.getState(params[0]!)!;
    const square = view.squareAvg;
    expect(() => ((view as { step: number }).step = -5)).toThrow(TypeError);
    expect(() => ((view as { gradAvg: FloatArray | null }).gradAvg = new Float32Array(1))).toThrow(TypeError);
    fillGrads(params, 1);
    opt.step();
    expect(view.step).toBe(1);
    expect(view.squareAvg).toBe(square);
    expect(view.gradAvg).toBeNull();
    expect(opt.getState(params[0]!)).toBe(view); // one view per parameter, however often asked
    expect(opt.getState({ data: new Float32Array(1), grad: null })).toBeUndefined();
  });

  it('defaults cannot be replaced', () => {
    const opt = new RMSProp(makeParams(85), { lr: 0.5 });
    expect(() => ((opt as { defaults: unknown }).defaults = {})).toThrow(TypeError);
    expect(opt.defaults.lr).toBe(0.5);
  });
});
