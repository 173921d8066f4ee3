// loadTFJSWeights and tfjsWeights against TFJS 4.22 (tfjs-core + the cpu backend), live: a run
// moved from tf.train.rmsprop to RMSProp, and back, continues as it would have in one place.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { RMSProp, presets } from '../src/index.js';
import type { FloatArray, OptimizerOptions, ParamGroupSpec } from '../src/index.js';
import { loadTFJSWeights, tfjsWeights } from '../src/tfjs-weights.js';
import type { TFJSConfig, TFJSNamedTensor, TFJSTensorLike, TFJSVariableLike } from '../src/tfjs-weights.js';
import { trajectoryError } from './support/compare.js';
import { expectError } from './support/expect-error.js';
import { normals, rng } from './support/random.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** The variables' shapes: sizes 7, 15, 1 and 8, with a matrix and a rank-3 tensor among them. */
const SHAPES = [[7], [3, 5], [1], [2, 2, 2]];
const SIZES = SHAPES.map((s) => s.reduce((a, b) => a * b, 1));
const SCALES = [1, 0.01, 3, 100];
const STEPS = 30;
/** The tolerance of the other live TFJS tests (test/presets.test.ts), as trajectoryError measures. */
const TOLERANCE = 1e-5;

interface Run {
  readonly lr: number;
  readonly decay: number;
  readonly momentum: number;
  readonly epsilon?: number;
  readonly centered: boolean;
}

// TFJS 4.22's centered branch takes sqrt(v - m^2 - eps) where this library (and every other
// framework) takes sqrt(v - m^2 + eps) (docs/algorithm.md): the centered runs use an epsilon small
// enough beside the variance that the two agree to float32 rounding, as they do in presets.test.ts.
const RUNS: readonly [string, Run][] = [
  ['plain (TFJS default epsilon)', { lr: 0.01, decay: 0.9, momentum: 0, centered: false }],
  ['momentum', { lr: 0.01, decay: 0.95, momentum: 0.9, epsilon: 1e-3, centered: false }],
  ['centered', { lr: 0.003, decay: 0.9, momentum: 0, epsilon: 1e-10, centered: true }],
  ['centered + momentum', { lr: 0.001, decay: 0.99, momentum: 0.5, epsilon: 1e-10, centered: true }],
];

/** Named parameters in two groups, or unnamed ones in one: both ways of matching slots. */
const LAYOUTS = ['named, two groups', 'unnamed, one group'] as const;
type Layout = (typeof LAYOUTS)[number];

const CASES = RUNS.flatMap(([name, run]) => LAYOUTS.map((layout) => [`${name}, ${layout}`, run, layout] as const));

interface Param {
  readonly data: FloatArray;
  grad: FloatArray | null;
  readonly name?: string;
}

/** Initial values and 2 x STEPS steps of gradients, float32. */
function problem(seed: number): { init: number[][]; grads: number[][][] } {
  const random = rng(seed);
  const f32 = (xs: number[]): number[] => xs.map(Math.fround);
  const init = SIZES.map((n) => f32(normals(random, n)));
  const grads = Array.from({ length: 2 * STEPS }, () => SIZES.map((n, i) => f32(normals(random, n, SCALES[i]))));
  return { init, grads };
}

let unique = 0;

/** TFJS variables of the shapes above, with names that TFJS's engine has not seen (slashes included). */
function tfVariables(values: readonly ArrayLike<number>[]): tf.Variable[] {
  const run = unique++;
  return values.map((v, i) => tf.variable(tf.tensor(Array.from(v), SHAPES[i], 'float32'), true, `run${run}/layer${i}/kernel`));
}

/** One TFJS step: the gradients as a map in the variables' order. */
function tfStep(opt: tf.Optimizer, vars: readonly tf.Variable[], grads: readonly number[][]): void {
  tf.tidy(() => {
    const map: Record<string, tf.Tensor> = {};
    vars.forEach((v, i) => (map[v.name] = tf.tensor(grads[i]!, v.shape, 'float32')));
    opt.applyGradients(map);
  });
}

function tfOptimizer(run: Run): tf.RMSPropOptimizer {
  return tf.train.rmsprop(run.lr, run.decay, run.momentum, run.epsilon, run.centered);
}

function options(run: Run): OptimizerOptions {
  return { ...presets.tfjs, lr: run.lr, alpha: run.decay, momentum: run.momentum, eps: run.epsilon ?? 1e-7, centered: run.centered };
}

/** Our optimizer over `params`, in the layout's groups. */
function ours(params: readonly Param[], run: Run, layout: Layout): RMSProp {
  if (layout === 'unnamed, one group') return new RMSProp(params, options(run));
  // Two groups, each setting lr itself: the same values as TFJS's one set.
  const groups: ParamGroupSpec[] = [
    { params: [params[0]!, params[1]!], lr: run.lr },
    { params: [params[2]!, params[3]!], lr: run.lr },
  ];
  return new RMSProp(groups, options(run));
}

