import { describe, expect, it } from 'vitest';
import { Adam, SGD } from '../bench/convergence/baselines.js';
import type { AdamOptions, Param, SGDOptions } from '../bench/convergence/baselines.js';
import { trajectoryError } from './support/compare.js';
import fixture from './fixtures/torch-baselines.json' with { type: 'json' };

// test/fixtures/torch-baselines.json, made by make-baseline-fixtures.py from torch 1.13.
interface Case {
  readonly name: string;
  readonly optimizer: 'SGD' | 'Adam';
  readonly options: Readonly<Record<string, number | boolean>>;
  readonly lrs: readonly number[] | null;
  readonly init: readonly (readonly number[])[];
  readonly grads: readonly (readonly (readonly number[] | null)[])[];
  readonly float32: readonly (readonly (readonly number[])[])[];
  readonly float64: readonly (readonly (readonly number[])[])[];
}

type Dtype = 'float32' | 'float64';
type FloatArray = Float32Array | Float64Array;
type Trajectory = number[][][];

const cases = fixture.cases as readonly Case[];
const caseNamed = (name: string): Case => cases.find((c) => c.name === name) ?? expect.unreachable(`no case ${name}`);
const TOLERANCE: Record<Dtype, number> = { float64: 1e-12, float32: 1e-5 };
const DTYPES: readonly Dtype[] = ['float32', 'float64'];
const arrayOf = (dtype: Dtype, values: ArrayLike<number>): FloatArray =>
  dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values);
/** The fixture's initial values and gradients are float32 values written as their shortest
 * decimals: read them through a Float32Array (for the float64 runs too) to get them exactly. */
const input = (dtype: Dtype, values: ArrayLike<number>): FloatArray => arrayOf(dtype, Float32Array.from(values));

/** The case replayed through baselines.ts: parameters after every step. */
function replay(c: Case, dtype: Dtype): Trajectory {
  const params = c.init.map((v) => ({ data: input(dtype, v), grad: null as FloatArray | null }));
  const opt = c.optimizer === 'SGD' ? new SGD(params, c.options as unknown as SGDOptions) : new Adam(params, c.options as AdamOptions);
  return c.grads.map((grads, t) => {
    if (c.lrs) opt.lr = c.lrs[t]!;
    grads.forEach((g, i) => (params[i]!.grad = g && input(dtype, g)));
    opt.step();
    return params.map((p) => Array.from(p.data));
  });
}

const MUTATIONS = [
  'none',
  'dampening on the first momentum step',
  'maximize applied after weight decay',
  'nesterov with the previous buffer',
  'lr read once, at construction',
  'missing gradient taken as zero',
  'no bias correction',
  'eps added before the bias correction',
  'decoupled weight decay (AdamW)',
  'amsgrad ignored',
  'one step count for all parameters',
] as const;
type Mutation = (typeof MUTATIONS)[number];

/**
 * A second, deliberately plain transcription of torch 1.13's SGD and Adam, with one semantic
 * mistake switched on by `mutation`. Unmutated, it must agree with PyTorch like baselines.ts
 * does; each mutation must be caught by the same comparison and tolerance.
 */
