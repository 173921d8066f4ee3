import { describe, expect, it } from 'vitest';
import { createState, rmspropDefaults, rmspropStep, zerosLike } from '../src/rmsprop-step.js';
import type { FloatArray, RMSPropHyper, RMSPropState } from '../src/rmsprop-step.js';
import { label, switchCombinations } from './support/configs.js';
import { normals, rng } from './support/random.js';
import { referenceState, referenceStep } from './support/reference.js';

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;
const DTYPES: readonly [string, Ctor, (x: number) => number][] = [
  ['Float32Array', Float32Array, Math.fround],
  ['Float64Array', Float64Array, (x) => x],
];

// Every combination of the switches that has an effect, with a few hyperparameter settings.
const CONFIGS: RMSPropHyper[] = switchCombinations();
CONFIGS.push(
  { ...rmspropDefaults, maximize: true },
  { ...rmspropDefaults, maximize: true, momentum: 0.5, centered: true, weightDecay: 0.01 },
  { ...rmspropDefaults, maximize: true, decoupledWeightDecay: true, weightDecay: 0.01, epsInSqrt: true },
  { ...rmspropDefaults, lr: 0.1, alpha: 0.9, eps: 1e-3 },
  { ...rmspropDefaults, lr: 0, momentum: 0.5, centered: true },
  { ...rmspropDefaults, alpha: 0, eps: 0.5, momentum: 0.99 },
  { ...rmspropDefaults, lr: 3, alpha: 0.999, eps: 1e-12, weightDecay: 1, centered: true },
  { ...rmspropDefaults, initialAccumulator: 1, epsInSqrt: true, lrInMomentum: true, momentum: 0.9, eps: 1e-10 },
  { ...rmspropDefaults, initialAccumulator: 0.5, centered: true, biasCorrection: true },
);

