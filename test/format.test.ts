import { describe, expect, it } from 'vitest';
import { formatValue } from '../src/format.js';
import { detached, foreignArray, revoked } from './support/realm.js';

const REALM = 'from another realm (an iframe or vm context: it fails instanceof here; copy it with';
const THROWS = 'an object that throws when inspected (a revoked Proxy?)';

class Named {}

describe('formatValue', () => {
  it.each([
    [0.5, '0.5'],
    [0, '0'],
    [-0, '-0'],
    [1e21, '1e+21'],
    [5e-324, '5e-324'],
    [NaN, 'NaN'],
    [Infinity, 'Infinity'],
    [-Infinity, '-Infinity'],
    ['0.1', 'string "0.1"'],
    ['', 'string ""'],
    ['say "hi"', 'string "say \\"hi\\""'],
    [3n, 'bigint 3n'],
    [true, 'true'],
    [false, 'false'],
    [undefined, 'undefined'],
    [null, 'null'],
    [Symbol('s'), 'a symbol'],
    [() => 1, 'a function'],
    [Named, 'a function'],
    [[], 'an array of length 0'],
    [[1, 2, 3], 'an array of length 3'],
    [new Float32Array(4), 'a Float32Array of length 4'],
    [new Float64Array(2), 'a Float64Array of length 2'],
    [new Float32Array(8).subarray(2, 5), 'a Float32Array of length 3'],
    [new Int8Array(2), 'an Int8Array of length 2'],
    [new Int32Array(1), 'an Int32Array of length 1'],
    [new Uint8Array(1), 'a Uint8Array of length 1'],
    [new BigInt64Array(1), 'a BigInt64Array of length 1'],
    [new DataView(new ArrayBuffer(8)), 'a DataView of 8 bytes'],
    [{ a: 1 }, 'an object'],
    [Object.create(null), 'an object'],
    [Object.create(Object.create(null)), 'an object'],
    [new Map(), 'an instance of Map'],
    [new Error('x'), 'an instance of Error'],
    [new Named(), 'an instance of Named'],
    [new ArrayBuffer(4), 'an instance of ArrayBuffer'],
  ] as const)('formats %o as %s', (value, text) => {
    expect(formatValue(value)).toBe(text);
  });

  it('cuts a long string after 100 characters and says how long it was', () => {
    expect(formatValue('x'.repeat(50_000_000))).toBe(`string "${'x'.repeat(100)}…" (50000000 characters)`);
    expect(formatValue('y'.repeat(100))).toBe(`string "${'y'.repeat(100)}"`);
  });

  it('does not call an empty typed array detached', () => {
    // An empty array's buffer has 0 bytes too, but nothing was transferred.
    expect(formatValue(new Float32Array(0))).toBe('a Float32Array of length 0');
    expect(formatValue(new Float64Array(new ArrayBuffer(0)))).toBe('a Float64Array of length 0');
    expect(formatValue(new Float32Array(4).subarray(2, 2))).toBe('a Float32Array of length 0');
  });

  it('says when a typed array is detached (its buffer transferred)', () => {
    expect(formatValue(detached(new Float32Array(4)))).toBe('a Float32Array of length 0 (detached)');
    const whole = new Float64Array(6);
    const view = whole.subarray(1, 3);
    detached(whole);
    expect(formatValue(view)).toBe('a Float64Array of length 0 (detached)');
  });

  it('formats a DataView over a detached buffer without throwing', () => {
    // DataView's byteLength throws once its buffer is detached.
    expect(formatValue(detached(new DataView(new ArrayBuffer(8))))).toBe('a DataView of 0 bytes (detached)');
  });

  it('says when a typed array comes from another realm, and how to copy it', async () => {
    expect(formatValue(await foreignArray('Float32Array', [1, 2, 3]))).toBe(`a Float32Array of length 3 ${REALM} Float32Array.from())`);
    expect(formatValue(await foreignArray('Float64Array', [1]))).toBe(`a Float64Array of length 1 ${REALM} Float64Array.from())`);
  });

  it('says when an object poses as a typed array (a Proxy, or an object with its prototype)', () => {
    expect(formatValue(new Proxy(new Float32Array(4), {}))).toBe('an object posing as a Float32Array (a Proxy?), not a typed array');
    expect(formatValue(new Proxy(new Float64Array(4), {}))).toBe('an object posing as a Float64Array (a Proxy?), not a typed array');
    expect(formatValue(Object.create(Float32Array.prototype))).toBe('an object posing as a Float32Array (a Proxy?), not a typed array');
  });

  it('never throws: a revoked Proxy, a throwing constructor getter, a throwing trap', () => {
    expect(formatValue(revoked({}))).toBe(THROWS);
    expect(formatValue(revoked([1, 2]))).toBe(THROWS);
    expect(formatValue(revoked(new Float32Array(2)))).toBe(THROWS);
    expect(formatValue(revoked(() => 1))).toBe('a function');
    const getter = Object.create({
      get constructor(): never {
        throw new Error('no');
      },
    }) as object;
    expect(formatValue(getter)).toBe(THROWS);
    const trap = new Proxy(
      {},
      {
        getPrototypeOf(): never {
          throw new Error('no');
        },
      },
    );
    expect(formatValue(trap)).toBe(THROWS);
  });

  it('names a real typed array by what it is, whatever its own Symbol.toStringTag says', () => {
    const spoofed = new Float32Array(4);
    Object.defineProperty(spoofed, Symbol.toStringTag, { value: 'Float64Array' });
    expect(formatValue(spoofed)).toBe('a Float32Array of length 4');
    const throwing = new Float32Array(4);
    Object.defineProperty(throwing, Symbol.toStringTag, {
      get(): never {
        throw new Error('no');
      },
    });
    expect(() => formatValue(throwing)).not.toThrow();
  });
});