function transcription(c: Case, dtype: Dtype, mutation: Mutation): Trajectory {
  const o = c.options;
  const num = (k: string, d: number): number => (o[k] as number | undefined) ?? d;
  const maximize = o['maximize'] === true, nesterov = o['nesterov'] === true, amsgrad = o['amsgrad'] === true;
  const wd = num('weightDecay', 0), mu = num('momentum', 0), damp = num('dampening', 0);
  const b1 = num('beta1', 0.9), b2 = num('beta2', 0.999), eps = num('eps', 1e-8);
  const lr0 = num('lr', 1e-3);
  const params = c.init.map((v) => input(dtype, v));
  const state = params.map((p) => ({
    t: 0,
    buf: null as FloatArray | null,
    m: arrayOf(dtype, new Array<number>(p.length).fill(0)),
    v: arrayOf(dtype, new Array<number>(p.length).fill(0)),
    vMax: arrayOf(dtype, new Array<number>(p.length).fill(0)),
  }));
  let calls = 0;
  return c.grads.map((grads, s) => {
    const lr = mutation === 'lr read once, at construction' ? lr0 : (c.lrs?.[s] ?? lr0);
    calls++;
    grads.forEach((g0, k) => {
      const p = params[k]!, st = state[k]!;
      const raw = g0 ? input(dtype, g0) : (mutation === 'missing gradient taken as zero' ? new Array<number>(p.length).fill(0) : null);
      if (raw === null) return;
      const t = mutation === 'one step count for all parameters' ? calls : ++st.t;
      const fresh = st.buf === null;
      if (c.optimizer === 'SGD' && mu !== 0 && fresh) st.buf = arrayOf(dtype, new Array<number>(p.length).fill(0));
      for (let i = 0; i < p.length; i++) {
        let g = raw[i]!;
        if (maximize && mutation !== 'maximize applied after weight decay') g = -g;
        if (mutation === 'decoupled weight decay (AdamW)') p[i] = p[i]! - lr * wd * p[i]!;
        else g = g + wd * p[i]!;
        if (maximize && mutation === 'maximize applied after weight decay') g = -g;
        if (c.optimizer === 'SGD') {
          let d = g;
          if (mu !== 0) {
            const buf = st.buf!, prev = buf[i]!;
            if (fresh) buf[i] = mutation === 'dampening on the first momentum step' ? (1 - damp) * g : g;
            else buf[i] = mu * prev + (1 - damp) * g;
            d = nesterov ? g + mu * (mutation === 'nesterov with the previous buffer' ? prev : buf[i]!) : buf[i]!;
          }
          p[i] = p[i]! - lr * d;
        } else {
          st.m[i] = b1 * st.m[i]! + (1 - b1) * g;
          st.v[i] = b2 * st.v[i]! + (1 - b2) * g * g;
          st.vMax[i] = Math.max(st.vMax[i]!, st.v[i]!);
          const v = amsgrad && mutation !== 'amsgrad ignored' ? st.vMax[i]! : st.v[i]!;
          const unbiased = mutation === 'no bias correction';
          const bc1 = unbiased ? 1 : 1 - b1 ** t, bc2 = unbiased ? 1 : 1 - b2 ** t;
          const denom = mutation === 'eps added before the bias correction' ? (Math.sqrt(v) + eps) / Math.sqrt(bc2) : Math.sqrt(v) / Math.sqrt(bc2) + eps;
          p[i] = p[i]! - (lr / bc1) * (st.m[i]! / denom);
        }
      }
    });
    return params.map((p) => Array.from(p));
  });
}

/** The cases each mutation must be caught in (in both dtypes). */
const CAUGHT_IN: Record<Exclude<Mutation, 'none'>, readonly string[]> = {
  'dampening on the first momentum step': ['SGD momentum 0.9 + dampening 0.1', 'SGD momentum + dampening, missing gradients'],
  'maximize applied after weight decay': ['SGD maximize + weight decay', 'Adam maximize + weight decay + amsgrad'],
  'nesterov with the previous buffer': ['SGD nesterov'],
  'lr read once, at construction': ['SGD momentum, lr changed before every step', 'Adam, lr changed before every step'],
  'missing gradient taken as zero': ['SGD momentum + dampening, missing gradients', 'Adam amsgrad, missing gradients'],
  'no bias correction': cases.filter((c) => c.optimizer === 'Adam').map((c) => c.name),
  'eps added before the bias correction': ['Adam defaults', 'Adam beta2 0.9, eps 1e-6'],
  'decoupled weight decay (AdamW)': ['Adam weight decay', 'Adam maximize + weight decay + amsgrad'],
  'amsgrad ignored': ['Adam amsgrad, beta2 0.99', 'Adam maximize + weight decay + amsgrad', 'Adam amsgrad, missing gradients'],
  'one step count for all parameters': ['Adam amsgrad, missing gradients'],
};

