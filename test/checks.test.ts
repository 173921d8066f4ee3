import { describe, expect, it } from 'vitest';
import {
  at,
  atLeast0,
  checkBoolean,
  checkFloatArray,
  checkNumber,
  count,
  finiteAtLeast0,
  invalid,
  isFloatArray,
  optionKeys,
  overlaps,
  positive,
  rule,
  typeName,
  unitInterval,
  wholeAtLeast1,
} from '../src/checks.js';
import type { Rule } from '../src/checks.js';
import { expectError } from './support/expect-error.js';
import { foreignArray, revoked } from './support/realm.js';

const REALM = 'from another realm (an iframe or vm context: it fails instanceof here; copy it with Float32Array.from())';
const POSING = 'an object posing as a Float32Array (a Proxy?), not a typed array';

describe('the rules', () => {
  // Each value, and whether each rule takes it, in the order of RULES.
  const RULES: readonly (readonly [string, Rule])[] = [
    ['finiteAtLeast0', finiteAtLeast0],
    ['unitInterval', unitInterval],
    ['positive', positive],
    ['atLeast0', atLeast0],
    ['wholeAtLeast1', wholeAtLeast1],
    ['count', count],
  ];
  it.each([
    // value              fin0   unit   pos    atL0   whole1 count
    [0, [true, true, false, true, false, true]],
    [-0, [true, true, false, true, false, true]],
    [0.5, [true, true, true, true, false, false]],
    [1, [true, false, true, true, true, true]],
    [1 - 2 ** -53, [true, true, true, true, false, false]],
    [2.5, [true, false, true, true, false, false]],
    [Number.MIN_VALUE, [true, true, true, true, false, false]],
    [Number.MAX_VALUE, [true, false, true, true, false, false]],
    [2 ** 52, [true, false, true, true, true, true]],
    [2 ** 53 - 1, [true, false, true, true, true, false]],
    [2 ** 53, [true, false, true, true, false, false]],
    [Infinity, [false, false, false, true, false, false]],
    [-Infinity, [false, false, false, false, false, false]],
    [-1, [false, false, false, false, false, false]],
    [-Number.MIN_VALUE, [false, false, false, false, false, false]],
    [NaN, [false, false, false, false, false, false]],
    ['1', [false, false, false, false, false, false]],
    [null, [false, false, false, false, false, false]],
    [1n, [false, false, false, false, false, false]],
    [true, [false, false, false, false, false, false]],
    [undefined, [false, false, false, false, false, false]],
    [[1], [false, false, false, false, false, false]],
  ] as const)('take %o as %o', (value, expected) => {
    expect(RULES.map(([, r]) => r.ok(value))).toEqual(expected);
  });

  it('say what they allow', () => {
    expect(RULES.map(([name, r]) => `${name}: ${r.allowed}`)).toEqual([
      'finiteAtLeast0: a finite number >= 0',
      'unitInterval: a number in [0, 1)',
      'positive: a finite number > 0',
      'atLeast0: a number >= 0 (Infinity allowed)',
      'wholeAtLeast1: a whole number >= 1',
      'count: a whole number from 0 to 2^52',
    ]);
  });

  it('rule() makes a rule that only calls its test with numbers', () => {
    const seen: unknown[] = [];
    const even = rule((x) => (seen.push(x), x % 2 === 0), 'an even number');
    expect(even.allowed).toBe('an even number');
    expect([2, 3, '2', null, 2n, undefined].map((x) => even.ok(x))).toEqual([true, false, false, false, false, false]);
    expect(seen).toEqual([2, 3]);
  });
});

