import { describe, expect, it } from 'vitest';
import { allFinite, firstNonFinite } from '../src/finite.js';

describe('allFinite and firstNonFinite', () => {
  it('find NaN and both infinities at every position of every remainder length', () => {
    for (const T of [Float32Array, Float64Array]) {
      for (let n = 0; n <= 9; n++) {
        const a = new T(n).fill(1.5);
        expect(allFinite(a)).toBe(true);
        expect(firstNonFinite(a)).toBe(-1);
        for (let i = 0; i < n; i++) {
          for (const bad of [NaN, Infinity, -Infinity]) {
            a[i] = bad;
            expect(allFinite(a)).toBe(false);
            expect(firstNonFinite(a)).toBe(i);
            a[i] = 1.5;
          }
        }
      }
    }
  });

  it('accept the extremes of the finite range', () => {
    expect(allFinite(Float32Array.of(3.4028234663852886e38, -3.4028234663852886e38, 1e-45, -0))).toBe(true);
    expect(allFinite(Float64Array.of(Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 0, 0))).toBe(true);
  });

  it('look only inside a subarray view', () => {
    const big = new Float32Array(10);
    big[0] = NaN;
    big[9] = Infinity;
    expect(allFinite(big.subarray(1, 9))).toBe(true);
  });
});
