import { describe, expect, it } from 'vitest';
import { RMSProp, stateFromJSON, stateToJSON } from '../src/index.js';
import type { FloatArray, OptimizerOptions, ParamGroupSpec, RMSPropOptions, RMSPropStateDict } from '../src/index.js';
import { expectError } from './support/expect-error.js';
import v1 from './fixtures/rmsprop-v1-states.json' with { type: 'json' };

interface Param {
  readonly data: FloatArray;
  grad: FloatArray | null;
  readonly name?: string;
}

type Dtype = 'float32' | 'float64';

/** The 32-bit words of a buffer: a comparison that sees every bit (NaN payloads, -0). */
const words = (a: FloatArray): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.byteLength / 4));

/** Little-endian base64 to a typed array, decoded with atob (not with the codec under test). */
function fromBase64(text: string, dtype: Dtype): FloatArray {
  const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  return dtype === 'float64' ? new Float64Array(bytes.buffer) : new Float32Array(bytes.buffer);
}

/** A value with every typed array as its type and words, and -0 and NaN spelled out: toEqual then compares every bit. */
function exact(value: unknown): unknown {
  if (value instanceof Float32Array || value instanceof Float64Array) return { [value.constructor.name]: words(value) };
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : Number.isNaN(value) ? 'NaN' : value;
  if (Array.isArray(value)) return value.map(exact);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, exact(v)]));
  return value;
}

/** The message JSON.parse or JSON.stringify itself throws (it differs between engines). */
function nativeMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the call to throw');
}

// Bit patterns a text codec must keep: NaN payloads (quiet and signalling, both signs), -0,
// subnormals, infinities.
const F32 = [0x7fc00001, 0xffc12345, 0x7f800001, 0x80000000, 0x00000001, 0x807fffff, 0x7f800000, 0xff800000];
// Float64 as [low word, high word] pairs (little-endian).
const F64 = [[1, 0x7ff80000], [0xdeadbeef, 0xfff00000], [0, 0x80000000], [1, 0], [0xffffffff, 0x000fffff], [0, 0x7ff00000], [0, 0xfff00000]].flat();

const rotate = (a: readonly number[], k: number): number[] => [...a.slice(k), ...a.slice(0, k)];

function model(): Param[] {
  return [
    { name: 'w', data: new Float32Array(F32.length), grad: null },
    { data: new Float64Array(F64.length / 2), grad: null },
  ];
}

const GROUPS = (ps: readonly Param[]): ParamGroupSpec[] => [
  { params: [ps[0]!], momentum: 0.9, centered: true },
  { params: [ps[1]!], momentum: 0.5, centered: true, lr: 0.002 },
];

/** An optimizer whose state buffers hold the bit patterns above, each buffer in another order. */
function crafted(): RMSProp {
  const params = model();
  const opt = new RMSProp(GROUPS(params), { nonFinite: 'skip' });
  params[0]!.grad = new Float32Array(F32.length).fill(NaN);
  opt.step(); // skipped: skippedSteps 1
  params[0]!.grad = null;
  params.forEach((p, i) => {
    const s = opt.getState(p)!;
    const patterns = i === 0 ? F32 : F64;
    [s.squareAvg, s.gradAvg!, s.momentumBuffer!].forEach((b, k) => new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4).set(rotate(patterns, 2 * k)));
  });
  return opt;
}

function liveState(opt: RMSProp): unknown {
  return opt.paramGroups.map((g) => g.params.map((p) => {
    const s = opt.getState(p)!;
    return exact({ squareAvg: s.squareAvg, gradAvg: s.gradAvg, momentumBuffer: s.momentumBuffer, step: s.step });
  }));
}

