import type { FloatArray } from './rmsprop-step.js';

/**
 * Whether every element is finite (no NaN, no ±Infinity). One read-only pass: `x * 0` is 0 for a
 * finite `x` and NaN otherwise, summed into four independent accumulators so the adds overlap.
 *
 * @internal
 */
export function allFinite(a: FloatArray): boolean {
  const n = a.length;
  const m = n - (n % 4);
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i < m; i += 4) {
    s0 += a[i]! * 0;
    s1 += a[i + 1]! * 0;
    s2 += a[i + 2]! * 0;
    s3 += a[i + 3]! * 0;
  }
  for (; i < n; i++) s0 += a[i]! * 0;
  return s0 + s1 + s2 + s3 === 0;
}

/** Index of the first element that is not finite, or -1. @internal */
export function firstNonFinite(a: FloatArray): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return i;
  return -1;
}
