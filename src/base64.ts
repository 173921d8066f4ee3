import type { FloatArray } from './rmsprop-step.js';

// atob and btoa are globals in every evergreen browser and in Node >= 16; typed here so that the
// library needs neither the DOM's types nor Node's.
const { atob, btoa } = globalThis as unknown as { atob(text: string): string; btoa(binary: string): string };

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function littleEndianOnly(): void {
  // Typed arrays use the platform's byte order; every engine this library targets is
  // little-endian. A big-endian one would need a byte swap here.
  if (!LITTLE_ENDIAN) throw new Error('rmsprop: saved states need a little-endian platform');
}

/**
 * The elements of a float or `Int32Array` buffer as little-endian base64 (RFC 4648, with
 * padding): every bit kept, NaN payloads, -0 and subnormals included.
 *
 * @internal
 */
export function encodeArray(a: FloatArray | Int32Array): string {
  littleEndianOnly();
  return encodeBase64(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

/** Little-endian base64 to a new `Int32Array`, or null when it is not whole 32-bit values. @internal */
export function decodeInts(text: string): Int32Array | null {
  littleEndianOnly();
  const bytes = decodeBase64(text);
  return bytes === null || bytes.length % 4 !== 0 ? null : new Int32Array(bytes.buffer);
}

/** Bytes to base64. @internal */
export function encodeBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/**
 * Decodes little-endian base64 into a new `Float32Array` or `Float64Array`, or returns a string
 * saying why it cannot: not canonical base64, or not `length` elements.
 *
 * @internal
 */
export function decodeFloats(text: string, dtype: 'float32' | 'float64', length: number): FloatArray | string {
  littleEndianOnly();
  const size = dtype === 'float64' ? 8 : 4;
  const bytes = decodeBase64(text);
  if (bytes === null) return 'is not valid base64';
  if (bytes.length !== length * size) {
    return `holds ${bytes.length} bytes, expected ${length * size} (${length} ${dtype} values)`;
  }
  return dtype === 'float64' ? new Float64Array(bytes.buffer) : new Float32Array(bytes.buffer);
}

/** Canonical base64 (RFC 4648, padded, no stray bits) to bytes, or null when it is not. @internal */
export function decodeBase64(text: string): Uint8Array | null {
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    return null; // not base64 at all
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  // atob forgives whitespace, missing padding and the bits that padding drops: canonical text
  // is the one that re-encodes to itself.
  return encodeBase64(bytes) === text ? bytes : null;
}
