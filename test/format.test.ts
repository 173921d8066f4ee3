import { describe as group, expect, it } from 'vitest';
import { describe } from '../src/describe.js';

group('describe', () => {
  it.each([
    [0.5, '0.5'],
    [-0, '-0'],
    [NaN, 'NaN'],
    [-Infinity, '-Infinity'],
    ['0.1', 'string "0.1"'],
    [3n, 'bigint 3n'],
    [true, 'true'],
    [undefined, 'undefined'],
    [null, 'null'],
    [Symbol('s'), 'a symbol'],
    [() => 1, 'a function'],
    [[1, 2, 3], 'an array of length 3'],
    [new Float32Array(4), 'a Float32Array of length 4'],
    [new Int8Array(2), 'an Int8Array of length 2'],
    [new DataView(new ArrayBuffer(8)), 'a DataView of 8 bytes'],
    [{ a: 1 }, 'an object'],
    [Object.create(null), 'an object'],
    [new Map(), 'an instance of Map'],
  ] as const)('formats %o as %s', (value, text) => {
    expect(describe(value)).toBe(text);
  });
});
