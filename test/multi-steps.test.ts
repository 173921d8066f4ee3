import { describe, expect, it } from 'vitest';
import { MultiSteps, RMSProp, clipGradNorm, stateFromJSON, stateToJSON } from '../src/index.js';
import type { FloatArray, MultiStepsOptions, MultiStepsStateDict, RMSPropStateDict, RMSPropState } from '../src/index.js';
import { expectError } from './support/expect-error.js';
import { normals, rng } from './support/random.js';

type FloatType = Float32ArrayConstructor | Float64ArrayConstructor;
/** A parameter; `id` seeds its data and gradients, so two rigs hold equal parameters. */
interface Param { data: FloatArray; grad: FloatArray | null; name?: string; id: number }
interface Rig { params: Param[]; w: Param; v: Param; b: Param; opt: RMSProp; ms: MultiSteps; lrs: number[] }

/** Optax's running mean, acc + (g - acc) / (n + 1) in float64, n counting the calls before; no gradient adds zero. */
function welford(grads: readonly (ArrayLike<number> | null)[], length: number): Float64Array {
  const acc = new Float64Array(length);
  grads.forEach((g, n) => {
    for (let i = 0; i < length; i++) acc[i] = acc[i]! + ((g === null ? 0 : g[i]!) - acc[i]!) / (n + 1);
  });
  return acc;
}

const gradOf = (T: FloatType, id: number, call: number, length: number): FloatArray => T.from(normals(rng(1000 * call + id), length));

/** The float64 mean of `p`'s gradients over calls 0, 1, 2, without one on call `missing`. */
const meanOf = (p: Param, missing = -1): Float64Array =>
  welford([0, 1, 2].map((c) => (c === missing ? null : gradOf(Float64Array, p.id, c, p.data.length))), p.data.length);

interface RigOptions { T?: FloatType; k?: number; ms?: MultiStepsOptions; reversed?: boolean; schedule?: boolean }

/**
 * Group 0: w (3, 'w') and v (2, 'v'), lr a schedule of the update index (recorded in `lrs`), or
 * 0.02 with `schedule: false`; group 1: b (2, no name), lr 0.05. Momentum and centered.
 * `reversed` registers v before w.
 */
function rig({ T = Float64Array, k = 4, ms = {}, reversed = false, schedule = true }: RigOptions = {}): Rig {
  const make = (id: number, length: number, name?: string): Param => ({ data: T.from(normals(rng(id), length)), grad: null, id, ...(name === undefined ? {} : { name }) });
  const [w, v, b] = [make(1, 3, 'w'), make(2, 2, 'v'), make(3, 2)];
  const lrs: number[] = [];
  const lr = schedule ? (t: number): number => (lrs.push(t), 0.02 * 0.5 ** t) : 0.02;
  const opt = new RMSProp([{ params: reversed ? [v, w] : [w, v], lr }, { params: [b], lr: 0.05 }], { momentum: 0.9, centered: true });
  return { params: [w, v, b], w, v, b, opt, ms: new MultiSteps(opt, k, ms), lrs };
}

/** Gives every parameter its gradient for call `call` (the same in every rig). */
function feed(r: Rig, call: number): void {
  for (const p of r.params) p.grad = gradOf(p.data instanceof Float64Array ? Float64Array : Float32Array, p.id, call, p.data.length);
}

const copyState = (s: Readonly<RMSPropState>) => ({
  squareAvg: Array.from(s.squareAvg),
  gradAvg: s.gradAvg && Array.from(s.gradAvg),
  momentumBuffer: s.momentumBuffer && Array.from(s.momentumBuffer),
  step: s.step,
});

/** Everything a run holds, per parameter by id (registration order aside); toEqual compares numbers with Object.is. */
function view(r: Rig) {
  const ps = [...r.params].sort((x, y) => x.id - y.id);
  return {
    data: ps.map((p) => Array.from(p.data)),
    state: ps.map((p) => copyState(r.opt.getState(p)!)),
    updates: r.opt.stateDict().updates,
    count: r.ms.count,
    acc: Object.fromEntries(r.ms.stateDict().params.map((e) => [e.name ?? `${e.group},${e.index}`, Array.from(e.acc)])),
  };
}