function ourStep(opt: RMSProp, params: readonly Param[], grads: readonly number[][]): void {
  params.forEach((p, i) => (p.grad = Float32Array.from(grads[i]!)));
  opt.step();
}

const values = (t: { dataSync(): ArrayLike<number> }): number[] => Array.from(t.dataSync());

/** Our state per variable in TFJS's slot order (rms, momentum, mg), as arrays; zeros for no momentum buffer. */
function ourSlots(opt: RMSProp, params: readonly Param[], centered: boolean): number[][] {
  const states = params.map((p) => opt.getState(p)!);
  return [
    ...states.map((s) => Array.from(s.squareAvg)),
    ...states.map((s) => (s.momentumBuffer === null ? new Array<number>(s.squareAvg.length).fill(0) : Array.from(s.momentumBuffer))),
    ...(centered ? states.map((s) => Array.from(s.gradAvg!)) : []),
  ];
}

/** Steps TFJS and our optimizer with the same gradients; the trajectoryError of ours against TFJS's. */
function continueBoth(tfOpt: tf.Optimizer, vars: readonly tf.Variable[], opt: RMSProp, params: readonly Param[], grads: readonly number[][][]): number {
  const theirs: number[][][] = [];
  const mine: number[][][] = [];
  for (const step of grads) {
    tfStep(tfOpt, vars, step);
    ourStep(opt, params, step);
    theirs.push(vars.map(values));
    mine.push(params.map((p) => Array.from(p.data)));
  }
  return trajectoryError(mine, theirs, 'float32');
}

describe('loadTFJSWeights: a tf.train.rmsprop run continued here, live against TFJS 4.22', () => {
  it.each(CASES)('%s', async (_name, run, layout) => {
    const { init, grads } = problem(11);
    const vars = tfVariables(init);
    const tfOpt = tfOptimizer(run);
    for (const step of grads.slice(0, STEPS)) tfStep(tfOpt, vars, step);

    const named = layout === 'named, two groups';
    const params: Param[] = vars.map((v) => ({ data: Float32Array.from(v.dataSync()), grad: null, ...(named ? { name: v.name } : {}) }));
    const opt = ours(params, run, layout);
    const weights = await tfOpt.getWeights();
    loadTFJSWeights(opt, weights, tfOpt.getConfig());

    // The state is TFJS's, bit for bit; every count is TFJS's iteration count.
    expect(weights.map((w) => w.name)).toEqual([
      'iter',
      ...['rms', 'momentum', ...(run.centered ? ['mg'] : [])].flatMap((kind) => vars.map((v) => `${v.name}/${kind}`)),
    ]);
    const theirs = weights.slice(1).map((w) => values(w.tensor));
    const mine = ourSlots(opt, params, run.centered);
    const withMomentum = run.momentum > 0;
    mine.forEach((slot, k) => {
      const isMomentum = k >= vars.length && k < 2 * vars.length;
      if (!isMomentum || withMomentum) expect(new Float32Array(slot), weights[k + 1]!.name).toEqual(new Float32Array(theirs[k]!));
    });
    if (!withMomentum) for (const p of params) expect(opt.getState(p)!.momentumBuffer).toBeNull();
    expect(opt.stateDict().updates).toBe(STEPS);
    for (const p of params) expect(opt.getState(p)!.step).toBe(STEPS);
    weights[0]!.tensor.dispose(); // the iteration count is a new tensor; the slots are tfOpt's own

    // Both continue with the same gradients.
    expect(continueBoth(tfOpt, vars, opt, params, grads.slice(STEPS))).toBeLessThanOrEqual(TOLERANCE);
    tfOpt.dispose();
    vars.forEach((v) => v.dispose());
  });
});

describe('the comparison can fail', () => {
  it.each(RUNS)('%s: without moving the state, the continued runs part by more than the tolerance', async (_name, run) => {
    const { init, grads } = problem(11);
    const vars = tfVariables(init);
    const tfOpt = tfOptimizer(run);
    for (const step of grads.slice(0, STEPS)) tfStep(tfOpt, vars, step);
    const params: Param[] = vars.map((v) => ({ data: Float32Array.from(v.dataSync()), grad: null }));
    const opt = ours(params, run, 'unnamed, one group'); // a fresh state: zeros
    expect(continueBoth(tfOpt, vars, opt, params, grads.slice(STEPS))).toBeGreaterThan(100 * TOLERANCE);
    tfOpt.dispose();
    vars.forEach((v) => v.dispose());
  });
});

