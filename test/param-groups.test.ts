import { describe, expect, it } from 'vitest';
import { buildGroups, overlaps, toGroupSpecs } from '../src/param-groups.js';
import { rmspropDefaults as kernelDefaults } from '../src/rmsprop-step.js';

const rmspropDefaults = { ...kernelDefaults, frozen: false };

describe('overlaps', () => {
  const buf = new Float32Array(16);
  it('is true only for views of one buffer that share at least one element', () => {
    expect(overlaps(buf.subarray(0, 4), buf.subarray(3, 8))).toBe(true);
    expect(overlaps(buf.subarray(0, 4), buf.subarray(4, 8))).toBe(false);
    expect(overlaps(buf.subarray(2, 3), buf)).toBe(true);
    expect(overlaps(buf, new Float32Array(16))).toBe(false);
  });
  it('is false for empty views, even inside another view', () => {
    expect(overlaps(buf.subarray(5, 5), buf)).toBe(false);
    expect(overlaps(buf, buf.subarray(5, 5))).toBe(false);
  });
  it('compares bytes, across element types', () => {
    const f64 = new Float64Array(buf.buffer, 8, 1); // bytes 8..16 = float32 elements 2 and 3
    expect(overlaps(f64 as unknown as Float32Array, buf.subarray(3, 4))).toBe(true);
    expect(overlaps(f64 as unknown as Float32Array, buf.subarray(4, 5))).toBe(false);
  });
});

describe('toGroupSpecs', () => {
  it('wraps an array of parameters into one group and passes groups through', () => {
    const p = { data: new Float32Array(1), grad: null };
    expect(toGroupSpecs([p], 'X')).toEqual([{ params: [p] }]);
    const groups = [{ params: [p] }];
    expect(toGroupSpecs(groups, 'X')).toBe(groups);
  });
});

describe('buildGroups', () => {
  const param = (n: number, name?: string) => ({ data: new Float32Array(n), grad: null, ...(name ? { name } : {}) });

  it('resolves options and freezes each group params array', () => {
    const a = param(2);
    const [g] = buildGroups([{ params: [a], lr: 0.5 }], rmspropDefaults, [], 'X');
    expect(g).toEqual({ params: [a], ...rmspropDefaults, lr: 0.5 });
    expect(Object.isFrozen(g!.params)).toBe(true);
  });

  it('numbers new groups after the existing ones in its messages', () => {
    const existing = buildGroups([{ params: [param(1)] }, { params: [param(1)] }], rmspropDefaults, [], 'X');
    expect(() => buildGroups([{ params: [] }], rmspropDefaults, existing, 'X')).toThrow(new RangeError('X: group 2 has no parameters'));
  });

  it('finds an overlap between views that are not neighbours when sorted', () => {
    const f = new Float32Array(100);
    const views = [f.subarray(0, 50), f.subarray(60, 70), f.subarray(55, 58), f.subarray(80, 90), f.subarray(40, 45)];
    expect(() => buildGroups([{ params: views.map((data) => ({ data, grad: null })) }], rmspropDefaults, [], 'X')).toThrow(
      new Error('X: parameters share memory: the data of (group 0, param 0) overlaps the data of (group 0, param 4)'),
    );
  });

  it('accepts adjacent and empty views of one buffer', () => {
    const f = new Float64Array(10);
    const views = [f.subarray(0, 5), f.subarray(5, 5), f.subarray(5, 10), f.subarray(3, 3)];
    expect(buildGroups([{ params: views.map((data) => ({ data, grad: null })) }], rmspropDefaults, [], 'X')).toHaveLength(1);
  });

  it('allows names to repeat only when absent', () => {
    expect(buildGroups([{ params: [param(1), param(1), param(1, 'a')] }], rmspropDefaults, [], 'X')).toHaveLength(1);
  });
});