describe('SGD and Adam against PyTorch 1.13 (test/fixtures/make-baseline-fixtures.py)', () => {
  it('the fixture covers both optimizers, every option and missing gradients, in float32 and float64', () => {
    expect(fixture.torch.startsWith('1.13')).toBe(true);
    const used = (opt: string, k: string): boolean => cases.some((c) => c.optimizer === opt && c.options[k] !== undefined && c.options[k] !== false && c.options[k] !== 0);
    for (const k of ['momentum', 'dampening', 'nesterov', 'weightDecay', 'maximize']) expect(used('SGD', k), `SGD ${k}`).toBe(true);
    for (const k of ['lr', 'beta2', 'eps', 'weightDecay', 'amsgrad', 'maximize']) expect(used('Adam', k), `Adam ${k}`).toBe(true);
    for (const c of cases) {
      expect(c.float32.length, c.name).toBe(25);
      expect(c.float64.length, c.name).toBe(25);
      expect(c.grads.flat(2).some((g) => g === 0), c.name).toBe(true);
    }
    expect(cases.filter((c) => c.grads.some((s) => s.includes(null))).map((c) => c.optimizer).sort()).toEqual(['Adam', 'SGD']);
  });

  const worst: string[] = [];
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const e32 = trajectoryError(replay(c, 'float32'), c.float32, 'float32');
    const e64 = trajectoryError(replay(c, 'float64'), c.float64, 'float64');
    worst.push(`| ${c.name} | ${e32.toExponential(1)} | ${e64.toExponential(1)} |`);
    expect(e32).toBeLessThanOrEqual(TOLERANCE.float32);
    expect(e64).toBeLessThanOrEqual(TOLERANCE.float64);
    // The trajectory moved far more than the tolerance, so agreement means something.
    expect(trajectoryError([c.init.map((v) => input('float64', v))], [c.float64.at(-1)!], 'float64')).toBeGreaterThan(1e-3);
  });

  it('prints the worst error of each case (scaled by the parameter\'s largest magnitude)', () => {
    expect(worst.length).toBe(cases.length);
    console.log(`| case | float32 | float64 |\n|---|---|---|\n${worst.join('\n')}`);
  });
});

describe('the comparison catches semantic mistakes', () => {
  it('a plain second transcription agrees with PyTorch in every case', () => {
    for (const c of cases) {
      for (const dtype of DTYPES) {
        expect(trajectoryError(transcription(c, dtype, 'none'), c[dtype], dtype), `${c.name} ${dtype}`).toBeLessThanOrEqual(TOLERANCE[dtype]);
      }
    }
  });

  it.each(MUTATIONS.filter((m) => m !== 'none').map((m) => [m] as const))('%s', (mutation) => {
    const rows: string[] = [];
    for (const name of CAUGHT_IN[mutation]) {
      const c = caseNamed(name);
      for (const dtype of DTYPES) {
        const e = trajectoryError(transcription(c, dtype, mutation), c[dtype], dtype);
        rows.push(`${name} ${dtype}: ${e.toExponential(1)}`);
        expect(e, `${name} ${dtype}`).toBeGreaterThan(TOLERANCE[dtype]);
      }
    }
    console.log(`${mutation}: ${rows.join('; ')}`);
  });
});

const one = (): Param[] => [{ data: new Float32Array(3), grad: null }];

