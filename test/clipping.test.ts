import { describe, expect, it } from 'vitest';
import { clampValues, clipFactor, clipGradients, scaleBy, sumOfSquares } from '../src/clipping.js';
import { RMSProp } from '../src/index.js';
import type { OptimizerOptions, RMSPropStateDict } from '../src/index.js';
import { trajectoryError } from './support/compare.js';
import clipping from './fixtures/torch-clipping.json' with { type: 'json' };

interface Case {
  readonly name: string;
  readonly clip: { readonly kind: 'value' | 'norm' | 'global'; readonly value: number };
  readonly options: OptimizerOptions;
  readonly init: number[][];
  readonly steps: { grads: number[][]; clipped: number[][]; params: number[][] }[];
}

const OPTION = { value: 'clipValue', norm: 'clipNorm', global: 'clipGlobalNorm' } as const;

describe('gradient clipping, then RMSProp, against PyTorch', () => {
  it.each((clipping.cases as Case[]).map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const params = c.init.map((v) => ({ data: Float32Array.from(v), grad: null as Float32Array | null }));
    const opt = new RMSProp(params, { ...c.options, [OPTION[c.clip.kind]]: c.clip.value });
    const ours: number[][][] = [];
    const clipped: number[][][] = [];
    for (const step of c.steps) {
      step.grads.forEach((g, i) => (params[i]!.grad = Float32Array.from(g)));
      opt.step();
      ours.push(params.map((p) => Array.from(p.data)));
      clipped.push(params.map((p) => Array.from(p.grad!))); // scaled in place, as torch does
    }
    expect(trajectoryError(clipped, c.steps.map((s) => s.clipped), 'float32')).toBeLessThanOrEqual(1e-6);
    expect(trajectoryError(ours, c.steps.map((s) => s.params), 'float32')).toBeLessThanOrEqual(1e-5);
    // And clipping did something in every case.
    expect(c.steps.some((s) => JSON.stringify(s.clipped) !== JSON.stringify(s.grads.map((g) => Array.from(Float32Array.from(g)))))).toBe(true);
  });
});

describe('the clipping helpers', () => {
  it('clamp values, keeping NaN', () => {
    const g = Float32Array.of(-3, -1, 0, 1, 3, NaN);
    clampValues(g, 2);
    expect(Array.from(g)).toEqual([-2, -1, 0, 1, 2, NaN]);
  });
  it("use clip_grad_norm_'s factor, 1e-6 included, never above 1", () => {
    expect(clipFactor(4, 2)).toBe(2 / (4 + 1e-6));
    expect(clipFactor(1, 2)).toBe(1);
    expect(sumOfSquares(Float64Array.of(3, 4))).toBe(25);
    const g = Float64Array.of(3, 4);
    scaleBy(g, 0.5);
    expect(Array.from(g)).toEqual([1.5, 2]);
  });
});

describe('clipping options', () => {
  it.each([
    [{ clipValue: 0 }, RangeError, 'RMSProp: invalid clipValue: expected a finite number > 0, got 0'],
    [{ clipNorm: -1 }, RangeError, 'RMSProp: invalid clipNorm: expected a finite number > 0, got -1'],
    [{ clipGlobalNorm: Infinity }, RangeError, 'RMSProp: invalid clipGlobalNorm: expected a finite number > 0, got Infinity'],
    [{ clipNorm: '1' }, TypeError, 'RMSProp: invalid clipNorm: expected a finite number > 0, got string "1"'],
  ] as const)('reject %o', (options, type, message) => {
    expect(() => new RMSProp([{ data: new Float32Array(1), grad: null }], options as never)).toThrow(new type(message));
  });

  it('belong to the optimizer, not to a group', () => {
    expect(() => new RMSProp([{ params: [{ data: new Float32Array(1), grad: null }], clipNorm: 1 }] as never)).toThrow(
      'unknown option "clipNorm" in group 0 (clipNorm applies to the whole optimizer: set it in the optimizer options)',
    );
  });

  it('are saved with the state and restored by loadStateDict', () => {
    const make = (): { data: Float32Array; grad: Float32Array; name: string } => ({ data: Float32Array.of(1, 1), grad: Float32Array.of(30, -40), name: 'w' });
    const a = make();
    const opt = new RMSProp([a], { clipNorm: 5 });
    const saved = JSON.parse(JSON.stringify(opt.stateDict())) as RMSPropStateDict;
    expect(saved.gradients).toEqual({ accumulate: 1, clipValue: null, clipNorm: 5, clipGlobalNorm: null });
    const b = make();
    const restored = new RMSProp([b]);
    restored.loadStateDict(saved);
    restored.step();
    expect(Math.hypot(b.grad[0]!, b.grad[1]!)).toBeCloseTo(5, 4); // clipped in place to norm 5
  });

  it('clip nothing on a step that throws or is skipped', () => {
    const p = { data: Float32Array.of(1, 1), grad: Float32Array.of(10, NaN) };
    const opt = new RMSProp([p], { clipValue: 1, nonFinite: 'skip' });
    opt.step();
    expect(p.grad[0]).toBe(10);
  });
});

describe('clipGradients', () => {
  it('clips values, then each norm, then the global norm, passing over empty slots', () => {
    const a = Float64Array.of(3, -8); // clipValue 4 -> [3, -4], norm 5
    const b = Float64Array.of(0, 12); // -> [0, 4], norm 4: clipNorm 4.5 leaves it
    clipGradients([a, null, b, undefined], 4, 4.5, 3);
    // After clipNorm: a scaled by 4.5 / (5 + 1e-6); global norm sqrt(|a|^2 + |b|^2).
    const fa = 4.5 / (5 + 1e-6);
    const total = Math.sqrt((3 * fa) ** 2 + (-4 * fa) ** 2 + (0 + 4 ** 2)); // summed as step() does
    const g = 3 / (total + 1e-6);
    expect(Array.from(a)).toEqual([3 * fa * g, -4 * fa * g]);
    expect(Array.from(b)).toEqual([0, 4 * g]);
  });

  it('leaves every gradient alone when every limit is off', () => {
    const a = Float32Array.of(1e30, -1e30);
    clipGradients([a], null, null, null);
    expect(Array.from(a)).toEqual([1e30, -1e30].map(Math.fround));
  });
});