function bitsEqual(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

describe('rmspropStep', () => {
  describe.each(DTYPES)('on %s', (_name, T, round) => {
    it.each(CONFIGS.map((h) => [label(h), h] as const))(
      'matches the slow reference bit for bit over 12 steps: %s',
      (_label, hyper) => {
        const random = rng(42);
        for (const n of [0, 1, 17, 64]) {
          const init = normals(random, n).map(round);
          const param = T.from(init);
          const state = createState(param, hyper);
          const refParam = [...init];
          const refState = referenceState(n, hyper, round);
          for (let t = 0; t < 12; t++) {
            const g = normals(random, n, t % 3 === 0 ? 100 : 0.5).map(round);
            rmspropStep(param, T.from(g), state, hyper);
            referenceStep(refParam, g, refState, hyper, round);
          }
          const same = (a: FloatArray, b: number[]): void => expect(bitsEqual(a, b)).toBe(true);
          same(param, refParam);
          same(state.squareAvg, refState.squareAvg);
          expect(state.gradAvg === null).toBe(refState.gradAvg === null);
          if (state.gradAvg) same(state.gradAvg, refState.gradAvg!);
          expect(state.momentumBuffer === null).toBe(refState.momentumBuffer === null);
          if (state.momentumBuffer) same(state.momentumBuffer, refState.momentumBuffer!);
          expect(state.step).toBe(12);
          for (const x of param) expect(Number.isFinite(x)).toBe(true);
        }
      },
    );

    it('updates subarray views of one buffer and touches nothing outside them', () => {
      const hyper: RMSPropHyper = { ...rmspropDefaults, momentum: 0.9, centered: true, weightDecay: 0.01 };
      const random = rng(7);
      const n = 13;
      // One arena: [pad | param | pad | grad | pad | squareAvg | pad | gradAvg | pad | momentumBuffer | pad]
      const arena = new T(6 * 5 + 5 * n).fill(-7.5);
      const view = (k: number): FloatArray => arena.subarray(5 + k * (n + 5), 5 + k * (n + 5) + n);
      const param = view(0);
      const grad = view(1);
      const state: RMSPropState = { squareAvg: view(2), gradAvg: view(3), momentumBuffer: view(4), step: 0 };
      param.set(normals(random, n));
      state.squareAvg.fill(0);
      state.gradAvg!.fill(0);
      state.momentumBuffer!.fill(0);
      // The same run on separate buffers.
      const alone = T.from(param);
      const aloneState = createState(alone, hyper);
      for (let t = 0; t < 5; t++) {
        grad.set(normals(random, n));
        rmspropStep(param, grad, state, hyper);
        rmspropStep(alone, T.from(grad), aloneState, hyper);
      }
      expect(bitsEqual(param, alone)).toBe(true);
      expect(bitsEqual(state.momentumBuffer!, aloneState.momentumBuffer!)).toBe(true);
      for (let k = 0; k <= 5; k++) {
        const start = k * (n + 5);
        for (let i = start; i < start + 5; i++) expect(arena[i]).toBe(-7.5);
      }
    });
  });

  it('moves each weight by lr / sqrt(1 - alpha) times the sign of its gradient on the first step', () => {
    // The example in the kernel's TSDoc.
    const w = new Float32Array([1, -2, 3]);
    const g = new Float32Array([0.1, 0.2, -0.3]);
    const state = createState(w, rmspropDefaults);
    rmspropStep(w, g, state, rmspropDefaults);
    // lr / sqrt(1 - alpha) = 0.1 exactly in real numbers; float32 inputs make it 0.1 to 1 ulp.
    const expected = [0.9, -2.1, 3.1];
    w.forEach((x, i) => expect(Math.abs(x - expected[i]!)).toBeLessThanOrEqual(2 ** -23 * Math.abs(expected[i]!) * 2));
    expect(state.step).toBe(1);
  });

  it.each([
    ['eps outside the root (PyTorch)', false],
    ['eps inside the root (TF, Keras, TFJS, Optax)', true],
  ])('keeps centered RMSProp finite for 100 000 float32 steps of a constant gradient, %s', (_name, epsInSqrt) => {
    const hyper: RMSPropHyper = { ...rmspropDefaults, centered: true, lr: 1e-6, epsInSqrt, eps: epsInSqrt ? 1e-7 : 1e-8 };
    const values = [0.1, 1, 3, 1e-3, 7.7, 0.25, 123.456, 1e-6];
    const param = new Float32Array(values.length);
    const grad = Float32Array.from(values);
    const state = createState(param, hyper);
    // PyTorch's recurrence, every operation rounded to float32 as its float32 tensors do, and no
    // clamp: the variance v - m*m rounds below zero (torch 1.13 itself gives NaN at step 1200 for
    // the gradient 0.1; this emulation at 1212).
    const f = Math.fround;
    const beta = 1 - hyper.alpha;
    const v = new Float32Array(values.length);
    const m = new Float32Array(values.length);
    let naiveNaN = -1;
    for (let t = 0; t < 100_000; t++) {
      rmspropStep(param, grad, state, hyper);
      for (let i = 0; i < values.length && naiveNaN < 0; i++) {
        const g = grad[i]!;
        v[i] = f(v[i]! * hyper.alpha) + f(f(beta * g) * g);
        m[i] = f(m[i]! * hyper.alpha) + f(beta * g);
        const under = f(v[i]! - f(m[i]! * m[i]!)) + (epsInSqrt ? f(hyper.eps) : 0);
        if (Number.isNaN(Math.sqrt(f(under)))) naiveNaN = t;
      }
    }
    expect(naiveNaN).toBeGreaterThan(epsInSqrt ? 10 : 1000);
    expect(naiveNaN).toBeLessThan(epsInSqrt ? 100_000 : 2000);
    for (const x of param) expect(Number.isFinite(x)).toBe(true);
  });

  // Finite gradients so large that both averages overflow: v - m*m would be Infinity - Infinity.
  it.each([
    ['float64, gradients of 1e200 (their squares overflow)', Float64Array, 1e200, 0, false],
    ['float64, epsInSqrt and bias correction', Float64Array, 1e200, 0, true],
    ['float32, weight decay pushing g past float32 (gradAvg overflows when stored)', Float32Array, 3e38, 1e10, false],
  ] as const)('never makes NaN from finite centered input: %s', (_name, T, big, weightDecay, variant) => {
    for (const momentum of [0, 0.9]) {
      const hyper: RMSPropHyper = { ...rmspropDefaults, centered: true, momentum, weightDecay, epsInSqrt: variant, biasCorrection: variant };
      const param = T.from([1, -1, 0.5, 3e38]);
      const state = createState(param, hyper);
      for (let t = 0; t < 4; t++) rmspropStep(param, T.from([big, -big, big / 3, 1]), state, hyper);
      for (const x of param) expect(Number.isNaN(x)).toBe(false);
      for (const x of state.momentumBuffer ?? []) expect(Number.isNaN(x)).toBe(false);
      // And it agrees with the slow reference, which takes the variance as Infinity there.
      const round = T === Float64Array ? (x: number): number => x : Math.fround;
      const refParam = Array.from(T.from([1, -1, 0.5, 3e38]));
      const ref = referenceState(4, hyper, round);
      for (let t = 0; t < 4; t++) referenceStep(refParam, Array.from(T.from([big, -big, big / 3, 1])), ref, hyper, round);
      expect(bitsEqual(param, refParam)).toBe(true);
    }
  });

  it('keeps a NaN gradient NaN in centered RMSProp (only Infinity - Infinity from finite input is taken as Infinity)', () => {
    const hyper: RMSPropHyper = { ...rmspropDefaults, centered: true };
    const param = Float64Array.of(1, 1);
    rmspropStep(param, Float64Array.of(NaN, 1), createState(param, hyper), hyper);
    expect(Number.isNaN(param[0])).toBe(true);
    expect(Number.isNaN(param[1])).toBe(false);
  });

  it('creates zeroed state of the parameter type, with only the buffers the options need', () => {
    const s = createState(new Float64Array(3), { momentum: 0.9, centered: false, initialAccumulator: 0 });
    expect(s.squareAvg).toBeInstanceOf(Float64Array);
    expect(Array.from(s.squareAvg)).toEqual([0, 0, 0]);
    expect(s.momentumBuffer).toBeInstanceOf(Float64Array);
    expect(s.gradAvg).toBeNull();
    expect(s.step).toBe(0);
    const c = createState(new Float32Array(2), { momentum: 0, centered: true, initialAccumulator: 1 });
    expect(c.gradAvg).toBeInstanceOf(Float32Array);
    expect(Array.from(c.gradAvg!)).toEqual([0, 0]);
    expect(Array.from(c.squareAvg)).toEqual([1, 1]);
    expect(c.momentumBuffer).toBeNull();
    expect(zerosLike(new Float32Array(4).subarray(1, 3))).toEqual(new Float32Array(2));
  });

  it('has PyTorch defaults, frozen', () => {
    expect(rmspropDefaults).toEqual({
      lr: 0.01,
      alpha: 0.99,
      eps: 1e-8,
      weightDecay: 0,
      momentum: 0,
      centered: false,
      maximize: false,
      epsInSqrt: false,
      lrInMomentum: false,
      nesterov: false,
      initialAccumulator: 0,
      biasCorrection: false,
      decoupledWeightDecay: false,
    });
    expect(Object.isFrozen(rmspropDefaults)).toBe(true);
  });
});

