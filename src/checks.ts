// The one set of checks every entry point shares: numbers against a range, whole numbers,
// booleans, float buffers. Each throws a message naming the caller, the option or parameter,
// the value and what is allowed: TypeError for a value of the wrong type, RangeError for one out
// of range.
import { formatValue } from './format.js';
import type { FloatArray } from './rmsprop-step.js';

/**
 * A range a number must lie in, and how messages say it. `ok` is only called with a number.
 *
 * @internal
 */
export interface Rule {
  readonly ok: (x: unknown) => boolean;
  readonly allowed: string;
}

/** A rule from a test on numbers: anything but a number fails it. @internal */
export function rule(ok: (x: number) => boolean, allowed: string): Rule {
  return { ok: (x) => typeof x === 'number' && ok(x), allowed };
}

/** @internal */
export const finiteAtLeast0: Rule = rule((x) => x >= 0 && x !== Infinity, 'a finite number >= 0');
/** @internal */
export const unitInterval: Rule = rule((x) => x >= 0 && x < 1, 'a number in [0, 1)');
/** @internal */
export const positive: Rule = rule((x) => x > 0 && x !== Infinity, 'a finite number > 0');
/** @internal */
export const atLeast0: Rule = rule((x) => x >= 0, 'a number >= 0 (Infinity allowed)');
/** @internal */
export const wholeAtLeast1: Rule = rule((x) => Number.isSafeInteger(x) && x >= 1, 'a whole number >= 1');
/**
 * A count (of updates, steps, elements): a whole number from 0 to 2^52, where adding one is
 * still exact. A run at a microsecond a step reaches it in 140 million years; a state loaded at
 * the limit and stepped on saves a count this refuses to load.
 *
 * @internal
 */
export const count: Rule = rule((x) => Number.isInteger(x) && x >= 0 && x <= 2 ** 52, 'a whole number from 0 to 2^52');

/** `RMSProp: invalid lr in group 2: expected …, got …` (`where` goes before the colon, `after` at the end). @internal */
export function invalid(prefix: string, name: string, allowed: string, value: unknown, where = '', after = ''): string {
  return `${prefix}: invalid ${name}${where}: expected ${allowed}, got ${formatValue(value)}${after}`;
}

/** Checks a number against a rule and returns it. @internal */
export function checkNumber(value: unknown, rule: Rule, prefix: string, name: string, where = '', after = ''): number {
  if (!rule.ok(value)) throw new (typeof value === 'number' ? RangeError : TypeError)(invalid(prefix, name, rule.allowed, value, where, after));
  return value as number;
}

/** Checks a boolean and returns it. @internal */
export function checkBoolean(value: unknown, prefix: string, name: string, where = ''): boolean {
  if (typeof value !== 'boolean') throw new TypeError(invalid(prefix, name, 'a boolean', value, where));
  return value;
}

/** `(group 1, param 3)`: how every message names a parameter. @internal */
export function at(group: number, index: number): string {
  return `(group ${group}, param ${index})`;
}

/**
 * Whether `x` is a `Float32Array` or `Float64Array` of this realm. A Proxy of one, an object
 * whose prototype is one's, and a typed array from another realm (an iframe, a vm context) are
 * not: the first two are not typed arrays, and the last fails `instanceof`, which the library
 * relies on to tell float32 from float64. Never throws.
 *
 * @internal
 */
export function isFloatArray(x: unknown): x is FloatArray {
  return ArrayBuffer.isView(x) && (x instanceof Float32Array || x instanceof Float64Array);
}

/** Checks a float buffer (or `null`, when allowed) and returns it. @internal */
export function checkFloatArray(value: unknown, prefix: string, name: string, after: string, nullable: boolean): FloatArray | null {
  if (isFloatArray(value) || (nullable && value === null)) return value;
  const allowed = nullable ? 'a Float32Array, Float64Array or null' : 'a Float32Array or Float64Array';
  throw new TypeError(invalid(prefix, name, allowed, value, '', after === '' ? '' : ` ${after}`));
}

/** Whether a view's memory was detached under it (transferred, or a WebAssembly memory that grew). @internal */
export function isDetached(view: ArrayBufferView): boolean {
  try {
    view.buffer.slice(0, 0);
    return false;
  } catch {
    return true;
  }
}

/** `'Float32Array'` or `'Float64Array'`. @internal */
export function typeName(x: FloatArray): string {
  return x instanceof Float64Array ? 'Float64Array' : 'Float32Array';
}

/** Whether two views share at least one byte of memory (an empty view shares none). @internal */
export function overlaps(a: FloatArray, b: FloatArray): boolean {
  return (
    a.buffer === b.buffer &&
    a.byteLength > 0 &&
    b.byteLength > 0 &&
    a.byteOffset < b.byteOffset + b.byteLength &&
    b.byteOffset < a.byteOffset + a.byteLength
  );
}

/**
 * Checks an options object: a plain object with no key but `allowed` (a misspelt option would
 * otherwise be ignored without a word). Returns it.
 *
 * @internal
 */
export function checkKeys<T>(options: T, prefix: string, allowed: readonly string[]): T {
  const given = optionKeys(options, () => invalid(prefix, 'options', `an object with ${allowed.join(', ')}`, options));
  const unknown = given.find((k) => !allowed.includes(k));
  if (unknown !== undefined) throw new TypeError(`${prefix}: unknown option "${unknown}"; the options are ${allowed.join(', ')}`);
  return options;
}

/**
 * The own enumerable keys of an options object, or a TypeError when it is not a plain object
 * (an array, `null`, a revoked Proxy).
 *
 * @internal
 */
export function optionKeys(options: unknown, message: () => string): string[] {
  if (typeof options === 'object' && options !== null) {
    try {
      if (!Array.isArray(options)) return Object.keys(options);
    } catch {
      // a revoked Proxy: reported below
    }
  }
  throw new TypeError(message());
}

/**
 * The error for a getter (or a Proxy) of a parameter that threw while a step or a feature read
 * it: says which parameter (`where`, as {@link at} gives it), keeps the original as the `cause`.
 *
 * @internal
 */
export function readError(error: unknown, prefix: string, what: string, where: string): Error {
  return new Error(`${prefix}: reading ${what} threw ${where}: ${error instanceof Error ? error.message : formatValue(error)}`, { cause: error });
}
