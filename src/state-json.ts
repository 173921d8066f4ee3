// A text codec for saved states: JSON with every typed array as little-endian base64, so a round
// trip is bit-exact. Reads the version-1 JSON of earlier releases too.
import { decodeBase64, decodeFloats, encodeArray } from './base64.js';
import { isDetached, isFloatArray } from './checks.js';
import { formatValue } from './format.js';
import type { RMSPropStateDict } from './state-dict.js';

/** The numbers JSON cannot hold, by their spelling in `{ "$number": ... }`. @internal */
export const NUMBERS: Readonly<Record<string, number>> = { '-0': -0, NaN, Infinity, '-Infinity': -Infinity };

/** A number as JSON holds it: itself, or `{ $number: '-0' }` for -0, NaN and ±Infinity. @internal */
export function jsonNumber(value: number): number | { readonly $number: string } {
  return Number.isFinite(value) && !Object.is(value, -0) ? value : { $number: Object.is(value, -0) ? '-0' : String(value) };
}
const MAX_DEPTH = 64;

/**
 * A saved state as JSON text: `opt.stateDict()`, a `MultiSteps` or `SparseRows` state, or any
 * plain object holding them (`{ optimizer, accumulator }`). Every `Float32Array` and
 * `Float64Array` becomes `{ "$float32": "<base64>" }` (little-endian bytes: every bit kept, NaN
 * payloads, -0 and subnormals included), and every number JSON cannot hold (`-0`, `NaN`,
 * `±Infinity`) `{ "$number": "-0" }`, so that {@link stateFromJSON} gives back the same values
 * bit for bit. For small and medium states: base64 text moves some 15 MB/s and V8's strings
 * stop at about 5e8 characters.
 *
 * @throws TypeError for a value JSON cannot hold (another kind of typed array, a bigint).
 *
 * @example
 * ```ts
 * import { stateFromJSON, stateToJSON } from 'rmsprop';
 *
 * localStorage.setItem('optimizer', stateToJSON(opt.stateDict()));
 * opt.loadStateDict(stateFromJSON(localStorage.getItem('optimizer')!));
 * ```
 */