describe('option checks', () => {
  const BAD: readonly (readonly [string, () => unknown, string])[] = [
    ['SGD lr -1', () => new SGD(one(), { lr: -1 }), 'SGD: invalid lr: expected a finite number >= 0, got -1'],
    ['SGD lr NaN', () => new SGD(one(), { lr: NaN }), 'SGD: invalid lr: expected a finite number >= 0, got NaN'],
    ['SGD lr Infinity', () => new SGD(one(), { lr: Infinity }), 'SGD: invalid lr: expected a finite number >= 0, got Infinity'],
    ['SGD without lr', () => new SGD(one(), {} as SGDOptions), 'SGD: invalid lr: expected a finite number >= 0, got undefined'],
    ['SGD momentum -0.1', () => new SGD(one(), { lr: 0.1, momentum: -0.1 }), 'SGD: invalid momentum: expected a finite number >= 0, got -0.1'],
    ['SGD dampening NaN', () => new SGD(one(), { lr: 0.1, dampening: NaN }), 'SGD: invalid dampening: expected a finite number, got NaN'],
    ['SGD dampening -Infinity', () => new SGD(one(), { lr: 0.1, dampening: -Infinity }), 'SGD: invalid dampening: expected a finite number, got -Infinity'],
    ['SGD weightDecay -1e-4', () => new SGD(one(), { lr: 0.1, weightDecay: -1e-4 }), 'SGD: invalid weightDecay: expected a finite number >= 0, got -0.0001'],
    ['SGD nesterov without momentum', () => new SGD(one(), { lr: 0.1, nesterov: true }),
      'SGD: invalid nesterov: requires momentum > 0 and dampening 0, got momentum 0 and dampening 0'],
    ['SGD nesterov with dampening', () => new SGD(one(), { lr: 0.1, nesterov: true, momentum: 0.9, dampening: 0.1 }),
      'SGD: invalid nesterov: requires momentum > 0 and dampening 0, got momentum 0.9 and dampening 0.1'],
    ['SGD maximize "yes"', () => new SGD(one(), { lr: 0.1, maximize: 'yes' as unknown as boolean }), 'SGD: invalid maximize: expected true or false, got yes'],
    ['SGD no params', () => new SGD([], { lr: 0.1 }), 'SGD: expected a non-empty array of parameters, got an empty array'],
    ['Adam lr -0.001', () => new Adam(one(), { lr: -0.001 }), 'Adam: invalid lr: expected a finite number >= 0, got -0.001'],
    ['Adam beta1 1', () => new Adam(one(), { beta1: 1 }), 'Adam: invalid beta1: expected a number >= 0 and < 1, got 1'],
    ['Adam beta2 -0.1', () => new Adam(one(), { beta2: -0.1 }), 'Adam: invalid beta2: expected a number >= 0 and < 1, got -0.1'],
    ['Adam beta2 NaN', () => new Adam(one(), { beta2: NaN }), 'Adam: invalid beta2: expected a number >= 0 and < 1, got NaN'],
    ['Adam eps -1e-8', () => new Adam(one(), { eps: -1e-8 }), 'Adam: invalid eps: expected a finite number >= 0, got -1e-8'],
    ['Adam eps Infinity', () => new Adam(one(), { eps: Infinity }), 'Adam: invalid eps: expected a finite number >= 0, got Infinity'],
    ['Adam weightDecay NaN', () => new Adam(one(), { weightDecay: NaN }), 'Adam: invalid weightDecay: expected a finite number >= 0, got NaN'],
    ['Adam amsgrad 1', () => new Adam(one(), { amsgrad: 1 as unknown as boolean }), 'Adam: invalid amsgrad: expected true or false, got 1'],
    ['Adam the same param twice', () => { const p = one()[0]!; return new Adam([p, p]); },
      'Adam: param 1 is the same object as param 0; pass each parameter once'],
    ['Adam data not a typed array', () => new Adam([{ data: [1, 2], grad: null } as unknown as Param]),
      'Adam: param 0: data must be a Float32Array or Float64Array'],
  ];
  it.each(BAD)('reject %s with a message naming the option, the value and what is allowed', (_name, make, message) => {
    expect(make).toThrow(message);
    try {
      make();
    } catch (e) {
      expect((e as Error).message).toBe(message);
    }
  });

  it('accept the edges of every range, as torch does', () => {
    expect(() => new SGD(one(), { lr: 0, momentum: 0, dampening: 0, weightDecay: 0 })).not.toThrow();
    expect(() => new SGD(one(), { lr: 0.1, momentum: 1.5, dampening: -1, nesterov: false, maximize: true })).not.toThrow();
    expect(() => new SGD(one(), { lr: 0.1, momentum: 1e-9, nesterov: true })).not.toThrow();
    expect(() => new Adam(one(), { lr: 0, beta1: 0, beta2: 0, eps: 0, weightDecay: 0 })).not.toThrow();
    expect(() => new Adam(one(), { beta1: 0.999999, beta2: 1 - 2 ** -53 })).not.toThrow();
    expect(new Adam(one()).lr).toBe(1e-3);
  });
});