describe('tfjsWeights: a run here continued in tf.train.rmsprop, live against TFJS 4.22', () => {
  it.each(CASES)('%s', async (_name, run, layout) => {
    const { init, grads } = problem(23);
    const named = layout === 'named, two groups';
    const params: Param[] = init.map((v, i) => ({ data: Float32Array.from(v), grad: null, ...(named ? { name: `layer${i}` } : {}) }));
    const opt = ours(params, run, layout);
    for (const step of grads.slice(0, STEPS)) ourStep(opt, params, step);

    // TFJS variables holding our values, named as our parameters when they have names, listed
    // in the order applyGradients will see them. A new TFJS optimizer has no slots yet:
    // setWeights makes them, by position, and applyGradients uses them instead of making zeros.
    const run2 = unique++;
    const vars = params.map((p, i) => tf.variable(tf.tensor(Array.from(p.data), SHAPES[i], 'float32'), true, p.name ?? `run${run2}/v${i}`));
    const tfOpt = tfOptimizer(run);
    const made = tfjsWeights(opt, tf.tensor, vars, tfOpt.getConfig());
    await tfOpt.setWeights(made);
    made.forEach((w) => w.tensor.dispose()); // setWeights made variables of them, which keep the data
    expect(tfOpt.iterations).toBe(STEPS);

    // TFJS now holds our state, bit for bit, under its own names and the variables' shapes.
    const weights = await tfOpt.getWeights();
    expect(weights.map((w) => w.name)).toEqual([
      'iter',
      ...['rms', 'momentum', ...(run.centered ? ['mg'] : [])].flatMap((kind) => vars.map((v) => `${v.name}/${kind}`)),
    ]);
    expect(weights.slice(1).map((w) => w.tensor.shape)).toEqual(weights.slice(1).map((_, k) => SHAPES[k % SHAPES.length]));
    const mine = ourSlots(opt, params, run.centered);
    weights.slice(1).forEach((w, k) => expect(new Float32Array(values(w.tensor)), w.name).toEqual(new Float32Array(mine[k]!)));
    weights[0]!.tensor.dispose();

    expect(continueBoth(tfOpt, vars, opt, params, grads.slice(STEPS))).toBeLessThanOrEqual(TOLERANCE);
    tfOpt.dispose();
    vars.forEach((v) => v.dispose());
  });

  it('replaces the slots of a TFJS optimizer that has already stepped (setWeights keeps none of them)', async () => {
    const run = RUNS[3]![1];
    const { init, grads } = problem(5);
    const params: Param[] = init.map((v) => ({ data: Float32Array.from(v), grad: null }));
    const opt = ours(params, run, 'unnamed, one group');
    for (const step of grads.slice(0, STEPS)) ourStep(opt, params, step);
    const vars = tfVariables(params.map((p) => p.data));
    const tfOpt = tfOptimizer(run);
    for (const step of grads.slice(0, 3)) tfStep(tfOpt, vars, step); // slots made, variables moved
    tf.tidy(() => vars.forEach((v, i) => v.assign(tf.tensor(Array.from(params[i]!.data), v.shape, 'float32'))));
    const made = tfjsWeights(opt, tf.tensor, vars);
    await tfOpt.setWeights(made);
    made.forEach((w) => w.tensor.dispose());
    expect(continueBoth(tfOpt, vars, opt, params, grads.slice(STEPS))).toBeLessThanOrEqual(TOLERANCE);
    expect(tfOpt.iterations).toBe(2 * STEPS);
    tfOpt.dispose();
    vars.forEach((v) => v.dispose());
  });

  it('without the variables gives flat slots, which TFJS refuses at its next step for a variable of another shape', async () => {
    const run = RUNS[1]![1];
    const params: Param[] = SIZES.map((n) => ({ data: new Float32Array(n).fill(0.5), grad: null }));
    const opt = ours(params, run, 'unnamed, one group');
    const made = tfjsWeights(opt, tf.tensor);
    expect(made.map((w) => [w.name, w.tensor.shape, w.tensor.dtype])).toEqual([
      ['iter', [], 'int32'],
      ...['rms', 'momentum'].flatMap((kind) => SIZES.map((n, i) => [`${i}/${kind}`, [n], 'float32'])),
    ]);
    const vars = tfVariables(params.map((p) => p.data));
    const tfOpt = tfOptimizer(run);
    await tfOpt.setWeights(made);
    made.forEach((w) => w.tensor.dispose());
    expect(() => tfStep(tfOpt, vars, SIZES.map((n) => new Array<number>(n).fill(1)))).toThrow(/broadcast/);
    tfOpt.dispose();
    vars.forEach((v) => v.dispose());
  });
});

