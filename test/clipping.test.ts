import { describe, expect, it } from 'vitest';
import { RMSProp, clipGradNorm, clipGradValue } from '../src/index.js';
import type { ClipParams, FloatArray, RMSPropOptions } from '../src/index.js';
import { trajectoryError } from './support/compare.js';
import { expectError } from './support/expect-error.js';
import clipping from './fixtures/torch-clipping.json' with { type: 'json' };

interface Case {
  readonly name: string;
  readonly clip: { readonly kind: 'value' | 'norm' | 'global'; readonly value: number; readonly normType: number | 'inf' };
  readonly options: RMSPropOptions;
  readonly init: readonly (readonly number[])[];
  readonly steps: readonly {
    readonly grads: readonly (readonly number[] | null)[];
    readonly clipped: readonly (readonly number[] | null)[];
    readonly norms: readonly number[];
    readonly params: readonly (readonly number[])[];
  }[];
}

interface Param {
  readonly data: FloatArray;
  grad: FloatArray | null;
}

const cases = clipping.cases as unknown as readonly Case[];

/** A missing gradient as an empty one, so a trajectory with gaps can be compared. */
const orEmpty = (g: ArrayLike<number> | null): ArrayLike<number> => g ?? [];

const bits = (a: FloatArray): number[] =>
  Array.from(a instanceof Float64Array ? new Uint32Array(a.buffer, a.byteOffset, a.length * 2) : new Uint32Array(a.buffer, a.byteOffset, a.length));

const param = (...grad: number[]): Param => ({ data: new Float32Array(grad.length), grad: Float32Array.from(grad) });

describe('clipGradNorm and clipGradValue, then RMSProp, against PyTorch 1.13', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const params: Param[] = c.init.map((v) => ({ data: Float32Array.from(v), grad: null }));
    const opt = new RMSProp(params, c.options);
    const normType = c.clip.normType === 'inf' ? Infinity : c.clip.normType;
    const clipped: ArrayLike<number>[][] = [];
    const after: ArrayLike<number>[][] = [];
    for (const step of c.steps) {
      step.grads.forEach((g, i) => (params[i]!.grad = g === null ? null : Float32Array.from(g)));
      const norms: number[] = [];
      if (c.clip.kind === 'value') {
        clipGradValue(params, c.clip.value);
      } else if (c.clip.kind === 'norm') {
        for (const p of params) if (p.grad !== null) norms.push(clipGradNorm([p], c.clip.value, normType)); // each alone
      } else {
        norms.push(clipGradNorm(params, c.clip.value, normType));
      }
      expect(norms.length).toBe(step.norms.length);
      norms.forEach((n, i) => expect(Math.abs(n - step.norms[i]!) / step.norms[i]!).toBeLessThanOrEqual(1e-6));
      expect(params.map((p) => p.grad === null)).toEqual(step.clipped.map((g) => g === null));
      clipped.push(params.map((p) => Array.from(orEmpty(p.grad))));
      opt.step();
      after.push(params.map((p) => Array.from(p.data)));
    }
    expect(trajectoryError(clipped, c.steps.map((s) => s.clipped.map(orEmpty)), 'float32')).toBeLessThanOrEqual(1e-6);
    expect(trajectoryError(after, c.steps.map((s) => s.params), 'float32')).toBeLessThanOrEqual(1e-5);
    // Clipping changed some gradient in every case, or the case would test nothing.
    const raw = c.steps.map((s) => s.grads.map((g) => (g === null ? [] : Array.from(Float32Array.from(g)))));
    expect(trajectoryError(clipped, raw, 'float32')).toBeGreaterThan(1e-3);
  });
});