describe('stateToJSON and stateFromJSON', () => {
  it('round-trip opt.stateDict() bit for bit: NaN payloads, -0, subnormals and infinities, float32 and float64', () => {
    const opt = crafted();
    const saved = opt.stateDict();
    expect(words(saved.groups[0]!.params[0]!.squareAvg)).toEqual(F32); // the patterns are in the saved state
    expect(words(saved.groups[1]!.params[0]!.gradAvg!)).toEqual(rotate(F64, 2));
    const back = stateFromJSON(stateToJSON(saved));
    expect(exact(back)).toEqual(exact(saved));
    expect(back.groups[1]!.params[0]!.squareAvg).toBeInstanceOf(Float64Array);
    // And it loads: the live state of a new optimizer holds the same bits.
    const other = new RMSProp(GROUPS(model()), { nonFinite: 'throw' });
    other.loadStateDict(back);
    expect(liveState(other)).toEqual(liveState(opt));
    expect(other.skippedSteps).toBe(1);
    expect(other.nonFinite).toBe('skip');
  });

  it('keep lr = -0 as -0', () => {
    const opt = new RMSProp([{ data: new Float32Array(2), grad: null }], { lr: -0 });
    const saved = opt.stateDict();
    expect(Object.is(saved.groups[0]!.hyper.lr, -0)).toBe(true);
    const text = stateToJSON(saved);
    expect(text).toContain('"lr":{"$number":"-0"}');
    const back = stateFromJSON(text);
    expect(Object.is(back.groups[0]!.hyper.lr, -0)).toBe(true);
    const other = new RMSProp([{ data: new Float32Array(2), grad: null }], { lr: 0.5 });
    other.loadStateDict(back);
    expect(Object.is(other.paramGroups[0]!.lr, -0)).toBe(true);
  });

  it('round-trip a checkpoint object holding a state and other values', () => {
    const opt = crafted();
    const checkpoint = {
      optimizer: opt.stateDict(),
      other: {
        x: Float64Array.of(1.5, -0, NaN, 5e-324, -Infinity),
        view: Float32Array.of(1, 2, 3, 4).subarray(1, 3), // only its own elements
        empty: new Float32Array(0),
        epoch: 3,
        numbers: [-0, NaN, Infinity, -Infinity, 0, 1e-310],
        tags: ['a', null, true, { nested: [Float32Array.of(-0)] }],
      },
    };
    const back = stateFromJSON<typeof checkpoint>(stateToJSON(checkpoint));
    expect(exact(back)).toEqual(exact(checkpoint));
    expect(exact(back.other.view)).toEqual({ Float32Array: words(Float32Array.of(2, 3)) });
    const other = new RMSProp(GROUPS(model()));
    other.loadStateDict(back.optimizer);
    expect(liveState(other)).toEqual(liveState(opt));
  });

  it('read a "__proto__" key as an own key, never as the prototype', () => {
    const text = '{"__proto__":{"polluted":{"$number":"NaN"}},"a":{"__proto__":{"$float32":"AACAPw=="}}}';
    const back = stateFromJSON<Record<string, unknown>>(text);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.keys(back)).toEqual(['__proto__', 'a']);
    const own = Object.getOwnPropertyDescriptor(back, '__proto__')!.value as Record<string, unknown>;
    expect(own['polluted']).toBeNaN();
    expect(back['polluted']).toBeUndefined();
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    const a = back['a'] as object;
    expect(Object.getPrototypeOf(a)).toBe(Object.prototype);
    expect(exact(Object.getOwnPropertyDescriptor(a, '__proto__')!.value)).toEqual({ Float32Array: words(Float32Array.of(1)) });
    expect(stateToJSON(back)).toBe(text); // and writes it back as it was
  });

  it('treat an object with a tag and another key as a plain object', () => {
    const back = stateFromJSON<Record<string, unknown>>('{"$float32":"AACAPw==","b":1}');
    expect(back).toEqual({ $float32: 'AACAPw==', b: 1 });
  });
});

describe('stateToJSON refuses', () => {
  it.each([
    ['an Int32Array', { x: Int32Array.of(1, 2) }, 'an Int32Array of length 2'],
    ['a Uint8Array', { x: new Uint8Array(3) }, 'a Uint8Array of length 3'],
    ['a Uint8Array deep in a state', { optimizer: { groups: [{ params: [{ squareAvg: new Uint8Array(4) }] }] } }, 'a Uint8Array of length 4'],
    ['a BigInt64Array', [new BigInt64Array(1)], 'a BigInt64Array of length 1'],
    ['a DataView', { x: new DataView(new ArrayBuffer(8)) }, 'a DataView of 8 bytes'],
  ])('%s (TypeError)', (_name, value, what) => {
    expectError(() => stateToJSON(value), TypeError, `stateToJSON: cannot encode ${what}: only Float32Array and Float64Array`);
  });

  it.each([
    ['an ArrayBuffer', { b: new ArrayBuffer(8) }, 'an instance of ArrayBuffer'],
    ['a Map', { m: new Map([[1, 2]]) }, 'an instance of Map'],
    ['a function', { f: () => 1 }, 'a function'],
  ])('%s, which JSON would silently empty or drop (TypeError)', (_name, value, what) => {
    expectError(() => stateToJSON(value), TypeError, `stateToJSON: cannot encode ${what}: only plain objects, arrays, numbers, strings, booleans, null and Float32Array or Float64Array`);
  });

  it('a bigint, a cycle, a detached array and nothing at all, each with a TypeError of its own', () => {
    expectError(() => stateToJSON({ n: 1n }), TypeError, 'stateToJSON: cannot encode bigint 1n: only plain objects, arrays, numbers, strings, booleans, null and Float32Array or Float64Array');
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expectError(() => stateToJSON(cyclic), TypeError, `stateToJSON: cannot encode: ${nativeMessage(() => JSON.stringify(cyclic))}`);
    const gone = new Float32Array(2);
    structuredClone(gone.buffer, { transfer: [gone.buffer] });
    expectError(() => stateToJSON({ gone }), TypeError, 'stateToJSON: cannot encode a Float32Array of length 0 (detached): only plain objects, arrays, numbers, strings, booleans, null and Float32Array or Float64Array');
    expectError(() => stateToJSON(undefined), TypeError, 'stateToJSON: cannot encode undefined');
  });
});