/** A tensor as tfjsWeights' `tensor` makes it without TFJS: what loadTFJSWeights reads. */
interface FakeTensor extends TFJSTensorLike {
  readonly shape: number[];
  readonly dtype: string;
  dataSync(): ArrayLike<number>;
}
const fake = (values: ArrayLike<number>, shape: readonly number[], dtype: string): FakeTensor => ({ shape: [...shape], dtype, dataSync: () => values });
const fakeTensor = (values: Float32Array | Int32Array, shape: number[], dtype: 'float32' | 'int32'): FakeTensor => fake(values, shape, dtype);

describe('tfjsWeights and loadTFJSWeights together', () => {
  it.each([
    ['float32', Float32Array],
    ['float64 (rounded to float32 on the way out, widened on the way in)', Float64Array],
  ] as const)('give back the state: %s', (_name, T) => {
    const random = rng(3);
    const make = (named: boolean): Param[] => SIZES.map((n, i) => ({ data: T.from(normals(random, n)), grad: null, ...(named ? { name: `w${i}` } : {}) }));
    for (const named of [true, false]) {
      const params = make(named);
      const opt = new RMSProp(params, { ...presets.tfjs, lr: 0.01, momentum: 0.9, centered: true });
      for (let t = 0; t < 5; t++) {
        for (const p of params) p.grad = T.from(normals(random, p.data.length));
        opt.step();
      }
      const twinParams = params.map((p) => ({ ...p, data: p.data.slice(), grad: null }));
      const twin = new RMSProp(twinParams, { ...presets.tfjs, lr: 0.01, momentum: 0.9, centered: true });
      loadTFJSWeights(twin, tfjsWeights(opt, fakeTensor));
      const round = (a: FloatArray | null): number[] | null => (a === null ? null : Array.from(a, Math.fround));
      params.forEach((p, i) => {
        const s = opt.getState(p)!;
        const u = twin.getState(twinParams[i]!)!;
        expect([u.squareAvg, u.gradAvg, u.momentumBuffer].map((b) => b?.constructor)).toEqual([T, T, T]);
        expect([u.squareAvg, u.gradAvg, u.momentumBuffer].map((b) => round(b))).toEqual([s.squareAvg, s.gradAvg, s.momentumBuffer].map((b) => round(b)));
        expect(u.step).toBe(5);
      });
      expect(twin.stateDict().updates).toBe(5);
    }
  });

  it('write zeros for the momentum slots of a group without momentum, and ignore them when loading into one', () => {
    const params: Param[] = [{ data: new Float32Array([1, 2]), grad: new Float32Array([0.5, -1]), name: 'a' }];
    const opt = new RMSProp(params, { ...presets.tfjs, lr: 0.1, momentum: 0.9 });
    opt.step();
    const weights = tfjsWeights(opt, fakeTensor);
    expect(Array.from(weights[2]!.tensor.dataSync()).every((x) => x !== 0)).toBe(true);
    const plain = new RMSProp([{ data: new Float32Array(2), grad: null, name: 'a' }], { ...presets.tfjs, lr: 0.1 });
    loadTFJSWeights(plain, weights);
    expect(plain.getState(plain.paramGroups[0]!.params[0]!)!.momentumBuffer).toBeNull();
    expect(Array.from(tfjsWeights(plain, fakeTensor)[2]!.tensor.dataSync())).toEqual([0, 0]);
  });

  it('take the variables in any order when the parameters have names, and by position when they do not', () => {
    const params: Param[] = [
      { data: new Float32Array([1, 2, 3]), grad: new Float32Array([1, 1, 1]), name: 'x' },
      { data: new Float32Array([4]), grad: new Float32Array([2]), name: 'y' },
    ];
    const opt = new RMSProp(params, { ...presets.tfjs, lr: 0.1 });
    opt.step();
    const vars: TFJSVariableLike[] = [{ name: 'y', shape: [1, 1] }, { name: 'x', shape: [3] }];
    const weights = tfjsWeights(opt, fakeTensor, vars);
    expect(weights.map((w) => [w.name, w.tensor.shape])).toEqual([['iter', []], ['y/rms', [1, 1]], ['x/rms', [3]], ['y/momentum', [1, 1]], ['x/momentum', [3]]]);
    expect(Array.from(weights[1]!.tensor.dataSync())).toEqual(Array.from(opt.getState(params[1]!)!.squareAvg));
    // Unnamed: the first variable is the first parameter, whatever its name.
    const unnamed = new RMSProp([{ data: new Float32Array(3), grad: null }, { data: new Float32Array(1), grad: null }], { ...presets.tfjs, lr: 0.1 });
    const positional = tfjsWeights(unnamed, fakeTensor, [{ name: 'dense/kernel', shape: [3] }, { name: 'dense/bias', shape: [1] }]);
    expect(positional.map((w) => w.name)).toEqual(['iter', 'dense/kernel/rms', 'dense/bias/rms', 'dense/kernel/momentum', 'dense/bias/momentum']);
    // Loaded by name, whatever the order.
    const twinParams = params.map((p) => ({ ...p, data: p.data.slice(), grad: null }));
    const twin = new RMSProp(twinParams, { ...presets.tfjs, lr: 0.1 });
    loadTFJSWeights(twin, weights);
    twinParams.forEach((p, i) => expect(twin.getState(p)!.squareAvg).toEqual(opt.getState(params[i]!)!.squareAvg));
  });
});