describe('clipGradNorm', () => {
  it('takes parameter groups (opt.paramGroups) as it takes the flat list', () => {
    const make = (): Param[] => [param(3, -4), param(12), param(0.5, 0.25, -1)];
    const flat = make();
    const grouped = make();
    const opt = new RMSProp([{ params: [grouped[0]!, grouped[1]!] }, { params: [grouped[2]!], lr: 0.1 }]);
    const norm = clipGradNorm(flat, 2);
    expect(clipGradNorm(opt.paramGroups, 2)).toBe(norm);
    expect(norm).toBe(Math.sqrt(9 + 16 + 144 + 0.25 + 0.0625 + 1));
    expect(grouped.map((p) => bits(p.grad!))).toEqual(flat.map((p) => bits(p.grad!)));
    expect(Array.from(flat[1]!.grad!)).toEqual([Math.fround(12 * (2 / (norm + 1e-6)))]);
    // And clipGradValue.
    clipGradValue(flat, 0.1);
    clipGradValue(opt.paramGroups, 0.1);
    expect(grouped.map((p) => bits(p.grad!))).toEqual(flat.map((p) => bits(p.grad!)));
  });

  it('passes over parameters without a gradient', () => {
    const a = param(3, 4);
    const none: Param = { data: Float32Array.of(100, 100), grad: null };
    expect(clipGradNorm([none, a, none], 1)).toBe(5);
    expect(none.grad).toBe(null);
    expect(Array.from(a.grad!)).toEqual([3, 4].map((x) => Math.fround(x * (1 / (5 + 1e-6)))));
    expect(clipGradNorm([none], 1)).toBe(0);
    expect(clipGradNorm([], 1)).toBe(0);
  });

  it('clips a gradient buffer shared by two parameters once, and counts it once in the norm', () => {
    const grad = Float32Array.of(3, 4);
    const a = { data: new Float32Array(2), grad };
    const b = { data: new Float32Array(2), grad };
    const c = param(0);
    expect(clipGradNorm([a, c, b], 2.5)).toBe(5); // not sqrt(50)
    expect(Array.from(grad)).toEqual([3, 4].map((x) => Math.fround(x * (2.5 / (5 + 1e-6))))); // scaled once, not twice
    // The same group listed twice, too.
    const g = Float64Array.of(6, 8);
    expect(clipGradNorm([{ params: [{ grad: g }] }, { params: [{ grad: g }] }], 5)).toBe(10);
    expect(Array.from(g)).toEqual([6, 8].map((x) => x * (5 / (10 + 1e-6))));
  });

  it('counts two identical views of the same memory (distinct objects) once', () => {
    const buffer = new Float32Array([9, 3, 4, 9]).buffer;
    const a = { grad: new Float32Array(buffer, 4, 2) };
    const b = { grad: new Float32Array(buffer, 4, 2) };
    expect(a.grad).not.toBe(b.grad);
    expect(clipGradNorm([a, b], 1)).toBe(5);
    expect(Array.from(new Float32Array(buffer))).toEqual([9, ...[3, 4].map((x) => Math.fround(x * (1 / (5 + 1e-6)))), 9]);
    // Disjoint views of one buffer are two gradients.
    const whole = Float32Array.of(3, 4, 12);
    expect(clipGradNorm([{ grad: whole.subarray(0, 2) }, { grad: whole.subarray(2) }], Infinity)).toBe(13);
  });

  it.each([
    ['clipGradNorm', (p: ClipParams) => clipGradNorm(p, 1)],
    ['clipGradValue', (p: ClipParams) => clipGradValue(p, 1)],
  ] as const)('%s refuses two gradients that share part of their memory, and changes nothing', (name, clip) => {
    const whole = Float32Array.of(30, 40, 50, 60);
    const before = bits(whole);
    const other = param(100);
    const params = [other, { grad: whole.subarray(0, 3) }, { grad: whole.subarray(2) }];
    expectError(() => clip(params), Error, `${name}: the grads of (param 1) and (param 2) share part of their memory; each element would be scaled twice`);
    expect(bits(whole)).toEqual(before);
    expect(Array.from(other.grad!)).toEqual([100]);
    // In groups, and a Float64Array over a Float32Array's bytes.
    const g32 = new Float32Array(4);
    const g64 = new Float64Array(g32.buffer, 8, 1);
    expectError(
      () => clip([{ params: [{ grad: g64 }] }, { params: [other, { grad: g32 }] }]),
      Error,
      `${name}: the grads of (group 1, param 1) and (group 0, param 0) share part of their memory; each element would be scaled twice`,
    );
  });

  it.each([
    ['a NaN', 2, NaN],
    ['an Infinity', 2, Infinity],
    ['a -Infinity', 1, -Infinity],
    ['a NaN, max norm', Infinity, NaN],
    ['an Infinity, max norm', Infinity, Infinity],
    ['a NaN, L3 norm', 3, NaN],
  ])('returns a non-finite norm (%s) and scales nothing', (_name, normType, bad) => {
    const big = param(300, -400);
    const odd = param(1, 2, 3);
    const nan = new Uint32Array(1);
    new Float32Array(nan.buffer)[0] = bad;
    if (Number.isNaN(bad)) nan[0] = 0x7fc01234; // a payload, to see that nothing is written
    new Uint32Array(odd.grad!.buffer)[1] = nan[0]!;
    const before = [bits(big.grad!), bits(odd.grad!)];
    const norm = clipGradNorm([big, odd], 1, normType);
    expect(norm).toBe(Number.isNaN(bad) ? NaN : Infinity);
    expect([bits(big.grad!), bits(odd.grad!)]).toEqual(before);
  });

  it('only measures with maxNorm = Infinity', () => {
    const a = param(3e30, -4e30);
    const before = bits(a.grad!);
    const norm = clipGradNorm([a], Infinity);
    expect(norm / 5e30).toBeCloseTo(1, 6);
    expect(bits(a.grad!)).toEqual(before);
    expect(clipGradNorm([a], Infinity, Infinity)).toBe(Math.fround(4e30));
    expect(clipGradNorm([a], Infinity, 1)).toBe(Math.fround(3e30) + Math.fround(4e30));
    expect(bits(a.grad!)).toEqual(before);
  });

  it('leaves gradients within the limit as they are, and zeroes them with maxNorm = 0', () => {
    const a = param(0.3, -0.4);
    const before = bits(a.grad!);
    expect(clipGradNorm([a], 1)).toBeCloseTo(0.5, 7);
    expect(bits(a.grad!)).toEqual(before);
    clipGradNorm([a], 0);
    expect(Object.is(a.grad![0], 0) && Object.is(a.grad![1], -0)).toBe(true); // g * 0, as torch
  });
});