type Path = readonly (string | number)[];

/** Sets the value at `path` (keys and indices) in a parsed JSON value. */
function setAt(root: unknown, path: Path, value: unknown): void {
  let o = root as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  o[path.at(-1)!] = value;
}

/** A real saved state's text with the value at `path` of its encoded form replaced. */
function edited(path: Path, value: unknown): string {
  const parsed: unknown = JSON.parse(stateToJSON(crafted().stateDict()));
  setAt(parsed, path, value);
  return JSON.stringify(parsed);
}

describe('stateFromJSON refuses', () => {
  it.each([
    ['a number', 42, '42'],
    ['undefined', undefined, 'undefined'],
    ['an object (a state not encoded)', { format: 'rmsprop-state' }, 'an object'],
    ['bytes', new Uint8Array(2), 'a Uint8Array of length 2'],
  ])('%s instead of text (TypeError)', (_name, value, what) => {
    expectError(() => stateFromJSON(value as never), TypeError, `stateFromJSON: invalid text: expected a string, got ${what}`);
  });

  it.each([
    ['empty text', ''],
    ['a truncated object', '{"format":"rmsprop-state",'],
    ['single quotes', "{'a': 1}"],
    ['a bare NaN', 'NaN'],
    ['a trailing comma', '{"a":1,}'],
  ])('text that is not JSON: %s (SyntaxError, as JSON.parse)', (_name, text) => {
    expectError(() => stateFromJSON(text), SyntaxError, nativeMessage(() => JSON.parse(text)));
  });

  const AT = '$.groups[0].params[0].squareAvg';
  const F32_BAD = `stateFromJSON: ${AT} is not canonical base64 of whole float32 values`;
  it.each([
    ['bits set under the padding', { $float32: 'AAAAAAB=' }, F32_BAD],
    ['missing padding', { $float32: 'AAAAAA' }, F32_BAD],
    ['whitespace', { $float32: 'AAAA AAA=' }, F32_BAD],
    ['a character outside the alphabet', { $float32: 'AAAA!AAA' }, F32_BAD],
    ['URL-safe base64', { $float32: 'AAAA_-AA' }, F32_BAD],
    ['5 bytes: not whole float32 values', { $float32: 'AAAAAAA=' }, F32_BAD],
    ['4 bytes: not whole float64 values', { $float64: 'AAAAAA==' }, `stateFromJSON: ${AT} is not canonical base64 of whole float64 values`],
    ['a number under $float32', { $float32: 12 }, `stateFromJSON: ${AT} holds 12 under $float32, expected a string`],
    ['null under $float64', { $float64: null }, `stateFromJSON: ${AT} holds null under $float64, expected a string`],
    ['an array under $number', { $number: ['NaN'] }, `stateFromJSON: ${AT} holds an array of length 1 under $number, expected a string`],
  ])('an encoded buffer with %s, naming its path', (_name, bad, message) => {
    expectError(() => stateFromJSON(edited(['groups', 0, 'params', 0, 'squareAvg'], bad)), Error, message);
  });

  it.each(['0', '+0', '-0.0', 'nan', '+Infinity', 'inf', '1e999', ' NaN', '', '__proto__', 'toString'])(
    'a $number of %j: only -0, NaN, Infinity and -Infinity',
    (spelling) => {
      expectError(
        () => stateFromJSON(edited(['groups', 1, 'hyper', 'lr'], { $number: spelling })),
        Error,
        `stateFromJSON: $.groups[1].hyper.lr holds the number ${JSON.stringify(spelling)}; expected -0, NaN, Infinity or -Infinity`,
      );
    },
  );

  it('a $number that is a JSON number, even -0', () => {
    expectError(() => stateFromJSON('{"list":[1,{"$number":-0}]}'), Error, 'stateFromJSON: $.list[1] holds -0 under $number, expected a string');
  });

  it('nesting deeper than 64 levels below the top, naming the path', () => {
    const arrays = (n: number): string => '['.repeat(n) + ']'.repeat(n);
    const objects = (n: number): string => '{"a":'.repeat(n - 1) + '{}' + '}'.repeat(n - 1);
    expect(stateFromJSON<unknown>(arrays(65))).toEqual(JSON.parse(arrays(65))); // 64 levels below the top
    expect(stateFromJSON<unknown>(objects(65))).toEqual(JSON.parse(objects(65)));
    expectError(() => stateFromJSON(arrays(66)), Error, `stateFromJSON: $${'[0]'.repeat(65)} is nested more than 64 levels deep`);
    expectError(() => stateFromJSON(objects(66)), Error, `stateFromJSON: $${'.a'.repeat(65)} is nested more than 64 levels deep`);
    expectError(() => stateFromJSON(arrays(100_000)), Error, `stateFromJSON: $${'[0]'.repeat(65)} is nested more than 64 levels deep`);
  });
});