// ---------------------------------------------------------------------------------------------
// Refusals: every message exact, and the optimizer exactly as an untouched twin built the same way.

const bytes = (a: FloatArray | null): number[] | null => (a === null ? null : Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)));

/** Everything an optimizer holds, bit for bit (without the parameters' values: `state` only). */
function snapshot(opt: RMSProp, part: 'all' | 'state' = 'all'): unknown {
  return {
    updates: opt.stateDict().updates,
    groups: opt.paramGroups.map((g) => ({
      ...g,
      params: g.params.map((p) => {
        const s = opt.getState(p)!;
        return [part === 'all' ? bytes(p.data) : null, bytes(s.squareAvg), bytes(s.gradAvg), bytes(s.momentumBuffer), s.step];
      }),
    })),
  };
}

const NAMES = ['dense/kernel', 'dense/bias', 'out'];

/** Three parameters (7, 15, 1) in two groups, stepped `steps` times: the same every call. */
function build(named: boolean, group1: Partial<ParamGroupSpec> = {}, defaults: OptimizerOptions = {}, steps = 3): RMSProp {
  const random = rng(42);
  const params: Param[] = [7, 15, 1].map((n, i) => ({ data: Float32Array.from(normals(random, n)), grad: null, ...(named ? { name: NAMES[i]! } : {}) }));
  const opt = new RMSProp(
    [{ params: [params[0]!, params[1]!] }, { params: [params[2]!], ...group1 }],
    { ...presets.tfjs, lr: 0.01, momentum: 0.9, ...defaults },
  );
  for (let t = 0; t < steps; t++) {
    for (const p of params) p.grad = Float32Array.from(normals(random, p.data.length));
    opt.step();
  }
  return opt;
}

/** A valid TFJS-shaped list for `build(named)`, from another state (a load would change the optimizer). */
function validWeights(named: boolean, centered = false): TFJSNamedTensor<FakeTensor>[] {
  return tfjsWeights(build(named, {}, { centered }, 7), fakeTensor);
}

type Mutate = (w: TFJSNamedTensor<FakeTensor>[]) => unknown;
const replace = (k: number, entry: Partial<TFJSNamedTensor<FakeTensor>>): Mutate => (w) => w.map((e, i) => (i === k ? { ...e, ...entry } : e));
const CONFIG: TFJSConfig = { learningRate: 0.01, decay: 0.9, momentum: 0.9, epsilon: 1e-7, centered: false };

interface Refusal {
  readonly title: string;
  readonly named?: boolean;
  readonly group1?: Partial<ParamGroupSpec>;
  readonly defaults?: OptimizerOptions;
  readonly weights?: Mutate;
  readonly centeredWeights?: boolean;
  readonly config?: TFJSConfig;
  readonly type: new (message: string) => Error;
  readonly message: string;
}