describe('clipGradValue', () => {
  it('clamps every element in place, keeping NaN (and its bits) as it is', () => {
    const a = { data: new Float32Array(7), grad: Float32Array.of(-3, -1, 0, 1, 3, NaN, -Infinity) };
    const words = new Uint32Array(a.grad.buffer);
    words[5] = 0xffc00abc;
    const b = { data: new Float64Array(2), grad: Float64Array.of(NaN, 2.5) };
    const none: Param = { data: new Float32Array(1), grad: null };
    clipGradValue([a, none, b], 2);
    expect(Array.from(a.grad)).toEqual([-2, -1, 0, 1, 2, NaN, -2]);
    expect(words[5]).toBe(0xffc00abc);
    expect(Array.from(b.grad)).toEqual([NaN, 2]);
  });

  it('clamps a gradient shared by two parameters, and identical views, without error', () => {
    const grad = Float32Array.of(5, -5);
    clipGradValue([{ grad }, { grad }, { grad: new Float32Array(grad.buffer) }], 1);
    expect(Array.from(grad)).toEqual([1, -1]);
  });
});

describe('bad input', () => {
  const NORM = 'clipGradNorm';
  const VALUE = 'clipGradValue';
  const GRADS = 'a Float32Array, Float64Array or null';
  // Each call also holds a valid gradient that clipping would change: it must stay as it was.
  type Call = (valid: Param) => unknown;
  it.each<[string, Call, new (message?: string) => Error, string]>([
    ['params that are not an array', () => clipGradNorm({ grad: null } as never, 1), TypeError,
      `${NORM}: invalid params: expected an array of parameters or of parameter groups, got an object`],
    ['params that are not an array (clipGradValue)', () => clipGradValue(new Float32Array(2) as never, 1), TypeError,
      `${VALUE}: invalid params: expected an array of parameters or of parameter groups, got a Float32Array of length 2`],
    ['a param that is not an object', (v) => clipGradNorm([v, 5] as never, 1), TypeError,
      `${NORM}: invalid param: expected an object with grad, or a group with params, got 5 (param 1)`],
    ['a param that is null', (v) => clipGradValue([v, null] as never, 1), TypeError,
      `${VALUE}: invalid param: expected an object with grad, or a group with params, got null (param 1)`],
    ['a param in a group that is not an object', (v) => clipGradNorm([{ params: [v, 'w'] }] as never, 1), TypeError,
      `${NORM}: invalid param: expected an object with grad, got string "w" (group 0, param 1)`],
    ['a group whose params are not an array', (v) => clipGradNorm([{ params: [v] }, { params: v }] as never, 1), TypeError,
      `${NORM}: invalid params in group 1: expected an array, got an object`],
    ['a grad that is a string', (v) => clipGradNorm([v, { grad: '1' }] as never, 1), TypeError,
      `${NORM}: invalid grad: expected ${GRADS}, got string "1" (param 1)`],
    ['a grad that is missing', (v) => clipGradValue([v, {}] as never, 1), TypeError,
      `${VALUE}: invalid grad: expected ${GRADS}, got undefined (param 1)`],
    ['a grad that is an Int32Array, in a group', (v) => clipGradNorm([{ params: [v] }, { params: [{ grad: new Int32Array(1) }] }] as never, 1), TypeError,
      `${NORM}: invalid grad: expected ${GRADS}, got an Int32Array of length 1 (group 1, param 0)`],
    ['maxNorm -1', (v) => clipGradNorm([v], -1), RangeError, `${NORM}: invalid maxNorm: expected a number >= 0 (Infinity allowed), got -1`],
    ['maxNorm NaN', (v) => clipGradNorm([v], NaN), RangeError, `${NORM}: invalid maxNorm: expected a number >= 0 (Infinity allowed), got NaN`],
    ["maxNorm '1'", (v) => clipGradNorm([v], '1' as never), TypeError, `${NORM}: invalid maxNorm: expected a number >= 0 (Infinity allowed), got string "1"`],
    ['maxNorm missing', (v) => (clipGradNorm as (p: ClipParams) => number)([v]), TypeError,
      `${NORM}: invalid maxNorm: expected a number >= 0 (Infinity allowed), got undefined`],
    ['normType 0', (v) => clipGradNorm([v], 1, 0), RangeError, `${NORM}: invalid normType: expected a number >= 1, or Infinity for the largest magnitude, got 0`],
    ['normType -2', (v) => clipGradNorm([v], 1, -2), RangeError, `${NORM}: invalid normType: expected a number >= 1, or Infinity for the largest magnitude, got -2`],
    ['normType NaN', (v) => clipGradNorm([v], 1, NaN), RangeError, `${NORM}: invalid normType: expected a number >= 1, or Infinity for the largest magnitude, got NaN`],
    ["normType '2'", (v) => clipGradNorm([v], 1, '2' as never), TypeError,
      `${NORM}: invalid normType: expected a number >= 1, or Infinity for the largest magnitude, got string "2"`],
    ['clipValue -1', (v) => clipGradValue([v], -1), RangeError, `${VALUE}: invalid clipValue: expected a number >= 0 (Infinity allowed), got -1`],
    ['clipValue NaN', (v) => clipGradValue([v], NaN), RangeError, `${VALUE}: invalid clipValue: expected a number >= 0 (Infinity allowed), got NaN`],
    ["clipValue '1'", (v) => clipGradValue([v], '1' as never), TypeError, `${VALUE}: invalid clipValue: expected a number >= 0 (Infinity allowed), got string "1"`],
  ])('refuses %s, and clips nothing', (_name, call, type, message) => {
    const valid = param(30, -40);
    const before = bits(valid.grad!);
    expectError(() => call(valid), type, message);
    expect(bits(valid.grad!)).toEqual(before);
  });
});

