import { describe, expect, it } from 'vitest';
import { decodeFloats, encodeArray } from '../src/base64.js';
import { rng } from './support/random.js';

const bits = (a: Float32Array | Float64Array): number[] => Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));

describe('encodeArray / decodeFloats', () => {
  it('encodes known values', () => {
    expect(encodeArray(Float32Array.of(1))).toBe('AACAPw==');
    expect(encodeArray(Float32Array.of(1, -2))).toBe('AACAPwAAAMA=');
    expect(encodeArray(Float64Array.of(0.5))).toBe('AAAAAAAA4D8=');
    expect(encodeArray(new Float32Array(0))).toBe('');
  });

  it.runIf(typeof Buffer !== 'undefined')("encodes exactly as Node's Buffer does, for every length remainder", () => {
    const random = rng(3);
    for (let n = 0; n < 12; n++) {
      const a = Float32Array.from({ length: n }, () => (random() - 0.5) * 1e3);
      expect(encodeArray(a)).toBe(Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64'));
      const b = Float64Array.from({ length: n }, () => random() * 1e-300);
      expect(encodeArray(b)).toBe(Buffer.from(b.buffer).toString('base64'));
    }
  });

  it('round-trips every bit: NaN payloads, -0, infinities, subnormals', () => {
    const u = new Uint32Array([0x7fc00001, 0xffc12345, 0x80000000, 0x7f800000, 0xff800000, 0x00000001, 0x007fffff, 0x3f800000]);
    const f = new Float32Array(u.buffer);
    const back = decodeFloats(encodeArray(f), 'float32', f.length) as Float32Array;
    expect(Array.from(new Uint32Array(back.buffer))).toEqual(Array.from(u));
    const d = Float64Array.of(-0, 5e-324, NaN, -Infinity, 1 / 3);
    expect(bits(decodeFloats(encodeArray(d), 'float64', d.length) as Float64Array)).toEqual(bits(d));
  });

  it('encodes only the elements of a subarray view', () => {
    const big = Float32Array.of(1, 2, 3, 4);
    expect(encodeArray(big.subarray(1, 3))).toBe(encodeArray(Float32Array.of(2, 3)));
  });

  it.each([
    ['a length that is not a multiple of 4', 'AAAAAAA', 'is not valid base64'],
    ['a character outside the alphabet', 'AAAA!AAA', 'is not valid base64'],
    ['padding in the middle', 'AA==AAAA', 'is not valid base64'],
    ['a non-ASCII character', 'AAAé', 'is not valid base64'],
    ['non-zero bits under the padding', 'AAAAAAB=', 'is not valid base64'],
    ['too few bytes', 'AAAAAA==', 'holds 4 bytes, expected 8 (2 float32 values)'],
    ['too many bytes', 'AAAAAAAAAAAA', 'holds 9 bytes, expected 8 (2 float32 values)'],
  ])('rejects %s', (_name, text, why) => {
    expect(decodeFloats(text, 'float32', 2)).toBe(why);
  });
});