const P = 'loadTFJSWeights';
const LOAD_REFUSALS: Refusal[] = [
  { title: 'not an array', weights: () => ({ length: 7 }), type: TypeError, message: `${P}: invalid weights: expected an array (await tfOptimizer.getWeights()), got an object` },
  {
    title: 'one entry short',
    weights: (w) => w.slice(0, -1),
    type: Error,
    message: `${P}: invalid weights: expected 7 named tensors for 3 parameters ("iter", then every rms, then every momentum), got an array of length 6`,
  },
  {
    title: "a centered optimizer's weights, into one that is not",
    centeredWeights: true,
    type: Error,
    message: `${P}: invalid weights: expected 7 named tensors for 3 parameters ("iter", then every rms, then every momentum), got an array of length 10 (the weights of a TFJS optimizer with centered: true, but the optimizer has centered: false)`,
  },
  {
    title: "a plain optimizer's weights, into a centered one",
    defaults: { centered: true },
    type: Error,
    message: `${P}: invalid weights: expected 10 named tensors for 3 parameters ("iter", then every rms, then every momentum, then every mg), got an array of length 7 (the weights of a TFJS optimizer with centered: false, but the optimizer has centered: true)`,
  },
  { title: 'no iteration count first', weights: replace(0, { name: 'iterations' }), type: Error, message: `${P}: invalid weights[0].name: expected "iter" (the iteration count comes first), got string "iterations"` },
  { title: 'a fractional iteration count', weights: replace(0, { tensor: fake([2.5], [], 'float32') }), type: RangeError, message: `${P}: invalid weights[0] (the iteration count): expected a whole number from 0 to 2^52, got 2.5` },
  { title: 'a negative iteration count', weights: replace(0, { tensor: fake(Int32Array.of(-1), [], 'int32') }), type: RangeError, message: `${P}: invalid weights[0] (the iteration count): expected a whole number from 0 to 2^52, got -1` },
  { title: 'an iteration count that is not a scalar', weights: replace(0, { tensor: fake([1, 2], [2], 'int32') }), type: Error, message: `${P}: invalid weights[0].tensor.shape: expected a scalar (1 element), got [2] (2 elements)` },
  {
    title: 'a variable that is no parameter',
    named: true,
    weights: replace(2, { name: 'dense/bais/rms' }),
    type: Error,
    message: `${P}: invalid weights[2].name: expected the rms slot of a parameter: "dense/kernel/rms", "dense/bias/rms", "out/rms", got string "dense/bais/rms"`,
  },
  {
    title: 'a variable twice',
    named: true,
    weights: replace(2, { name: 'dense/kernel/rms' }),
    type: Error,
    message: `${P}: invalid weights[2].name: expected a variable's rms slot once (weights[1] is "dense/kernel/rms" too), got string "dense/kernel/rms"`,
  },
  {
    title: 'no rms slot where one belongs (by position)',
    weights: replace(1, { name: 'dense/kernel/momentum' }),
    type: Error,
    message: `${P}: invalid weights[1].name: expected "<variable name>/rms", got string "dense/kernel/momentum"`,
  },
  {
    title: 'momentum slots in another order than the rms slots',
    named: true,
    weights: (w) => [w[0], w[1], w[2], w[3], w[5], w[4], w[6]],
    type: Error,
    message: `${P}: invalid weights[4].name: expected "dense/kernel/momentum" (TFJS lists the rms slots, then the momentum slots, each in the variables' order), got string "dense/bias/momentum"`,
  },
  {
    title: 'a slot of the wrong size',
    named: true,
    weights: replace(2, { tensor: fake(new Float32Array(12), [3, 4], 'float32') }),
    type: Error,
    message: `${P}: invalid weights[2].tensor.shape: expected 15 elements, the length of (group 0, param 1) "dense/bias", got [3, 4] (12 elements)`,
  },
  {
    title: 'a slot of the wrong size, unnamed',
    weights: replace(6, { tensor: fake(new Float32Array(2), [2], 'float32') }),
    type: Error,
    message: `${P}: invalid weights[6].tensor.shape: expected 1 element, the length of (group 1, param 0), got [2] (2 elements)`,
  },
  {
    title: 'a momentum slot of the wrong size in a group without momentum (checked, though not loaded)',
    group1: { momentum: 0 },
    weights: replace(6, { tensor: fake(new Float32Array(3), [3], 'float32') }),
    type: Error,
    message: `${P}: invalid weights[6].tensor.shape: expected 1 element, the length of (group 1, param 0), got [3] (3 elements)`,
  },
  { title: 'an int32 slot', weights: replace(4, { tensor: fake(new Int32Array(7), [7], 'int32') }), type: Error, message: `${P}: invalid weights[4].tensor.dtype: expected "float32", got string "int32"` },
  {
    title: 'fewer values than the shape says',
    weights: replace(1, { tensor: fake(new Float32Array(6), [7], 'float32') }),
    type: Error,
    message: `${P}: invalid weights[1].tensor: expected 7 values from dataSync(), as its shape says, got a Float32Array of length 6`,
  },
  { title: 'an entry that is no tensor', weights: replace(3, { tensor: null as never }), type: TypeError, message: `${P}: invalid weights[3].tensor: expected a tensor (shape, dtype and dataSync()), got null` },
  { title: 'an entry without a name', weights: replace(3, { name: 3 as never }), type: TypeError, message: `${P}: invalid weights[3].name: expected a string, got 3` },
  {
    title: 'a group without epsInSqrt (PyTorch semantics)',
    group1: { epsInSqrt: false },
    type: Error,
    message: `${P}: invalid epsInSqrt in group 1: expected true, as TFJS's update (spread presets.tfjs into the options), got false`,
  },
  { title: 'a group without lrInMomentum', defaults: { lrInMomentum: false }, type: Error, message: `${P}: invalid lrInMomentum in group 0: expected true, as TFJS's update (spread presets.tfjs into the options), got false` },
  { title: 'a group with nesterov', group1: { nesterov: true }, type: Error, message: `${P}: invalid nesterov in group 1: expected false, as TFJS's update (spread presets.tfjs into the options), got true` },
  { title: 'a group with weight decay', group1: { weightDecay: 1e-4 }, type: Error, message: `${P}: invalid weightDecay in group 1: expected 0: tf.train.rmsprop has no weight decay, got 0.0001` },
  {
    title: 'groups that differ in centered',
    group1: { centered: true },
    type: Error,
    message: `${P}: invalid centered in group 1: expected false, as in group 0: a TFJS optimizer is centered for every variable or for none, got true`,
  },
  {
    title: "an epsilon that is not the TFJS optimizer's (config)",
    config: { ...CONFIG, epsilon: 1e-4 },
    type: Error,
    message: `${P}: invalid eps in group 0: expected 0.0001, the TFJS optimizer's epsilon, got 1e-7`,
  },
  { title: "a learning rate that is not the TFJS optimizer's (config)", group1: { lr: 0.02 }, config: CONFIG, type: Error, message: `${P}: invalid lr in group 1: expected 0.01, the TFJS optimizer's learningRate, got 0.02` },
  { title: 'a config without decay', config: { ...CONFIG, decay: undefined }, type: TypeError, message: `${P}: invalid config.decay: expected a number (tfOptimizer.getConfig()), got undefined` },
];