export function stateToJSON(state: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(state, replace);
  } catch (error) {
    // JSON's own refusals (a cycle) and ours, all as TypeErrors that say where they come from.
    if (error instanceof TypeError && error.message.startsWith('stateToJSON:')) throw error;
    throw new TypeError(`stateToJSON: cannot encode: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (text === undefined) throw new TypeError(`stateToJSON: cannot encode ${formatValue(state)}`);
  return text;
}

function replace(_key: string, value: unknown): unknown {
  const fail = (): never => {
    throw new TypeError(`stateToJSON: cannot encode ${formatValue(value)}: only plain objects, arrays, numbers, strings, booleans, null and Float32Array or Float64Array`);
  };
  if (typeof value === 'number') {
    return jsonNumber(value);
  }
  if (isFloatArray(value)) {
    if (isDetached(value)) fail();
    return { [value instanceof Float64Array ? '$float64' : '$float32']: encodeArray(value) };
  }
  if (ArrayBuffer.isView(value)) throw new TypeError(`stateToJSON: cannot encode ${formatValue(value)}: only Float32Array and Float64Array`);
  // Anything else JSON would drop, empty or refuse in its own words (a Map, an ArrayBuffer, a
  // function, a bigint).
  const proto: unknown = typeof value === 'object' && value !== null ? Object.getPrototypeOf(value) : null;
  if (typeof value === 'function' || typeof value === 'bigint' || typeof value === 'symbol' || (proto !== null && proto !== Object.prototype && proto !== Array.prototype)) fail();
  return value;
}

/**
 * Reads text written by {@link stateToJSON} back into typed arrays and numbers, checking every
 * encoded value (canonical base64 of whole elements, known number spellings) and naming where
 * one is wrong. Also reads the version-1 JSON that `stateDict()` wrote in rmsprop 0.1 (base64
 * strings with `dtype` and `length`), at the top or anywhere inside, converted to the current
 * form; a version-1 state saved in the middle of a gradient-accumulation window or with exact
 * sparse-row bookkeeping is refused, since those now live in `MultiSteps` and `SparseRows`,
 * whose states are kept apart. Its clipping limits (`gradients`) are not state any more and are
 * not read: call `clipGradNorm` or `clipGradValue` as the run did. An object whose one key is
 * `$float32`, `$float64` or `$number` is read as an encoded value: keep such keys out of what
 * you save.
 *
 * The result is what was encoded (by default typed as an optimizer's state): the `loadStateDict`
 * it is given checks it completely.
 *
 * @throws SyntaxError for text that is not JSON; Error naming the path of a value that does not
 *   decode.
 *
 * @example
 * ```ts
 * const checkpoint = stateFromJSON<{ optimizer: RMSPropStateDict; accumulator: MultiStepsStateDict }>(text);
 * opt.loadStateDict(checkpoint.optimizer);
 * accumulator.loadStateDict(checkpoint.accumulator);
 * ```
 */
export function stateFromJSON<T = RMSPropStateDict>(text: string): T {
  if (typeof text !== 'string') throw new TypeError(`stateFromJSON: invalid text: expected a string, got ${formatValue(text)}`);
  return decode(JSON.parse(text), '$', 0) as T;
}

function fail(path: string, message: string): never {
  throw new Error(`stateFromJSON: ${path} ${message}`);
}

function decode(value: unknown, path: string, depth: number): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (depth > MAX_DEPTH) fail(path, `is nested more than ${MAX_DEPTH} levels deep`);
  if (Array.isArray(value)) return value.map((v: unknown, i) => decode(v, `${path}[${i}]`, depth + 1));
  const v1 = value as { readonly format?: unknown; readonly version?: unknown };
  if (v1.format === 'rmsprop-state' && v1.version === 1) return fromVersion1(v1 as Readonly<Record<string, unknown>>, path);
  const entries = Object.entries(value);
  const [key, inner] = entries[0] ?? [];
  if (entries.length === 1 && (key === '$float32' || key === '$float64' || key === '$number')) {
    if (typeof inner !== 'string') fail(path, `holds ${formatValue(inner)} under ${key}, expected a string`);
    if (key === '$number') {
      if (!Object.hasOwn(NUMBERS, inner)) fail(path, `holds the number ${JSON.stringify(inner)}; expected -0, NaN, Infinity or -Infinity`);
      return NUMBERS[inner];
    }
    const bytes = decodeBase64(inner);
    const size = key === '$float64' ? 8 : 4;
    if (bytes === null || bytes.length % size !== 0) fail(path, `is not canonical base64 of whole ${key.slice(1)} values`);
    return decodeFloats(inner, key === '$float64' ? 'float64' : 'float32', bytes.length / size);
  }
  // fromEntries defines own properties: a "__proto__" key stays a key.
  return Object.fromEntries(entries.map(([k, v]) => [k, decode(v, `${path}.${k}`, depth + 1)]));
}

/** The version-1 JSON of rmsprop 0.1 in today's form. */
function fromVersion1(v1: Readonly<Record<string, unknown>>, at: string): RMSPropStateDict {
  if (typeof v1['accumulated'] === 'number' && v1['accumulated'] > 0) {
    fail(`${at}.accumulated`, `is ${v1['accumulated']}: this version-1 state was saved in the middle of a gradient-accumulation window, which is MultiSteps' state now; resume from a state saved at a window boundary`);
  }
  const groups = v1['groups'];
  if (!Array.isArray(groups)) fail(`${at}.groups`, `is ${formatValue(groups)}, expected an array`);
  return {
    format: 'rmsprop-state',
    version: 2,
    nonFinite: v1['nonFinite'] as RMSPropStateDict['nonFinite'],
    skippedSteps: v1['skippedSteps'] as number,
    updates: v1['updates'] as number,
    groups: groups.map((g: unknown, gi) => {
      const group = (g ?? {}) as { readonly hyper?: unknown; readonly params?: unknown };
      if (!Array.isArray(group.params)) fail(`${at}.groups[${gi}].params`, `is ${formatValue(group.params)}, expected an array`);
      return {
        hyper: group.hyper as RMSPropStateDict['groups'][number]['hyper'],
        params: group.params.map((p: unknown, i) => {
          const path = `${at}.groups[${gi}].params[${i}]`;
          const e = (p ?? {}) as Readonly<Record<string, unknown>>;
          if (e['rowsCurrent'] !== null && e['rowsCurrent'] !== undefined) {
            fail(`${path}.rowsCurrent`, 'holds the bookkeeping of exact sparse updates, which is SparseRows\' state now; it cannot be converted into an optimizer state');
          }
          const { dtype, length } = e;
          if ((dtype !== 'float32' && dtype !== 'float64') || typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
            fail(path, `has dtype ${formatValue(dtype)} and length ${formatValue(length)}; expected 'float32' or 'float64' and a whole number`);
          }
          const buffer = (key: string): Float32Array | Float64Array | null => {
            const b = e[key];
            if (b === null || b === undefined) return null;
            const decoded = typeof b === 'string' ? decodeFloats(b, dtype, length) : 'is not a base64 string';
            if (typeof decoded === 'string') fail(`${path}.${key}`, decoded);
            return decoded;
          };
          const squareAvg = buffer('squareAvg');
          if (squareAvg === null) fail(`${path}.squareAvg`, 'is missing');
          return { name: e['name'] as string | null, step: e['step'] as number, squareAvg, gradAvg: buffer('gradAvg'), momentumBuffer: buffer('momentumBuffer') };
        }),
      };
    }),
  };
}
