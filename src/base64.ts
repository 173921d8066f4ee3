import type { FloatArray } from './rmsprop-step.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const VALUE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUE[ALPHABET.charCodeAt(i)] = i;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The elements of a float buffer as little-endian base64 (RFC 4648, with padding): every bit
 * kept, NaN payloads, -0 and subnormals included.
 *
 * @internal
 */
export function encodeFloats(a: FloatArray): string {
  let bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (!LITTLE_ENDIAN) bytes = toLittleEndian(a);
  let out = '';
  const n = bytes.length;
  const whole = n - (n % 3);
  for (let i = 0; i < whole; i += 3) {
    const x = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[x >> 18]! + ALPHABET[(x >> 12) & 63]! + ALPHABET[(x >> 6) & 63]! + ALPHABET[x & 63]!;
  }
  if (n - whole === 1) {
    const x = bytes[whole]! << 16;
    out += ALPHABET[x >> 18]! + ALPHABET[(x >> 12) & 63]! + '==';
  } else if (n - whole === 2) {
    const x = (bytes[whole]! << 16) | (bytes[whole + 1]! << 8);
    out += ALPHABET[x >> 18]! + ALPHABET[(x >> 12) & 63]! + ALPHABET[(x >> 6) & 63]! + '=';
  }
  return out;
}

/**
 * Decodes little-endian base64 into a new `Float32Array` or `Float64Array`, or returns a string
 * saying why it cannot: not canonical base64, or not `length` elements.
 *
 * @internal
 */
export function decodeFloats(text: string, dtype: 'float32' | 'float64', length: number): FloatArray | string {
  const size = dtype === 'float64' ? 8 : 4;
  const bytes = decodeBase64(text);
  if (bytes === null) return 'is not valid base64';
  if (bytes.length !== length * size) {
    return `holds ${bytes.length} bytes, expected ${length * size} (${length} ${dtype} values)`;
  }
  if (!LITTLE_ENDIAN) {
    const view = new DataView(bytes.buffer);
    const out = dtype === 'float64' ? new Float64Array(length) : new Float32Array(length);
    for (let i = 0; i < length; i++) out[i] = dtype === 'float64' ? view.getFloat64(8 * i, true) : view.getFloat32(4 * i, true);
    return out;
  }
  return dtype === 'float64' ? new Float64Array(bytes.buffer) : new Float32Array(bytes.buffer);
}

/** Canonical base64 (RFC 4648, padded) to bytes, or null when it is not. @internal */
export function decodeBase64(text: string): Uint8Array | null {
  if (text.length % 4 !== 0) return null;
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const last = i + 4 === text.length;
    const a = value(text, i);
    const b = value(text, i + 1);
    const c = last && pad === 2 ? 0 : value(text, i + 2);
    const d = last && pad >= 1 ? 0 : value(text, i + 3);
    if ((a | b | c | d) < 0) return null;
    const x = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = x >> 16;
    if (o < out.length) out[o++] = (x >> 8) & 255;
    if (o < out.length) out[o++] = x & 255;
    // Canonical form only: the bits that padding drops must be zero.
    if (last && ((pad === 2 && (b & 15) !== 0) || (pad === 1 && (c & 3) !== 0))) return null;
  }
  return out;
}

function value(text: string, i: number): number {
  const code = text.charCodeAt(i);
  return code < 128 ? VALUE[code]! : -1;
}

function toLittleEndian(a: FloatArray): Uint8Array {
  const out = new Uint8Array(a.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) {
    if (a instanceof Float64Array) view.setFloat64(8 * i, a[i]!, true);
    else view.setFloat32(4 * i, a[i]!, true);
  }
  return out;
}