describe('loadTFJSWeights refuses, and changes nothing', () => {
  it.each(LOAD_REFUSALS.map((r) => [r.title, r] as const))('%s', (_title, r) => {
    const named = r.named ?? false;
    const opt = build(named, r.group1, r.defaults);
    const twin = build(named, r.group1, r.defaults);
    const weights = (r.weights ?? ((w) => w))(validWeights(named, r.centeredWeights ?? false)) as TFJSNamedTensor[];
    expectError(() => loadTFJSWeights(opt, weights, r.config), r.type, r.message);
    expect(snapshot(opt)).toEqual(snapshot(twin));
  });

  it('reads no tensor before every entry is checked (dataSync() may be a GPU read-back)', () => {
    let reads = 0;
    const counted = validWeights(false).map((w) => ({ ...w, tensor: { ...w.tensor, dataSync: () => (reads++, w.tensor.dataSync()) } }));
    const bad = counted.map((w, k) => (k === counted.length - 1 ? { ...w, tensor: { ...w.tensor, dtype: 'float16' } } : w));
    expect(() => loadTFJSWeights(build(false), bad)).toThrow('weights[6].tensor.dtype');
    expect(reads).toBe(0);
    loadTFJSWeights(build(false), counted);
    expect(reads).toBe(7);
  });

  it('the valid list, for contrast, loads and changes the state', () => {
    for (const named of [true, false]) {
      const opt = build(named);
      const before = snapshot(opt);
      loadTFJSWeights(opt, validWeights(named), CONFIG);
      expect(snapshot(opt)).not.toEqual(before);
      expect(snapshot(opt, 'state')).toEqual(snapshot(build(named, {}, {}, 7), 'state'));
    }
  });

  it('a disposed TFJS tensor: says which, with TFJS’s message as the cause', async () => {
    const vars = tfVariables(SIZES.map((n) => new Float32Array(n)));
    const tfOpt = tf.train.rmsprop(0.01, 0.9, 0.9);
    tfStep(tfOpt, vars, SIZES.map((n) => new Array<number>(n).fill(1)));
    const weights = await tfOpt.getWeights();
    weights[3]!.tensor.dispose();
    const make = (): RMSProp => new RMSProp(vars.map((v) => ({ data: new Float32Array(v.size), grad: null })), { ...presets.tfjs, lr: 0.01, momentum: 0.9 });
    const opt = make();
    expectError(() => loadTFJSWeights(opt, weights), Error, `${P}: reading weights[3].tensor threw in dataSync(): Tensor is disposed.`);
    expect(snapshot(opt)).toEqual(snapshot(make()));
    tfOpt.dispose();
    vars.forEach((v) => v.dispose());
  });
});

const S = 'tfjsWeights';
const VARS: TFJSVariableLike[] = NAMES.map((name, i) => ({ name, shape: [[7], [3, 5], [1]][i]! }));

interface SaveRefusal {
  readonly title: string;
  readonly named?: boolean;
  readonly group1?: Partial<ParamGroupSpec>;
  readonly defaults?: OptimizerOptions;
  readonly variables?: unknown;
  readonly config?: TFJSConfig;
  readonly tensor?: unknown;
  readonly type: new (message: string) => Error;
  readonly message: string;
}