// ---------------------------------------------------------------------------------------------
// Version 1: the JSON that stateDict() itself returned in rmsprop 0.1, frozen by
// fixtures/make-v1-states.mjs from the old library.

interface V1Param {
  readonly name: string | null;
  readonly dtype: Dtype;
  readonly length: number;
  readonly step: number;
  readonly squareAvg: string;
  readonly gradAvg: string | null;
  readonly momentumBuffer: string | null;
}
interface V1State {
  readonly groups: readonly { readonly hyper: Record<string, unknown>; readonly params: readonly V1Param[] }[];
  readonly [key: string]: unknown;
}
interface Plain {
  readonly options: OptimizerOptions;
  readonly groups: readonly { readonly options: RMSPropOptions; readonly params: readonly number[] }[];
  readonly params: readonly { readonly name: string | null; readonly dtype: Dtype; readonly data: string }[];
  readonly state: V1State;
  readonly more: { readonly grads: readonly (readonly (readonly number[] | null)[])[]; readonly data: readonly string[] };
}

const plain = v1.plain as unknown as Plain;
const copyOf = (state: unknown): unknown => JSON.parse(JSON.stringify(state));

/** The fixture's parameters, holding their data as it was when the state was saved, in its groups. */
function fixtureRun(): { params: Param[]; opt: RMSProp } {
  const params = plain.params.map((p): Param => ({ data: fromBase64(p.data, p.dtype), grad: null, ...(p.name === null ? {} : { name: p.name }) }));
  const opt = new RMSProp(plain.groups.map((g) => ({ ...g.options, params: g.params.map((i) => params[i]!) })), plain.options);
  return { params, opt };
}