describe('checkNumber', () => {
  it('returns a number the rule takes', () => {
    expect(checkNumber(0.5, unitInterval, 'X', 'alpha')).toBe(0.5);
    expect(Object.is(checkNumber(-0, count, 'X', 'n'), -0)).toBe(true);
    expect(checkNumber(Infinity, atLeast0, 'X', 'max')).toBe(Infinity);
  });

  it.each([
    ['1', 'string "1"'],
    [null, 'null'],
    [undefined, 'undefined'],
    [1n, 'bigint 1n'],
    [true, 'true'],
    [[1], 'an array of length 1'],
    [{}, 'an object'],
    [new Number(1), 'an instance of Number'],
  ] as const)('throws a TypeError for %o, which is not a number', (value, text) => {
    expectError(() => checkNumber(value, finiteAtLeast0, 'X', 'lr'), TypeError, `X: invalid lr: expected a finite number >= 0, got ${text}`);
  });

  it.each([
    [NaN, finiteAtLeast0, 'a finite number >= 0', 'NaN'],
    [-1, finiteAtLeast0, 'a finite number >= 0', '-1'],
    [Infinity, finiteAtLeast0, 'a finite number >= 0', 'Infinity'],
    [NaN, atLeast0, 'a number >= 0 (Infinity allowed)', 'NaN'],
    [-Infinity, atLeast0, 'a number >= 0 (Infinity allowed)', '-Infinity'],
    [1, unitInterval, 'a number in [0, 1)', '1'],
    [-0, positive, 'a finite number > 0', '-0'],
    [0, wholeAtLeast1, 'a whole number >= 1', '0'],
    [1.5, count, 'a whole number from 0 to 2^52', '1.5'],
    [2 ** 53, count, 'a whole number from 0 to 2^52', '9007199254740992'],
  ] as const)('throws a RangeError for %o, a number out of range', (value, r, allowed, text) => {
    expectError(() => checkNumber(value, r, 'X', 'v'), RangeError, `X: invalid v: expected ${allowed}, got ${text}`);
  });

  it('puts `where` before the colon and `after` at the end', () => {
    expectError(
      () => checkNumber(-1, finiteAtLeast0, 'RMSProp', 'lr', ' in group 2', ' (group 2, param 0)'),
      RangeError,
      'RMSProp: invalid lr in group 2: expected a finite number >= 0, got -1 (group 2, param 0)',
    );
    expectError(() => checkNumber('x', count, 'P', 'step', ' at groups[0]'), TypeError, 'P: invalid step at groups[0]: expected a whole number from 0 to 2^52, got string "x"');
    expect(invalid('P', 'name', 'a thing', 3, '', '!')).toBe('P: invalid name: expected a thing, got 3!');
  });
});

describe('checkBoolean', () => {
  it('returns a boolean', () => {
    expect(checkBoolean(true, 'X', 'centered')).toBe(true);
    expect(checkBoolean(false, 'X', 'centered')).toBe(false);
  });

  it.each([
    [0, '0'],
    ['true', 'string "true"'],
    [null, 'null'],
    [undefined, 'undefined'],
    [new Boolean(true), 'an instance of Boolean'],
  ] as const)('throws a TypeError for %o, naming where', (value, text) => {
    expectError(() => checkBoolean(value, 'X', 'centered', ' in group 1'), TypeError, `X: invalid centered in group 1: expected a boolean, got ${text}`);
  });
});

describe('at', () => {
  it('names a parameter by group and index', () => {
    expect(at(1, 3)).toBe('(group 1, param 3)');
  });
});

describe('isFloatArray', () => {
  it('is true for Float32Array and Float64Array of this realm, views included', () => {
    expect(isFloatArray(new Float32Array(2))).toBe(true);
    expect(isFloatArray(new Float64Array(0))).toBe(true);
    expect(isFloatArray(new Float32Array(8).subarray(2, 4))).toBe(true);
  });

  it('is false for a Proxy of one, an object with its prototype, other views and non-views', () => {
    expect(isFloatArray(new Proxy(new Float32Array(2), {}))).toBe(false);
    expect(isFloatArray(Object.create(Float64Array.prototype))).toBe(false);
    expect(isFloatArray(new Int32Array(2))).toBe(false);
    expect(isFloatArray(new DataView(new ArrayBuffer(8)))).toBe(false);
    expect(isFloatArray([1, 2])).toBe(false);
    expect(isFloatArray(null)).toBe(false);
    expect(isFloatArray(undefined)).toBe(false);
    expect(isFloatArray(1)).toBe(false);
  });

  it('is false, without throwing, for a revoked Proxy', () => {
    expect(isFloatArray(revoked(new Float32Array(2)))).toBe(false);
    expect(isFloatArray(revoked({}))).toBe(false);
  });

  it('is false for a typed array from another realm', async () => {
    expect(isFloatArray(await foreignArray('Float32Array', [1, 2]))).toBe(false);
    expect(isFloatArray(await foreignArray('Float64Array', [1]))).toBe(false);
  });
});