/** Runs calls [from, to) on both rigs, checking they return the same and end the same. */
function runBoth(a: Rig, b: Rig, from: number, to: number): void {
  for (let call = from; call < to; call++) {
    feed(a, call);
    feed(b, call);
    expect(a.ms.step()).toBe(b.ms.step());
    expect(view(a)).toEqual(view(b));
  }
}

describe('MultiSteps', () => {
  it.each([['float64', Float64Array], ['float32', Float32Array]] as const)(
    'steps once per window with the running mean, as a plain step given that mean (%s)',
    (_name, T) => {
      const [r, ref] = [rig({ T, k: 3 }), rig({ T, k: 3 })];
      const window: (FloatArray | null)[][] = r.params.map(() => []);
      for (let call = 0; call < 9; call++) {
        feed(r, call);
        r.params.forEach((p, i) => window[i]!.push(p.grad));
        const before = view(r);
        const stepped = r.ms.step();
        expect(stepped).toBe(call % 3 === 2);
        if (!stepped) {
          expect({ ...view(r), count: 0, acc: {} }).toEqual({ ...before, count: 0, acc: {} });
          expect(r.ms.count).toBe((call % 3) + 1);
          continue;
        }
        // The mean in float64, rounded once to the parameter's type.
        expect(ref.opt.step(new Map(ref.params.map((p, i) => [p, T.from(welford(window[i]!, p.data.length))])))).toBe(true);
        window.forEach((w) => (w.length = 0));
        expect(view(r)).toEqual(view(ref));
      }
      expect(r.lrs).toEqual([0, 1, 2]); // the schedule advances once per window
      expect(r.opt.getState(r.w)!.step).toBe(3);
    },
  );

  it('with useGradMean false steps with the sum', () => {
    const [r, ref] = [rig({ k: 3, ms: { useGradMean: false } }), rig({ k: 3 })];
    const sums = ref.params.map((p) => new Float64Array(p.data.length));
    for (let call = 0; call < 3; call++) {
      feed(r, call);
      r.params.forEach((p, i) => sums[i]!.forEach((s, j) => (sums[i]![j] = s + p.grad![j]!)));
      expect(r.ms.step()).toBe(call === 2);
    }
    ref.opt.step(new Map(ref.params.map((p, i) => [p, sums[i]!])));
    expect(view(r)).toEqual(view(ref));
  });

  it('counts a missing gradient as zero, and leaves a parameter without any in the window alone', () => {
    const [r, ref] = [rig({ k: 3 }), rig({ k: 3 })];
    const bBefore = { data: Array.from(r.b.data), state: copyState(r.opt.getState(r.b)!) };
    for (let call = 0; call < 3; call++) {
      feed(r, call);
      if (call === 1) r.v.grad = null;
      r.b.grad = null;
      r.ms.step();
    }
    const vMean = meanOf(ref.v, 1); // (g0 + g2) / 3, up to rounding
    const [g0, g2] = [gradOf(Float64Array, r.v.id, 0, 2), gradOf(Float64Array, r.v.id, 2, 2)];
    vMean.forEach((m, i) => expect(m).toBeCloseTo((g0[i]! + g2[i]!) / 3, 14));
    ref.opt.step(new Map<Param, FloatArray | null>([[ref.w, meanOf(ref.w)], [ref.v, vMean], [ref.b, null]]));
    expect(view(r)).toEqual(view(ref));
    expect({ data: Array.from(r.b.data), state: copyState(r.opt.getState(r.b)!) }).toEqual(bBefore);
    expect(r.opt.getState(r.b)!.step).toBe(0);
  });


  it.each([
    ['float32 gradients near the largest float32', Float32Array, [3e38, 3.3e38, 3.4e38, 3.2e38]],
    ['float64 gradients of 1e308', Float64Array, [1e308, 1e308, 1e308, 1e308]],
  ] as const)('does not overflow when summing %s', (_name, T, values) => {
    const p = { data: T.of(1, -2), grad: null as FloatArray | null };
    const q = { data: T.of(1, -2), grad: null as FloatArray | null };
    const ms = new MultiSteps(new RMSProp([p]), 4);
    const ref = new RMSProp([q]);
    for (const x of values) {
      p.grad = T.of(x, -x);
      ms.step();
    }
    expect(Array.from(p.data).every(Number.isFinite)).toBe(true);
    ref.step(new Map([[q, T.from(welford(values.map((x) => [x, -x]), 2))]]));
    expect(Array.from(p.data)).toEqual(Array.from(q.data));
  });

  describe('with a non-finite gradient', () => {
    it("under 'throw' throws and adds nothing: the window goes on as if the call never happened", () => {
      const [a, twin] = [rig(), rig()];
      runBoth(a, twin, 0, 2);
      feed(a, 99);
      a.v.grad![1] = NaN;
      expectError(() => a.ms.step(), RangeError, 'MultiSteps.step: grad holds NaN at element 1 (group 0, param 1); nothing was added');
      expect(view(a)).toEqual(view(twin));
      runBoth(a, twin, 2, 8);
    });

    it("under 'skip' returns false, counts the call and adds nothing", () => {
      const [a, twin] = [rig(), rig()];
      a.opt.nonFinite = 'skip';
      runBoth(a, twin, 0, 3);
      feed(a, 99);
      a.b.grad![0] = -Infinity;
      expect(a.ms.step()).toBe(false);
      expect(a.ms.skippedSteps).toBe(1);
      expect(a.opt.skippedSteps).toBe(0);
      expect(view(a)).toEqual(view(twin));
      runBoth(a, twin, 3, 8);
      expect(a.ms.skippedSteps).toBe(1);
    });

    it("under 'apply' adds it, and the NaN reaches the parameter", () => {
      const r = rig({ k: 2 });
      r.opt.nonFinite = 'apply';
      feed(r, 0);
      r.w.grad![2] = NaN;
      expect(r.ms.step()).toBe(false);
      feed(r, 1);
      expect(r.ms.step()).toBe(true);
      expect(Number.isNaN(r.w.data[2])).toBe(true);
      expect(Array.from(r.w.data.subarray(0, 2)).every(Number.isFinite)).toBe(true);
    });
  });

  describe('with the groups changed during the window', () => {
    it('adds nothing for a group on the calls it is frozen', () => {
      const [r, ref] = [rig({ k: 3 }), rig({ k: 3 })];
      for (let call = 0; call < 3; call++) {
        feed(r, call);
        r.opt.paramGroups[1]!.frozen = call === 1;
        r.ms.step();
      }
      ref.opt.step(new Map([[ref.w, meanOf(ref.w)], [ref.v, meanOf(ref.v)], [ref.b, meanOf(ref.b, 1)]]));
      expect(view(r)).toEqual(view(ref));
    });

    it('does not update a group frozen on the last call, and updates the others', () => {
      const [r, ref] = [rig({ k: 3 }), rig({ k: 3 })];
      const bBefore = { data: Array.from(r.b.data), state: copyState(r.opt.getState(r.b)!) };
      for (let call = 0; call < 3; call++) {
        feed(r, call);
        r.opt.paramGroups[1]!.frozen = call === 2;
        r.ms.step();
      }
      expect({ data: Array.from(r.b.data), state: copyState(r.opt.getState(r.b)!) }).toEqual(bBefore);
      ref.opt.paramGroups[1]!.frozen = true;
      ref.opt.step(new Map([[ref.w, meanOf(ref.w)], [ref.v, meanOf(ref.v)]]));
      expect(view(r)).toEqual(view(ref));
    });

    it('uses the hyperparameters current at the last call', () => {
      const [r, ref] = [rig({ k: 3 }), rig({ k: 3 })];
      const before = Array.from(r.b.data);
      for (let call = 0; call < 3; call++) {
        feed(r, call);
        if (call === 2) r.opt.paramGroups[1]!.lr = 0;
        r.ms.step();
      }
      expect(Array.from(r.b.data)).toEqual(before);
      ref.opt.paramGroups[1]!.lr = 0;
      ref.opt.step(new Map(ref.params.map((p) => [p, meanOf(p)])));
      expect(view(r)).toEqual(view(ref));
    });

    it('changes nothing when a hyperparameter is invalid at the last call, and closes the window once it is fixed', () => {
      const [r, twin] = [rig(), rig()];
      runBoth(r, twin, 0, 3);
      const lr = r.opt.paramGroups[0]!.lr;
      r.opt.paramGroups[0]!.lr = -1;
      feed(r, 3);
      expectError(() => r.ms.step(), RangeError, 'RMSProp.step: invalid lr in group 0: expected a finite number >= 0, got -1');
      expect(r.ms.count).toBe(3);
      r.opt.paramGroups[0]!.lr = lr; // view() reads opt.stateDict(), which refuses lr -1 too
      expect(view(r)).toEqual(view(twin));
      runBoth(r, twin, 3, 8);
      expect(twin.opt.getState(twin.w)!.step).toBe(2);
    });
  });

  it.each([
    ['a grad of the wrong length', (): unknown => new Float64Array(3), RangeError, "MultiSteps.step: grad length 3 does not match the parameter's length 2 (group 1, param 0)"],
    ['a Float32Array grad for a Float64Array parameter', (): unknown => new Float32Array(2), TypeError, "MultiSteps.step: grad is a Float32Array but the parameter's state a Float64Array (group 1, param 0)"],
    ['a string', (): unknown => 'g', TypeError, 'MultiSteps.step: invalid grad: expected a Float32Array, Float64Array or null, got string "g" (group 1, param 0)'],
  ] as const)('rejects %s, naming the parameter, and adds nothing', (_name, grad, type, message) => {
    const [r, twin] = [rig(), rig()];
    runBoth(r, twin, 0, 2);
    feed(r, 99);
    r.b.grad = grad() as never;
    expectError(() => r.ms.step(), type, message);
    expect(view(r)).toEqual(view(twin));
    runBoth(r, twin, 2, 8);
  });

  describe('beforeStep', () => {
    it('gets the means before the update, once per window, and clipping them there clips the update', () => {
      const seen: { names: (string | undefined)[]; grads: number[][]; data: number[][] }[] = [];
      let r: Rig | undefined = undefined;
      const beforeStep: MultiStepsOptions['beforeStep'] = (grads) => {
        seen.push({ names: grads.map((e) => e.param.name), grads: grads.map((e) => Array.from(e.grad)), data: r!.params.map((p) => Array.from(p.data)) });
        clipGradNorm(grads, 0.5);
      };
      r = rig({ k: 3, ms: { beforeStep } });
      const ref = rig({ k: 3 });
      const initial = r.params.map((p) => Array.from(p.data));
      for (let call = 0; call < 3; call++) (feed(r, call), r.ms.step());
      const means = ref.params.map((p) => meanOf(p));
      expect(seen).toEqual([{ names: ['w', 'v', undefined], grads: means.map((m) => Array.from(m)), data: initial }]);
      clipGradNorm(means.map((grad) => ({ grad })), 0.5);
      ref.opt.step(new Map(ref.params.map((p, i) => [p, means[i]!])));
      expect(view(r)).toEqual(view(ref));
    });

    it('changes nothing when it throws', () => {
      let fail = true;
      const beforeStep = (grads: Parameters<NonNullable<MultiStepsOptions['beforeStep']>>[0]): void => {
        clipGradNorm(grads, 1e-3); // writes into the buffers first
        if (fail) throw new Error('boom');
      };
      const [r, twin] = [rig({ ms: { beforeStep } }), rig({ ms: { beforeStep } })];
      fail = false;
      runBoth(r, twin, 0, 3);
      feed(r, 3);
      fail = true;
      expectError(() => r.ms.step(), Error, 'boom');
      expect(view(r)).toEqual(view(twin));
      fail = false;
      runBoth(r, twin, 3, 8);
    });
  });

  it('reports count, forgets the window on reset, and counts skipped calls', () => {
    const [r, twin] = [rig({ k: 3 }), rig({ k: 3 })];
    r.opt.nonFinite = 'skip';
    expect([r.ms.count, r.ms.skippedSteps]).toEqual([0, 0]);
    feed(r, 50);
    r.ms.step();
    feed(r, 51);
    r.ms.step();
    expect(r.ms.count).toBe(2);
    r.ms.reset();
    expect(r.ms.count).toBe(0);
    expect(r.ms.stateDict().params).toEqual([]);
    feed(r, 52);
    r.w.grad![0] = NaN;
    r.ms.step();
    expect([r.ms.count, r.ms.skippedSteps]).toEqual([0, 1]);
    runBoth(r, twin, 0, 6); // as a fresh accumulator
    expect(r.ms.count).toBe(0);
  });

  describe('stateDict and loadStateDict', () => {
    type Checkpoint = { optimizer: RMSPropStateDict; acc: MultiStepsStateDict };
    /** Saves `a` after 2 of 4 calls of its second window, restores into a new rig (v registered before w), and runs both on. */
    function resume(schedule: boolean, transport: (c: Checkpoint) => Checkpoint): Rig {
      const [a, ref] = [rig({ schedule }), rig({ schedule })];
      runBoth(a, ref, 0, 6);
      const saved = transport({ optimizer: a.opt.stateDict(), acc: a.ms.stateDict() });
      const b = rig({ schedule, reversed: true });
      for (const p of b.params) p.data.set(a.params.find((q) => q.id === p.id)!.data);
      b.opt.loadStateDict(saved.optimizer);
      b.ms.loadStateDict(saved.acc);
      expect(view(b)).toEqual(view(a));
      runBoth(a, b, 6, 12);
      return b;
    }

    it.each([
      ['as objects', (c: Checkpoint) => c],
      ['through stateToJSON and stateFromJSON', (c: Checkpoint) => stateFromJSON<Checkpoint>(stateToJSON(c))],
      ['through structuredClone', (c: Checkpoint) => structuredClone(c)],
    ] as const)('resume a run saved mid-window bit for bit, matching names across orders (%s)', (_name, transport) => {
      resume(false, transport);
    });

    it('resume a run whose lr is a schedule, which continues from the saved update index', () => {
      expect(resume(true, (c) => c).lrs).toEqual([1, 2]); // one update before the save (index 0), two after
    });

    const entry = (s: MultiStepsStateDict, i: number) => s.params[i]!;
    // A valid entry with other values goes first in the bad lists: a load that wrote it before refusing would show.
    const other = (s: MultiStepsStateDict, i = 0) => ({ ...entry(s, i), acc: entry(s, i).acc.map((x) => x + 1) });
    it.each([
      ['null', () => null, Error, 'MultiSteps.loadStateDict: invalid state: expected a state from MultiSteps.stateDict(), got null'],
      ['another format', (s) => ({ ...s, format: 'rmsprop-state' }), Error, 'MultiSteps.loadStateDict: invalid format: expected "rmsprop-multi-steps", got string "rmsprop-state"'],
      ['another version', (s) => ({ ...s, version: 2 }), Error, 'MultiSteps.loadStateDict: invalid version: expected 1, got 2'],
      ['another k', (s) => ({ ...s, k: 3, params: [other(s)] }), Error, "MultiSteps.loadStateDict: invalid k: expected 4, this accumulator's, got 3"],
      ['another mode', (s) => ({ ...s, useGradMean: false }), Error, "MultiSteps.loadStateDict: invalid useGradMean: expected true, this accumulator's, got false"],
      ['count k', (s) => ({ ...s, count: 4 }), Error, 'MultiSteps.loadStateDict: invalid count: expected a whole number below k (4), got 4'],
      ['a negative count', (s) => ({ ...s, count: -1, params: [other(s)] }), RangeError, 'MultiSteps.loadStateDict: invalid count: expected a whole number from 0 to 2^52, got -1'],
      ['a count that is a string', (s) => ({ ...s, count: '2' }), TypeError, 'MultiSteps.loadStateDict: invalid count: expected a whole number from 0 to 2^52, got string "2"'],
      ['params not an array', (s) => ({ ...s, params: {} }), Error, 'MultiSteps.loadStateDict: invalid params: expected an array, got an object'],
      ['an unknown name', (s) => ({ ...s, params: [other(s), { ...entry(s, 1), name: 'u' }] }), Error, 'MultiSteps.loadStateDict: invalid params[1]: expected a parameter of this optimizer (by name, or by group and index when it has none), got name string "u", group 0, index 1'],
      ['a position with no parameter', (s) => ({ ...s, params: [other(s), { ...entry(s, 2), index: 1 }] }), Error, 'MultiSteps.loadStateDict: invalid params[1]: expected a parameter of this optimizer (by name, or by group and index when it has none), got name null, group 1, index 1'],
      ['a short acc', (s) => ({ ...s, params: [other(s, 1), { ...entry(s, 0), acc: new Float64Array(2) }] }), Error, 'MultiSteps.loadStateDict: invalid params[1].acc: expected a Float64Array of length 3, got a Float64Array of length 2'],
      ['a Float32Array acc', (s) => ({ ...s, params: [other(s), { ...entry(s, 1), acc: new Float32Array(2) }] }), Error, 'MultiSteps.loadStateDict: invalid params[1].acc: expected a Float64Array of length 2, got a Float32Array of length 2'],
      ['a parameter twice', (s) => ({ ...s, params: [entry(s, 0), entry(s, 1), other(s)] }), Error, 'MultiSteps.loadStateDict: invalid params[2]: expected each parameter once, got string "w"'],
    ] as [string, (s: MultiStepsStateDict) => unknown, new (m?: string) => Error, string][])(
      'refuses %s, and the window goes on unchanged',
      (_name, bad, type, message) => {
        const [r, twin] = [rig(), rig()];
        runBoth(r, twin, 0, 2);
        const before = r.ms.stateDict();
        expectError(() => r.ms.loadStateDict(bad(before) as never), type, message);
        expect(r.ms.stateDict()).toEqual(before);
        runBoth(r, twin, 2, 8);
      },
    );
  });

  it.each([
    ['k = 0', () => new MultiSteps(rig().opt, 0), RangeError, 'MultiSteps: invalid k: expected a whole number >= 1, got 0'],
    ['k = 2.5', () => new MultiSteps(rig().opt, 2.5), RangeError, 'MultiSteps: invalid k: expected a whole number >= 1, got 2.5'],
    ["k = '4'", () => new MultiSteps(rig().opt, '4' as never), TypeError, 'MultiSteps: invalid k: expected a whole number >= 1, got string "4"'],
    ['useGradMean not a boolean', () => new MultiSteps(rig().opt, 4, { useGradMean: 1 as never }), TypeError, 'MultiSteps: invalid useGradMean: expected a boolean, got 1'],
    ['beforeStep not a function', () => new MultiSteps(rig().opt, 4, { beforeStep: 'clip' as never }), TypeError, 'MultiSteps: invalid beforeStep: expected a function, got string "clip"'],
    ['null for the optimizer', () => new MultiSteps(null as never, 4), TypeError, 'MultiSteps: invalid optimizer: expected an RMSProp, got null'],
    ['an object with a step method for the optimizer', () => new MultiSteps({ step: () => true } as never, 4), TypeError, 'MultiSteps: invalid optimizer: expected an RMSProp, got an object'],
  ] as const)('constructor rejects %s', (_name, make, type, message) => {
    expectError(make, type, message);
  });
});