describe('step', () => {
  it('checks lr and gradient lengths before changing anything', () => {
    const params: { data: Float64Array; grad: Float64Array | null }[] = [
      { data: Float64Array.of(1, 2), grad: Float64Array.of(1, 1) },
      { data: Float64Array.of(3), grad: Float64Array.of(1, 1) },
    ];
    for (const opt of [new SGD(params, { lr: 0.1, momentum: 0.9 }), new Adam(params)]) {
      const name = opt instanceof SGD ? 'SGD' : 'Adam';
      expect(() => opt.step()).toThrow(`${name}.step: grad length 2 does not match data length 1 (param 1)`);
      params[1]!.grad = Float64Array.of(1);
      opt.lr = -1;
      expect(() => opt.step()).toThrow(`${name}.step: invalid lr: expected a finite number >= 0, got -1`);
      opt.lr = NaN;
      expect(() => opt.step()).toThrow(`${name}.step: invalid lr: expected a finite number >= 0, got NaN`);
      expect(params.map((p) => Array.from(p.data))).toEqual([[1, 2], [3]]);
      params[1]!.grad = Float64Array.of(1, 1);
    }
  });

  it('skips a parameter whose grad is null and leaves its state as it was (Adam: its step count too)', () => {
    // Param b gets gradients at steps 0 and 2 only; a lone copy of it stepped just those two
    // times must end bit-identical, and b must not move at step 1.
    const gb = [Float32Array.of(0.3, -2, 1e-3), null, Float32Array.of(-1, 0.5, 4)];
    for (const make of [(ps: Param[]): SGD | Adam => new SGD(ps, { lr: 0.1, momentum: 0.9, dampening: 0.2 }),
                        (ps: Param[]): SGD | Adam => new Adam(ps, { lr: 0.1, amsgrad: true })]) {
      const a = { data: Float32Array.of(1, 2), grad: Float32Array.of(0.5, -0.5) as Float32Array | null };
      const b = { data: Float32Array.of(-1, 0.25, 3), grad: null as Float32Array | null };
      const lone = { data: Float32Array.of(-1, 0.25, 3), grad: null as Float32Array | null };
      const opt = make([a, b]), optLone = make([lone]);
      const before = Float32Array.from(b.data);
      for (let t = 0; t < 3; t++) {
        b.grad = gb[t]!;
        if (t === 1) before.set(b.data);
        opt.step();
        if (t === 1) expect(b.data).toEqual(before);
        if (gb[t]) {
          lone.grad = gb[t]!;
          optLone.step();
        }
      }
      expect(b.data).toEqual(lone.data);
      expect(a.data).not.toEqual(Float32Array.of(1, 2));
    }
  });

  it('updates only the elements of a subarray view', () => {
    const whole = Float64Array.of(9, 1, 2, 9);
    const grads = Float64Array.of(7, 0.5, -0.5, 7);
    for (const opt of [new SGD([{ data: whole.subarray(1, 3), grad: grads.subarray(1, 3) }], { lr: 0.1, momentum: 0.9 }),
                       new Adam([{ data: whole.subarray(1, 3), grad: grads.subarray(1, 3) }], { lr: 0.1 })]) {
      opt.step();
      opt.step();
    }
    expect([whole[0], whole[3], grads[0], grads[3]]).toEqual([9, 9, 7, 7]);
    expect(whole[1]).toBeLessThan(1);
    expect(whole[2]).toBeGreaterThan(2);
  });
});

describe('zeroGrad', () => {
  it('fills every gradient with zeros in place and leaves null gradients null and the data alone', () => {
    for (const make of [(ps: Param[]): SGD | Adam => new SGD(ps, { lr: 0.1, momentum: 0.9 }), (ps: Param[]): SGD | Adam => new Adam(ps)]) {
      const g = Float32Array.of(1, -2);
      const a = { data: Float32Array.of(1, 2), grad: g };
      const b = { data: Float32Array.of(3), grad: null };
      const opt = make([a, b]);
      opt.step();
      const after = Array.from(a.data);
      opt.zeroGrad();
      expect(a.grad).toBe(g);
      expect(Array.from(g)).toEqual([0, 0]);
      expect(b.grad).toBeNull();
      expect(Array.from(a.data)).toEqual(after);
      // A zero gradient is still a step (the averages carry on), unlike a null one.
      opt.step();
      expect(Array.from(a.data)).not.toEqual(after);
    }
  });
});