const SAVE_REFUSALS: SaveRefusal[] = [
  { title: 'no tensor function', tensor: 'tf.tensor', type: TypeError, message: `${S}: invalid tensor: expected a function (tf.tensor), got string "tf.tensor"` },
  { title: 'a group with PyTorch semantics', group1: { epsInSqrt: false, lrInMomentum: false }, type: Error, message: `${S}: invalid epsInSqrt in group 1: expected true, as TFJS's update (spread presets.tfjs into the options), got false` },
  { title: 'a group with maximize', group1: { maximize: true }, type: Error, message: `${S}: invalid maximize in group 1: expected false, as TFJS's update (spread presets.tfjs into the options), got true` },
  { title: 'groups that differ in centered', defaults: { centered: true }, group1: { centered: false }, type: Error, message: `${S}: invalid centered in group 1: expected true, as in group 0: a TFJS optimizer is centered for every variable or for none, got false` },
  { title: "a momentum that is not the TFJS optimizer's (config)", config: { ...CONFIG, momentum: 0 }, type: Error, message: `${S}: invalid momentum in group 0: expected 0, the TFJS optimizer's momentum, got 0.9` },
  { title: 'one variable short', named: true, variables: VARS.slice(1), type: Error, message: `${S}: invalid variables: expected an array of 3 TFJS variables, one per parameter, in applyGradients' order, got an array of length 2` },
  {
    title: 'a variable that is no parameter',
    named: true,
    variables: [VARS[0], { name: 'dense/b', shape: [15] }, VARS[2]],
    type: Error,
    message: `${S}: invalid variables[1].name: expected the name of a parameter: "dense/kernel", "dense/bias", "out", got string "dense/b"`,
  },
  { title: 'a variable twice', named: true, variables: [VARS[0], VARS[0], VARS[2]], type: Error, message: `${S}: invalid variables[1].name: expected a name used once (variables[0] has it too), got string "dense/kernel"` },
  {
    title: 'a variable of another size',
    variables: [VARS[0], { name: 'dense/bias', shape: [4, 5] }, VARS[2]],
    type: Error,
    message: `${S}: invalid variables[1].shape: expected 15 elements, the length of (group 0, param 1), got [4, 5] (20 elements)`,
  },
  { title: 'a variable without a shape', variables: [VARS[0], { name: 'dense/bias' }, VARS[2]], type: TypeError, message: `${S}: invalid variables[1].shape: expected an array of whole numbers >= 0, got undefined` },
  { title: 'a variable without a name', variables: [VARS[0], { shape: [15] }, VARS[2]], type: TypeError, message: `${S}: invalid variables[1]: expected a TFJS variable (a non-empty name and a shape), got an object` },
];

describe('tfjsWeights refuses, makes no tensor, and changes nothing', () => {
  it.each(SAVE_REFUSALS.map((r) => [r.title, r] as const))('%s', (_title, r) => {
    const named = r.named ?? false;
    const opt = build(named, r.group1, r.defaults);
    const twin = build(named, r.group1, r.defaults);
    let made = 0;
    const tensor = r.tensor ?? ((v: Float32Array | Int32Array, shape: number[], dtype: 'float32' | 'int32') => (made++, fakeTensor(v, shape, dtype)));
    expectError(() => tfjsWeights(opt, tensor as typeof fakeTensor, r.variables as TFJSVariableLike[] | undefined, r.config), r.type, r.message);
    expect(made).toBe(0);
    expect(snapshot(opt)).toEqual(snapshot(twin));
  });

  it('disposes the tensors it made when making one fails part-way (out of memory), and rethrows', () => {
    const opt = build(false);
    const disposed: number[] = [];
    let calls = 0;
    const tensor = (v: Float32Array | Int32Array, shape: number[], dtype: 'float32' | 'int32') => {
      const id = calls++;
      if (id === 3) throw new Error('out of GPU memory');
      return { ...fakeTensor(v, shape, dtype), dispose: () => void disposed.push(id) };
    };
    expectError(() => tfjsWeights(opt, tensor), Error, 'out of GPU memory');
    expect(disposed).toEqual([0, 1, 2]);
  });

  it('an update count beyond int32 (TFJS keeps iter as an int32)', () => {
    const opt = build(false);
    opt.loadStateDict({ ...opt.stateDict(), updates: 2 ** 31 });
    expectError(() => tfjsWeights(opt, fakeTensor), RangeError, `${S}: invalid update count: expected at most 2147483647 (TFJS holds iter as an int32), got 2147483648`);
    opt.loadStateDict({ ...opt.stateDict(), updates: 2 ** 31 - 1 });
    expect(Array.from(tfjsWeights(opt, fakeTensor)[0]!.tensor.dataSync())).toEqual([2 ** 31 - 1]);
  });
});