describe('stateFromJSON reads the version-1 JSON of rmsprop 0.1', () => {
  it('as a version-2 state with the same values, bit for bit', () => {
    const dict = stateFromJSON(JSON.stringify(plain.state));
    expect(Object.keys(dict).sort()).toEqual(['format', 'groups', 'nonFinite', 'skippedSteps', 'updates', 'version']);
    expect([dict.format, dict.version, dict.nonFinite, dict.skippedSteps, dict.updates]).toEqual(['rmsprop-state', 2, 'apply', 0, 4]);
    expect(dict.groups.map((g) => g.hyper)).toEqual(plain.state.groups.map((g) => g.hyper));
    dict.groups.forEach((g, gi) =>
      g.params.forEach((p, i) => {
        const e = plain.state.groups[gi]!.params[i]!;
        expect([p.name, p.step]).toEqual([e.name, e.step]);
        const decode = (b: string | null): unknown => b === null ? null : exact(fromBase64(b, e.dtype));
        expect(exact({ squareAvg: p.squareAvg, gradAvg: p.gradAvg, momentumBuffer: p.momentumBuffer })).toEqual({
          squareAvg: decode(e.squareAvg),
          gradAvg: decode(e.gradAvg),
          momentumBuffer: decode(e.momentumBuffer),
        });
      }),
    );
    // The fixture holds a NaN applied in the old run, with its payload.
    expect(words(dict.groups[0]!.params[0]!.squareAvg)[1]).toBe(0x7fc00123);
  });

  it('inside a checkpoint object too, converted where it is', () => {
    const nested = stateFromJSON<{ run: number; optimizer: RMSPropStateDict }>(JSON.stringify({ run: 3, optimizer: plain.state }));
    expect(nested.run).toBe(3);
    expect(nested.optimizer.version).toBe(2);
    expect(exact(nested.optimizer.groups[0]!.params[0]!.squareAvg)).toEqual(exact(stateFromJSON(JSON.stringify(plain.state)).groups[0]!.params[0]!.squareAvg));
  });

  it('that loads into an RMSProp and continues the run exactly as the old library did', () => {
    const { params, opt } = fixtureRun();
    opt.loadStateDict(stateFromJSON(JSON.stringify(plain.state)));
    for (const grads of plain.more.grads) {
      params.forEach((p, i) => {
        const g = grads[i]!;
        p.grad = g === null ? null : p.data instanceof Float64Array ? Float64Array.from(g) : Float32Array.from(g);
      });
      expect(opt.step()).toBe(true);
    }
    expect(params.map((p) => words(p.data))).toEqual(plain.more.data.map((d, i) => words(fromBase64(d, plain.params[i]!.dtype))));
    expect(opt.getState(params[0]!)!.step).toBe(7);
    expect(opt.getState(params[2]!)!.step).toBe(6); // no gradient on one step
  });

  it('which loadStateDict itself does not read: it points to stateFromJSON', () => {
    const { opt } = fixtureRun();
    expectError(
      () => opt.loadStateDict(copyOf(plain.state) as unknown as RMSPropStateDict),
      Error,
      'RMSProp.loadStateDict: invalid version: expected 2 (version 1 was text: read it with stateFromJSON), got 1',
    );
  });

  it('and refuses a state saved in the middle of a gradient-accumulation window', () => {
    expect(v1.accumulating.options.accumulate).toBe(3);
    expectError(
      () => stateFromJSON(JSON.stringify(v1.accumulating.state)),
      Error,
      "stateFromJSON: $.accumulated is 2: this version-1 state was saved in the middle of a gradient-accumulation window, which is MultiSteps' state now; resume from a state saved at a window boundary",
    );
  });

  it("and refuses a state with the bookkeeping of exact sparse rows ('exact' sparseStep)", () => {
    expectError(
      () => stateFromJSON(JSON.stringify(v1.sparse.state)),
      Error,
      "stateFromJSON: $.groups[0].params[1].rowsCurrent holds the bookkeeping of exact sparse updates, which is SparseRows' state now; it cannot be converted into an optimizer state",
    );
  });

  const P = 'stateFromJSON: $.groups';
  it.each<[string, Path, unknown, string]>([
    ['a buffer that is not base64', ['groups', 1, 'params', 1, 'squareAvg'], 'AAAA!AAA', `${P}[1].params[1].squareAvg is not valid base64`],
    ['a buffer that is not canonical base64', ['groups', 0, 'params', 0, 'momentumBuffer'], 'AAAAAAB=', `${P}[0].params[0].momentumBuffer is not valid base64`],
    ['a buffer of the wrong size', ['groups', 0, 'params', 1, 'gradAvg'], 'AAAAAAAAAAA=', `${P}[0].params[1].gradAvg holds 8 bytes, expected 24 (3 float64 values)`],
    ['a buffer that is not a string', ['groups', 1, 'params', 0, 'momentumBuffer'], 5, `${P}[1].params[0].momentumBuffer is not a base64 string`],
    ['a missing squareAvg', ['groups', 0, 'params', 0, 'squareAvg'], null, `${P}[0].params[0].squareAvg is missing`],
    ['a dtype that changed', ['groups', 0, 'params', 0, 'dtype'], 'float64', `${P}[0].params[0].squareAvg holds 20 bytes, expected 40 (5 float64 values)`],
    ['an unknown dtype', ['groups', 1, 'params', 1, 'dtype'], 'float16',
      `${P}[1].params[1] has dtype string "float16" and length 4; expected 'float32' or 'float64' and a whole number`],
    ['a length that is not whole', ['groups', 1, 'params', 0, 'length'], 2.5,
      `${P}[1].params[0] has dtype string "float32" and length 2.5; expected 'float32' or 'float64' and a whole number`],
    ['params that are not an array', ['groups', 1, 'params'], {}, `${P}[1].params is an object, expected an array`],
    ['groups that are not an array', ['groups'], null, `${P} is null, expected an array`],
  ])('and refuses a corrupt state: %s, naming its path', (_name, path, value, message) => {
    const state = copyOf(plain.state);
    setAt(state, path, value);
    expectError(() => stateFromJSON(JSON.stringify(state)), Error, message);
  });
});