describe('clipGradNorm with huge finite gradients', () => {
  it('scales the sum so it does not overflow: a float64 gradient of 1e200 has a finite norm, and is clipped', () => {
    const g = Float64Array.of(1e200, -1e200, 3e199);
    const norm = clipGradNorm([{ grad: g }], 1);
    const expected = 1e200 * Math.sqrt(1 + 1 + 0.09);
    expect(Math.abs(norm - expected) / expected).toBeLessThan(1e-15);
    expect(Math.hypot(...g)).toBeCloseTo(1, 10);
  });
});

describe('clipping refuses what it cannot measure', () => {
  it('a detached gradient (TypeError, nothing scaled), and a normType below 1 (no norm)', () => {
    const kept = Float32Array.of(30, 40);
    const gone = new Float32Array(2);
    structuredClone(gone.buffer, { transfer: [gone.buffer] });
    expectError(() => clipGradNorm([{ grad: kept }, { grad: gone }], 1), TypeError, 'clipGradNorm: invalid grad: expected a Float32Array, Float64Array or null, got a Float32Array of length 0 (detached) (param 1)');
    expectError(() => clipGradValue([{ grad: kept }, { grad: gone }], 1), TypeError, 'clipGradValue: invalid grad: expected a Float32Array, Float64Array or null, got a Float32Array of length 0 (detached) (param 1)');
    expectError(() => clipGradNorm([{ grad: kept }], 1, 0.5), RangeError, 'clipGradNorm: invalid normType: expected a number >= 1, or Infinity for the largest magnitude, got 0.5');
    expect(Array.from(kept)).toEqual([30, 40]);
  });
});