describe('checkFloatArray', () => {
  it('returns a float array, and null only when nullable', () => {
    const a = new Float64Array(3);
    expect(checkFloatArray(a, 'X', 'data', '', false)).toBe(a);
    expect(checkFloatArray(a, 'X', 'grad', '', true)).toBe(a);
    expect(checkFloatArray(null, 'X', 'grad', '', true)).toBeNull();
    expectError(() => checkFloatArray(null, 'X', 'data', at(0, 1), false), TypeError, 'X: invalid data: expected a Float32Array or Float64Array, got null (group 0, param 1)');
    expectError(() => checkFloatArray(undefined, 'X', 'grad', at(2, 0), true), TypeError, 'X: invalid grad: expected a Float32Array, Float64Array or null, got undefined (group 2, param 0)');
  });

  it('adds nothing after the value when `after` is empty', () => {
    expectError(() => checkFloatArray([1], 'X', 'data', '', false), TypeError, 'X: invalid data: expected a Float32Array or Float64Array, got an array of length 1');
    expectError(() => checkFloatArray(new Int32Array(2), 'X', 'data', '', true), TypeError, 'X: invalid data: expected a Float32Array, Float64Array or null, got an Int32Array of length 2');
  });

  it('says why a typed array from another realm or a Proxy is refused', async () => {
    const foreign = await foreignArray('Float32Array', [1, 2, 3]);
    expectError(() => checkFloatArray(foreign, 'X', 'data', at(0, 0), false), TypeError, `X: invalid data: expected a Float32Array or Float64Array, got a Float32Array of length 3 ${REALM} (group 0, param 0)`);
    expectError(() => checkFloatArray(new Proxy(new Float32Array(3), {}), 'X', 'grad', at(1, 2), true), TypeError, `X: invalid grad: expected a Float32Array, Float64Array or null, got ${POSING} (group 1, param 2)`);
    expectError(() => checkFloatArray(revoked(new Float32Array(3)), 'X', 'grad', '', true), TypeError, 'X: invalid grad: expected a Float32Array, Float64Array or null, got an object that throws when inspected (a revoked Proxy?)');
  });
});

describe('typeName', () => {
  it('names the element type', () => {
    expect(typeName(new Float32Array(1))).toBe('Float32Array');
    expect(typeName(new Float64Array(1))).toBe('Float64Array');
  });
});

describe('overlaps', () => {
  const buf = new Float32Array(16);
  it('is true only for views of one buffer that share at least one element', () => {
    expect(overlaps(buf.subarray(0, 4), buf.subarray(3, 8))).toBe(true);
    expect(overlaps(buf.subarray(3, 8), buf.subarray(0, 4))).toBe(true);
    expect(overlaps(buf.subarray(0, 4), buf.subarray(4, 8))).toBe(false);
    expect(overlaps(buf.subarray(4, 8), buf.subarray(0, 4))).toBe(false);
    expect(overlaps(buf.subarray(2, 3), buf)).toBe(true);
    expect(overlaps(buf, buf)).toBe(true);
    expect(overlaps(buf, new Float32Array(16))).toBe(false);
  });

  it('is false for empty views, even inside another view', () => {
    expect(overlaps(buf.subarray(5, 5), buf)).toBe(false);
    expect(overlaps(buf, buf.subarray(5, 5))).toBe(false);
    expect(overlaps(buf.subarray(5, 5), buf.subarray(5, 5))).toBe(false);
  });

  it('compares bytes, across element types', () => {
    const f64 = new Float64Array(buf.buffer, 8, 1); // bytes 8..16 = float32 elements 2 and 3
    expect(overlaps(f64, buf.subarray(3, 4))).toBe(true);
    expect(overlaps(f64, buf.subarray(4, 5))).toBe(false);
    expect(overlaps(f64, buf.subarray(1, 2))).toBe(false);
  });
});

describe('optionKeys', () => {
  const message = (): string => 'X: bad options';

  it('gives the own enumerable keys of an object', () => {
    const inherited = Object.create({ lr: 1 }) as Record<string, unknown>;
    inherited['alpha'] = 0.9;
    Object.defineProperty(inherited, 'hidden', { value: 1, enumerable: false });
    expect(optionKeys(inherited, message)).toEqual(['alpha']);
    expect(optionKeys({}, message)).toEqual([]);
    expect(optionKeys(Object.create(null), message)).toEqual([]);
  });

  it.each([
    ['an array', []],
    ['null', null],
    ['undefined', undefined],
    ['a number', 1],
    ['a string', 'lr'],
    ['a function', () => ({})],
  ] as const)('throws the TypeError for %s', (_what, value) => {
    expectError(() => optionKeys(value, message), TypeError, 'X: bad options');
  });

  it('throws the TypeError for a revoked Proxy, not the engine\'s error', () => {
    expectError(() => optionKeys(revoked({ lr: 1 }), message), TypeError, 'X: bad options');
    expectError(() => optionKeys(revoked([]), message), TypeError, 'X: bad options');
  });

  it('builds the message only when it throws', () => {
    let calls = 0;
    optionKeys({ lr: 1 }, () => (calls++, ''));
    expect(calls).toBe(0);
  });
});