describe('MultiSteps against misuse', () => {
  it('refuses to be stepped from its own beforeStep, and the window is as it was', () => {
    let nested: MultiSteps | null = null;
    const r = rig({ ms: { beforeStep: () => void nested!.step() } });
    nested = r.ms;
    for (let call = 0; call < 3; call++) {
      feed(r, call);
      r.ms.step();
    }
    const before = r.ms.stateDict();
    feed(r, 3);
    expectError(() => r.ms.step(), Error, 'MultiSteps.step: called from beforeStep, a schedule or a getter while a step is under way');
    expect(r.ms.stateDict()).toEqual(before);
    expect(r.opt.getState(r.w)!.step).toBe(0);
  });

  it('refuses an unknown option (a misspelt one would be ignored)', () => {
    expectError(() => new MultiSteps(rig().opt, 2, { useGradMeans: false } as never), TypeError, 'MultiSteps: unknown option "useGradMeans"; the options are useGradMean, beforeStep');
  });

  it('keeps k, useGradMean and optimizer as they were built', () => {
    const { ms } = rig();
    expect(() => ((ms as { k: unknown }).k = 'x')).toThrow(TypeError);
    expect(() => ((ms as { optimizer: unknown }).optimizer = null)).toThrow(TypeError);
    expect([ms.k, ms.useGradMean]).toEqual([4, true]);
  });

  it('refuses a saved window with entries but no calls', () => {
    const r = rig();
    feed(r, 0);
    r.ms.step();
    const saved = { ...r.ms.stateDict(), count: 0 };
    expectError(() => r.ms.loadStateDict(saved), Error, 'MultiSteps.loadStateDict: invalid params: expected no entries when count is 0 (an empty window holds nothing), got an array of length 3');
  });

  it("says so when a window's float32 sum is beyond float32, and writes nothing ('skip' drops the window)", () => {
    for (const policy of ['throw', 'skip'] as const) {
      const w = { data: Float32Array.of(1), grad: Float32Array.of(3e38) };
      const opt = new RMSProp([w], { nonFinite: policy });
      const ms = new MultiSteps(opt, 2, { useGradMean: false });
      ms.step();
      if (policy === 'throw') {
        expectError(() => ms.step(), RangeError, "MultiSteps.step: the window's sum for (group 0, param 0) is beyond the float32 range; nothing was updated");
        expect(ms.count).toBe(1);
      } else {
        expect(ms.step()).toBe(false);
        expect([ms.skippedSteps, ms.count]).toEqual([1, 0]);
      }
      expect(w.data[0]).toBe(1);
      expect(opt.getState(w)!.step).toBe(0);
    }
  });

  it('names the parameter whose grad getter throws, and adds nothing', () => {
    const r = rig();
    feed(r, 0);
    r.ms.step();
    const before = r.ms.stateDict();
    feed(r, 1);
    Object.defineProperty(r.v, 'grad', { get: () => { throw new Error('boom'); }, configurable: true });
    expectError(() => r.ms.step(), Error, 'MultiSteps.step: reading its grad threw (group 0, param 1): boom');
    expect(r.ms.stateDict()).toEqual(before);
  });

  it('refuses a saved buffer detached by a getter after it was checked, and the window is as it was', () => {
    const r = rig();
    for (const call of [0, 1]) {
      feed(r, call);
      r.ms.step();
    }
    const before = r.ms.stateDict();
    const saved = r.ms.stateDict();
    const first = saved.params[0]!.acc;
    const params = [saved.params[0]!, new Proxy(saved.params[1]!, { get: (t, k) => (k === 'acc' && first.length > 0 && structuredClone(first.buffer, { transfer: [first.buffer as ArrayBuffer] }), Reflect.get(t, k)) })];
    expectError(() => r.ms.loadStateDict({ ...saved, params }), Error, 'MultiSteps.loadStateDict: a saved buffer of (group 0, param 0) was detached after it was checked; the window is as it was');
    expect(r.ms.stateDict()).toEqual(before);
  });

  it('returns what the optimizer returns on the last call: true when every group is frozen (it stepped, and nothing changed)', () => {
    const r = rig({ k: 2 });
    feed(r, 0);
    r.ms.step();
    for (const g of r.opt.paramGroups) g.frozen = true;
    feed(r, 1);
    expect(r.ms.step()).toBe(r.opt.step());
    expect(r.opt.getState(r.w)!.step).toBe(0);
  });
});
