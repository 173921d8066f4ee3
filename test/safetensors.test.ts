import { describe, expect, it } from 'vitest';
import { RMSProp, SparseRows, cosineAnnealing, createArena, decodeState, encodeState } from '../src/index.js';
import type { FloatArray, ParamGroupSpec, RMSPropStateDict } from '../src/index.js';
import { expectError } from './support/expect-error.js';
import { normals, rng } from './support/random.js';
import { foreignBytes } from './support/realm.js';
import { bytes, snapshot } from './support/snapshot.js';

interface Param {
  readonly data: FloatArray;
  grad: FloatArray | null;
  readonly name?: string;
}

type T = Float32ArrayConstructor | Float64ArrayConstructor;

/** Two named parameters in two groups (momentum; centered), stepped twice. */
function build(type: T = Float32Array, seed = 1): { params: Param[]; opt: RMSProp } {
  const random = rng(seed);
  const params: Param[] = [
    { data: type.from(normals(random, 5)), grad: new type(5), name: 'w' },
    { data: type.from(normals(random, 3)), grad: new type(3), name: 'b' },
  ];
  const opt = new RMSProp([
    { params: [params[0]!], momentum: 0.9 },
    { params: [params[1]!], centered: true, lr: 0.05 },
  ]);
  for (let t = 0; t < 2; t++) {
    for (const p of params) p.grad!.set(normals(random, p.data.length));
    opt.step();
  }
  return { params, opt };
}

/** The header (as an object) and data region of a file. */
function split(file: Uint8Array): { header: Record<string, Record<string, unknown>>; data: Uint8Array } {
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n))) as Record<string, Record<string, unknown>>;
  return { header, data: file.slice(8 + n) };
}

/** A file from a header (an object, or its text as is) and a data region. */
function join(header: unknown, data: Uint8Array, length?: number): Uint8Array {
  const text = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(length ?? text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

/** The file of `build()`, with its header changed by `change`. */
function altered(change: (header: Record<string, Record<string, unknown>>, data: Uint8Array) => Uint8Array | void): Uint8Array {
  const { header, data } = split(encodeState(build().opt));
  return change(header, data) ?? join(header, data);
}

/** `__metadata__.param_groups`, changed by `change`. */
function groups(change: (g: Record<string, unknown>[]) => void): Uint8Array {
  return altered((h) => {
    const list = JSON.parse(h['__metadata__']!['param_groups'] as string) as Record<string, unknown>[];
    change(list);
    h['__metadata__']!['param_groups'] = JSON.stringify(list);
  });
}

const TEXT = `{"__metadata__":{"format":"rmsprop-state","version":"2","nonFinite":"throw","skippedSteps":"0","updates":"2","param_groups":"[]"}}`;

describe('encodeState', () => {
  it('writes a safetensors file: the header length, a space-padded JSON header, F64 tensors then F32, back to back', () => {
    const { opt } = build();
    const file = encodeState(opt);
    const n = Number(new DataView(file.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const text = new TextDecoder().decode(file.subarray(8, 8 + n));
    expect(text.trimEnd().length).toBeGreaterThan(text.length - 8);
    const { header, data } = split(file);
    const { __metadata__: meta, ...tensors } = header;
    expect(meta).toEqual({
      format: 'rmsprop-state',
      version: '2',
      nonFinite: 'throw',
      skippedSteps: '0',
      updates: '2',
      param_groups: JSON.stringify([
        ...opt.paramGroups.map(({ params: _, ...options }, i) => ({ ...options, params: [['w', 'b'][i]] })),
      ]),
    });
    expect(tensors).toEqual({
      'w.step': { dtype: 'F64', shape: [], data_offsets: [0, 8] },
      'b.step': { dtype: 'F64', shape: [], data_offsets: [8, 16] },
      'w.square_avg': { dtype: 'F32', shape: [5], data_offsets: [16, 36] },
      'w.momentum_buffer': { dtype: 'F32', shape: [5], data_offsets: [36, 56] },
      'b.square_avg': { dtype: 'F32', shape: [3], data_offsets: [56, 68] },
      'b.grad_avg': { dtype: 'F32', shape: [3], data_offsets: [68, 80] },
    });
    expect(data.length).toBe(80);
    const [w, b] = opt.paramGroups.flatMap((g) => g.params).map((p) => opt.getState(p)!);
    expect(new Float64Array(data.buffer, 0, 2)).toEqual(new Float64Array([2, 2]));
    expect(Array.from(data.subarray(16, 36))).toEqual(bytes(w!.squareAvg));
    expect(Array.from(data.subarray(68, 80))).toEqual(bytes(b!.gradAvg));
  });

  it('gives the same bytes from the optimizer (its live buffers) as from its stateDict()', () => {
    for (const type of [Float32Array, Float64Array]) {
      const { opt } = build(type);
      expect(encodeState(opt)).toEqual(encodeState(opt.stateDict()));
    }
  });

  it('keys unnamed parameters by their index over all groups, as torch numbers them', () => {
    const ps = [3, 2, 4].map((n) => ({ data: new Float32Array(n), grad: new Float32Array(n) }));
    const opt = new RMSProp([{ params: [ps[0]!] }, { params: [ps[1]!, { ...ps[2]!, name: 'x' }] }]);
    const { header } = split(encodeState(opt));
    expect(Object.keys(header)).toEqual(['__metadata__', '0.step', '1.step', 'x.step', '0.square_avg', '1.square_avg', 'x.square_avg']);
    expect(JSON.parse(header['__metadata__']!['param_groups'] as string)).toMatchObject([{ params: [0] }, { params: [1, 'x'] }]);
  });

  it('refuses a name that is also the index of an unnamed parameter, which would share its tensors', () => {
    const opt = new RMSProp([{ data: new Float32Array(1), grad: null }, { data: new Float32Array(1), grad: null, name: '0' }]);
    expectError(() => encodeState(opt), Error, 'encodeState: the parameter named "0" would share its tensors with parameter 0, which has no name: rename it');
  });

  it('refuses two parameters of one name in a state dict, naming both', () => {
    const state = new RMSProp([{ data: new Float32Array(1), grad: null, name: 'a' }, { data: new Float32Array(1), grad: null, name: 'b' }]).stateDict();
    const twice = { ...state, groups: [{ ...state.groups[0]!, params: state.groups[0]!.params.map((p) => ({ ...p, name: 'a' })) }] };
    expectError(() => encodeState(twice), Error, 'encodeState: parameters 0 and 1 are both named "a"');
    const digits = { ...state, groups: [{ ...state.groups[0]!, params: state.groups[0]!.params.map((p) => ({ ...p, name: '0' })) }] };
    expectError(() => encodeState(digits), Error, 'encodeState: parameters 0 and 1 are both named "0"');
  });

  it('refuses a named parameter whose name is the index of an unnamed one after it, naming which is which', () => {
    const opt = new RMSProp([{ data: new Float32Array(1), grad: null, name: '1' }, { data: new Float32Array(1), grad: null }]);
    expectError(() => encodeState(opt), Error, 'encodeState: the parameter named "1" would share its tensors with parameter 1, which has no name: rename it');
  });

  it('refuses a state whose header would pass the 100 MB safetensors allows, which no reader would read', () => {
    const name = 'x'.repeat(34_000_000);
    const opt = new RMSProp([{ data: new Float32Array(1), grad: null, name }]);
    let message = '';
    try {
      encodeState(opt);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^encodeState: the header would take 1020\d{5} bytes, over the 100 MB safetensors allows \(1 parameters, 1020\d{5} bytes of header each\): give the parameters shorter names, or put small parameters into fewer, larger ones \(views of one buffer\)$/);
  });

  it('writes zeros for a buffer switched on after the last step, as stateDict() does', () => {
    const { opt } = build();
    opt.paramGroups[1]!.momentum = 0.5;
    const decoded = decodeState(encodeState(opt));
    expect(decoded.groups[1]!.params[0]!.momentumBuffer).toEqual(new Float32Array(3));
  });

  it.each<[string, (s: Record<string, unknown>) => unknown, string]>([
    ['not an object', () => 7, 'encodeState: invalid state: expected an object, got 7'],
    ['another format', (s) => ({ ...s, format: 'x' }), 'encodeState: invalid format: expected "rmsprop-state" (a state from stateDict(), or the optimizer), got string "x"'],
    ['another version', (s) => ({ ...s, version: 1 }), 'encodeState: invalid version: expected 2, got 1'],
    ['updates not a count', (s) => ({ ...s, updates: -1 }), 'encodeState: invalid updates: expected a whole number from 0 to 2^52, got -1'],
    ['an unknown hyperparameter', (s) => ({ ...s, groups: [{ hyper: { rho: 0.9 }, params: [] }] }), 'encodeState: invalid groups[0].hyper: expected only the options lr, alpha, eps, weightDecay, momentum, centered, maximize, epsInSqrt, lrInMomentum, nesterov, initialAccumulator, biasCorrection, decoupledWeightDecay, frozen, got string "rho"'],
    ['a hyperparameter of the wrong type', (s) => ({ ...s, groups: [{ hyper: { alpha: '0.9' }, params: [] }] }), 'encodeState: invalid groups[0].hyper.alpha: expected a number or a boolean, got string "0.9"'],
    ['a buffer that is not a float array', (s) => ({ ...s, groups: [{ hyper: {}, params: [{ name: null, step: 0, squareAvg: [1] }] }] }), 'encodeState: invalid groups[0].params[0].squareAvg: expected a Float32Array or Float64Array (not detached), got an array of length 1'],
    ['buffers of two types', (s) => ({ ...s, groups: [{ hyper: {}, params: [{ name: null, step: 0, squareAvg: new Float32Array(2), gradAvg: new Float64Array(2), momentumBuffer: null }] }] }), 'encodeState: invalid groups[0].params[0].gradAvg: expected null or a Float32Array of length 2 (as squareAvg), got a Float64Array of length 2'],
    ['a step that is not a count', (s) => ({ ...s, groups: [{ hyper: {}, params: [{ name: null, step: 1.5, squareAvg: new Float32Array(2) }] }] }), 'encodeState: invalid groups[0].params[0].step: expected a whole number from 0 to 2^52, got 1.5'],
    ['an empty name', (s) => ({ ...s, groups: [{ hyper: {}, params: [{ name: '', step: 1, squareAvg: new Float32Array(2) }] }] }), 'encodeState: invalid groups[0].params[0].name: expected a non-empty string or null, got string ""'],
  ])('refuses a state dict with %s, naming the field', (_, change, message) => {
    const state = build().opt.stateDict() as unknown as Record<string, unknown>;
    expectError(() => encodeState(change(state) as RMSPropStateDict), TypeError, message);
  });

  it('refuses a detached buffer', () => {
    const state = build().opt.stateDict();
    structuredClone(state.groups[0]!.params[0]!.squareAvg.buffer, { transfer: [state.groups[0]!.params[0]!.squareAvg.buffer as ArrayBuffer] });
    expectError(() => encodeState(state), TypeError, 'encodeState: invalid groups[0].params[0].squareAvg: expected a Float32Array or Float64Array (not detached), got a Float32Array of length 0 (detached)');
  });
});

describe('decodeState', () => {
  it.each([Float32Array, Float64Array])('gives back every bit (%o): NaN payloads, -0, subnormals, lr -0, a schedule', (type) => {
    const { params, opt } = build(type);
    const s = opt.getState(params[0]!)!;
    const special = type === Float32Array ? new Uint32Array([0x7fc00001, 0x80000000, 0x00000001, 0xffffffff]) : new Uint32Array([1, 0x7ff80000, 0, 0x80000000, 1, 0, 0, 0]);
    new Uint8Array(s.squareAvg.buffer, s.squareAvg.byteOffset).set(new Uint8Array(special.buffer));
    opt.paramGroups[0]!.lr = -0;
    opt.paramGroups[1]!.lr = cosineAnnealing(0.1, { tMax: 100 });
    const decoded = decodeState(encodeState(opt));
    expect(Object.is(decoded.groups[0]!.hyper.lr, -0)).toBe(true);
    expect(decoded.groups[1]!.hyper.lr).toBe('schedule');
    const twin = build(type).opt;
    twin.paramGroups[1]!.lr = cosineAnnealing(0.1, { tMax: 100 });
    twin.loadStateDict(decoded);
    expect(snapshot(twin)).toEqual({ ...(snapshot(opt) as object), groups: (snapshot(opt) as { groups: { lr: unknown }[] }).groups.map((g, i) => (i === 1 ? { ...g, lr: twin.paramGroups[1]!.lr } : g)) });
  });

  it('hands out views of the bytes where they are aligned, and copies where not', () => {
    const file = encodeState(build().opt);
    const decoded = decodeState(file);
    expect(decoded.groups[0]!.params[0]!.squareAvg.buffer).toBe(file.buffer);
    const shifted = new Uint8Array(file.length + 1).subarray(1);
    shifted.set(file);
    const copied = decodeState(shifted);
    expect(copied.groups[0]!.params[0]!.squareAvg.buffer).not.toBe(shifted.buffer);
    expect(copied).toEqual(decoded);
    expect(decodeState(file.slice().buffer)).toEqual(decoded); // an ArrayBuffer too
  });

  it('a state saved, then stepped away from and loaded back, continues exactly as the run that was never interrupted', () => {
    const a = build();
    const b = build();
    const file = encodeState(a.opt);
    const random = rng(9);
    const grads = [0, 1, 2].map(() => a.params.map((p) => normals(random, p.data.length)));
    const saved = b.params.map((p) => p.data.slice());
    for (const g of grads) {
      b.params.forEach((p, i) => p.grad!.set(g[i]!));
      b.opt.step();
    }
    b.params.forEach((p, i) => p.data.set(saved[i]!));
    b.opt.loadStateDict(decodeState(file));
    for (const run of [a, b]) {
      for (const g of grads) {
        run.params.forEach((p, i) => p.grad!.set(g[i]!));
        run.opt.step();
      }
    }
    expect(snapshot(b.opt)).toEqual(snapshot(a.opt));
  });

  it('works with an arena: encoded from its views, decoded into another arena', () => {
    const make = () => {
      const arena = createArena(64);
      const p = { data: arena.alloc(8), grad: arena.alloc(8), name: 'w' };
      p.data.set([1, 2, 3, 4, 5, 6, 7, 8]);
      p.grad.fill(0.5);
      return { p, opt: new RMSProp([p], { arena, momentum: 0.9 }) };
    };
    const a = make();
    a.opt.step();
    const b = make();
    b.opt.loadStateDict(decodeState(encodeState(a.opt)));
    expect(bytes(b.opt.getState(b.p)!.momentumBuffer)).toEqual(bytes(a.opt.getState(a.p)!.momentumBuffer));
    expect(b.opt.getState(b.p)!.step).toBe(1);
  });

  it('keeps what SparseRows changed in the optimizer (its own bookkeeping is its stateDict())', () => {
    const make = () => {
      const p = { data: new Float32Array(6).fill(1), grad: null, name: 'emb' };
      const opt = new RMSProp([p], { momentum: 0.5 });
      return { p, opt, rows: new SparseRows(opt) };
    };
    const a = make();
    a.rows.step(a.p, { width: 2, rows: [2, 0], grad: new Float32Array([1, 2, 3, 4]) });
    const b = make();
    b.opt.loadStateDict(decodeState(encodeState(a.opt)));
    expect(bytes(b.opt.getState(b.p)!.squareAvg)).toEqual(bytes(a.opt.getState(a.p)!.squareAvg));
  });

  const cases: [string, () => Uint8Array | ArrayBuffer, string][] = [
    ['7 bytes', () => new Uint8Array(7), 'decodeState: truncated: the file has 7 bytes, fewer than the 8 of the header\'s length'],
    ['a header length past the end', () => join(TEXT, new Uint8Array(0), TEXT.length + 1), `decodeState: truncated: the header's length is ${TEXT.length + 1} bytes, but the file ends ${TEXT.length} bytes after the length`],
    ['a header over 100 MB', () => join(TEXT, new Uint8Array(0), 100_000_001), "decodeState: the header's length is 100000001 bytes, over the 100 MB safetensors allows (a corrupt file, or not a safetensors file)"],
    ['a header length over 2^32', () => join(TEXT, new Uint8Array(0), 2 ** 32 + TEXT.length), `decodeState: the header's length is ${2 ** 32 + TEXT.length} bytes, over the 100 MB safetensors allows (a corrupt file, or not a safetensors file)`],
    ['a header that is not UTF-8', () => { const f = join(TEXT, new Uint8Array(0)); f[9] = 0xff; return f; }, 'decodeState: the header is not UTF-8 text (a corrupt file, or not a safetensors file)'],
    ['a header that is not JSON', () => join('{"a": NaN}', new Uint8Array(0)), `decodeState: the header is not valid JSON (${jsonError('{"a": NaN}')})`],
    ['a header that is an array', () => join('[1]', new Uint8Array(0)), 'decodeState: the header is an array of length 1, not a JSON object'],
    ['a key given twice', () => join(`{"x":1,"x":2}`, new Uint8Array(0)), 'decodeState: the header gives the key "x" twice in one object'],
    ['a key given twice, deep inside', () => join(TEXT.replace('"version":"2"', '"version":"2","version":"2"'), new Uint8Array(0)), 'decodeState: the header gives the key "version" twice in one object'],
    ['no __metadata__', () => join('{}', new Uint8Array(0)), 'decodeState: the header has no __metadata__ object: not a state written by encodeState or tools/torch_rmsprop_state.py'],
    ['a metadata value that is not a string', () => join(TEXT.replace('"updates":"2"', '"updates":2'), new Uint8Array(0)), 'decodeState: __metadata__.updates is 2; safetensors metadata values are strings'],
    ['another format', () => join(TEXT.replace('rmsprop-state', 'adam'), new Uint8Array(0)), 'decodeState: __metadata__.format is string "adam"; expected "rmsprop-state"'],
    ['version 1', () => join(TEXT.replace('"version":"2"', '"version":"1"'), new Uint8Array(0)), 'decodeState: __metadata__.version is string "1"; this release reads version "2"'],
    ['no updates', () => join(TEXT.replace('"updates":"2",', ''), new Uint8Array(0)), 'decodeState: __metadata__ has no updates: not a state written by encodeState or tools/torch_rmsprop_state.py'],
    ['updates in another spelling', () => join(TEXT.replace('"updates":"2"', '"updates":"2e0"'), new Uint8Array(0)), 'decodeState: __metadata__.updates is string "2e0"; expected a whole number from 0 to 2^52 in decimal'],
    ['param_groups not JSON', () => join(TEXT.replace('"param_groups":"[]"', '"param_groups":"[,]"'), new Uint8Array(0)), `decodeState: __metadata__.param_groups is not valid JSON (${jsonError('[,]')})`],
    ['param_groups not an array', () => join(TEXT.replace('"param_groups":"[]"', '"param_groups":"{}"'), new Uint8Array(0)), 'decodeState: __metadata__.param_groups is an object; expected a JSON array of groups'],
    ['a group without params', () => groups((g) => delete g[0]!['params']), 'decodeState: __metadata__.param_groups[0].params is undefined; expected an array of names and indices'],
    ['a parameter key that is a fraction', () => groups((g) => (g[1]!['params'] = [1.5])), 'decodeState: __metadata__.param_groups[1].params holds 1.5; expected a parameter\'s name (a non-empty string) or index (a whole number)'],
    ['a parameter listed twice', () => groups((g) => (g[1]!['params'] = ['w'])), 'decodeState: __metadata__.param_groups[1].params holds string "w", which names a parameter already listed'],
    ['a nonFinite policy that does not exist', () => join(TEXT.replace('"nonFinite":"throw"', '"nonFinite":"ignore"'), new Uint8Array(0)), 'decodeState: __metadata__.nonFinite is string "ignore"; expected "throw", "skip" or "apply"'],
    ['an index that is not the parameter\'s position', () => groups((g) => (g[1]!['params'] = [0])), 'decodeState: __metadata__.param_groups[1].params holds 0 for the parameter at position 1 (counting every group\'s): an unnamed parameter\'s key is its position'],
    ['a number spelt wrong', () => groups((g) => (g[0]!['lr'] = { $number: 'NaNa' })), 'decodeState: __metadata__.param_groups[0].lr is {"$number": "NaNa"}; expected a number, a boolean, or {"$number": "-0" | "NaN" | "Infinity" | "-Infinity"}'],
    ['an unknown dtype', () => altered((h) => void (h['w.square_avg']!['dtype'] = 'F33')), 'decodeState: tensor "w.square_avg" has the unknown dtype string "F33"'],
    ['a dtype no buffer can have', () => altered((h) => void Object.assign(h['b.grad_avg']!, { dtype: 'F16', shape: [6] })), 'decodeState: tensor "b.grad_avg" is F16; expected F32 or F64'],
    ['a shape with a negative size', () => altered((h) => void (h['w.square_avg']!['shape'] = [-5])), 'decodeState: tensor "w.square_avg" has the shape an array of length 1; expected an array of whole numbers'],
    ['a tensor with an unknown field', () => altered((h) => void (h['w.step']!['strides'] = [1])), 'decodeState: tensor "w.step" has the unknown field "strides"; expected dtype, shape and data_offsets'],
    ['offsets that are not numbers', () => altered((h) => void (h['w.step']!['data_offsets'] = ['0', '8'])), 'decodeState: tensor "w.step" has data_offsets [string "0", string "8"]; expected [begin, end], whole numbers'],
    ['offsets ending before they begin', () => altered((h) => void (h['w.step']!['data_offsets'] = [8, 0])), 'decodeState: tensor "w.step" has data_offsets [8, 0]: it ends before it begins'],
    ['offsets past the end', () => altered((h) => void (h['b.grad_avg']!['data_offsets'] = [68, 84])), 'decodeState: tensor "b.grad_avg" has data_offsets [68, 84], past the end of the data (80 bytes): the file is truncated, or its header is wrong'],
    ['a size that does not fit the shape', () => altered((h) => void (h['b.grad_avg']!['shape'] = [2])), 'decodeState: tensor "b.grad_avg" has 12 bytes, but 2 F32 elements take 8'],
    ['overlapping tensors', () => altered((h) => void Object.assign(h['b.grad_avg']!, { data_offsets: [64, 76] })), 'decodeState: tensor "b.grad_avg" (bytes 64 to 76) overlaps the tensor before it, which ends at 68'],
    ['a gap between tensors', () => altered((h, d) => { h['b.grad_avg']!['data_offsets'] = [72, 84]; return join(h, new Uint8Array([...d, 0, 0, 0, 0])); }), 'decodeState: the data has a gap of 4 bytes before tensor "b.grad_avg"'],
    ['data past the last tensor', () => altered((h, d) => join(h, new Uint8Array([...d, 0]))), 'decodeState: the tensors end at byte 80 of the data, but the data has 81 bytes (the file is longer than its header says)'],
    ['a tensor of no parameter', () => altered((h, d) => { h['ghost.square_avg'] = { dtype: 'F32', shape: [1], data_offsets: [80, 84] }; return join(h, new Uint8Array([...d, 0, 0, 0, 0])); }), 'decodeState: tensor "ghost.square_avg" belongs to no parameter of __metadata__.param_groups'],
    ['a parameter without its square_avg', () => altered((h, d) => { delete h['b.grad_avg']; h['b.square_avg']!['data_offsets'] = [56, 68]; delete h['b.square_avg']; h['w.momentum_buffer']!['data_offsets'] = [36, 56]; return join(h, d.subarray(0, 56)); }), 'decodeState: parameter "b" has no tensor "b.square_avg"'],
    ['a parameter without its step', () => groups((g) => (g[1]!['params'] = ['b', 'c'])), 'decodeState: parameter "c" has no tensor "c.step"'],
    ['a step of the wrong dtype', () => altered((h) => void Object.assign(h['w.step']!, { dtype: 'U8', shape: [8] })), 'decodeState: tensor "w.step" is U8 of 8 elements; expected one F64 (or F32, I64, I32) value'],
    ['a step that is not a count', () => altered((h, d) => { new DataView(d.buffer).setFloat64(0, -1, true); return join(h, d); }), 'decodeState: tensor "w.step" holds -1; expected a whole number from 0 to 2^52'],
    ['buffers of one parameter in two dtypes', () => altered((h) => void Object.assign(h['w.momentum_buffer']!, { dtype: 'I32' })), 'decodeState: tensor "w.momentum_buffer" is I32; expected F32 or F64'],
    ['buffers of one parameter of two lengths', () => altered((h, d) => { Object.assign(h['b.grad_avg']!, { shape: [2], data_offsets: [68, 76] }); return join(h, d.subarray(0, 76)); }), 'decodeState: tensor "b.grad_avg" is F32 of 2 elements, but "b.square_avg" is F32 of 3'],
  ];

  it.each(cases)('refuses %s, naming what is wrong, and the optimizer loading it is unchanged', (_, make, message) => {
    const bytes = make();
    expectError(() => decodeState(bytes), Error, message);
    const { opt } = build(Float32Array, 7);
    const twin = build(Float32Array, 7).opt;
    expectError(() => opt.loadStateDict(decodeState(bytes)), Error, message);
    expect(snapshot(opt)).toEqual(snapshot(twin));
  });

  it('refuses a file truncated at any byte, in every region, with an error that says so', () => {
    const file = encodeState(build().opt);
    const n = Number(new DataView(file.buffer).getBigUint64(0, true));
    for (let length = 0; length < file.length; length++) {
      const region = length < 8 ? 'length' : length < 8 + n ? 'header' : 'data';
      let message = '';
      try {
        decodeState(file.slice(0, length));
      } catch (error) {
        message = (error as Error).message;
      }
      if (region === 'data') expect(message, `cut at ${length}`).toMatch(/^decodeState: tensor "[a-z._]+" has data_offsets \[\d+, \d+\], past the end of the data \(\d+ bytes\): the file is truncated, or its header is wrong$/);
      else expect(message, `cut at ${length}`).toMatch(/^decodeState: truncated: /);
    }
  });

  it('reads bytes from another realm (an iframe, a vm context)', async () => {
    const file = encodeState(build().opt);
    const foreign = await foreignBytes(file);
    expect(decodeState(foreign)).toEqual(decodeState(file));
    expect(decodeState(foreign.buffer as ArrayBuffer)).toEqual(decodeState(file));
  });

  it('names a value too deep or too long to print by its kind, in a short message', () => {
    const deep = `[{"lr":${'['.repeat(20_000)}0${']'.repeat(20_000)},"params":["w","b"]}]`;
    const file = altered((h) => void (h['__metadata__']!['param_groups'] = deep));
    expectError(() => decodeState(file), Error, 'decodeState: __metadata__.param_groups[0].lr is an array of length 1; expected a number, a boolean, or {"$number": "-0" | "NaN" | "Infinity" | "-Infinity"}');
    const wide = altered((h) => void (h['w.step']!['data_offsets'] = new Array(1_000_000).fill(0)));
    expectError(() => decodeState(wide), Error, 'decodeState: tensor "w.step" has data_offsets an array of length 1000000; expected [begin, end], whole numbers');
    const long = altered((h) => void (h['w.step']!['x'.repeat(1000)] = 1));
    expectError(() => decodeState(long), Error, `decodeState: tensor "w.step" has the unknown field "${'x'.repeat(100)}…"; expected dtype, shape and data_offsets`);
  });

  it('shows an I64 step beyond float64\'s integers as it is written', () => {
    const file = altered((h, d) => {
      Object.assign(h['w.step']!, { dtype: 'I64' });
      new DataView(d.buffer).setBigInt64(0, 2n ** 53n + 1n, true);
      return join(h, d);
    });
    expectError(() => decodeState(file), Error, 'decodeState: tensor "w.step" holds 9007199254740993; expected a whole number from 0 to 2^52');
  });

  it('quotes a metadata key it names, and gives a header length beyond 2^53 as written', () => {
    expectError(() => decodeState(join(TEXT.replace('"updates":"2"', '"updates":"2","x\\n[INFO] ok":1'), new Uint8Array(0))), Error, 'decodeState: __metadata__["x\\n[INFO] ok"] is 1; safetensors metadata values are strings');
    const file = join(TEXT, new Uint8Array(0));
    new DataView(file.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
    expectError(() => decodeState(file), Error, "decodeState: the header's length is 18446744073709551615 bytes, over the 100 MB safetensors allows (a corrupt file, or not a safetensors file)");
  });

  it('refuses a header that starts with a byte order mark, as safetensors\' readers do', () => {
    expectError(() => decodeState(join(`\ufeff${TEXT}`, new Uint8Array(0))), Error, 'decodeState: the header starts with a byte order mark (U+FEFF), which a safetensors header may not');
  });

  it('refuses a detached ArrayBuffer with its own message', () => {
    const buffer = new ArrayBuffer(16);
    structuredClone(buffer, { transfer: [buffer] });
    expectError(() => decodeState(buffer), TypeError, 'decodeState: invalid bytes: expected a Uint8Array or ArrayBuffer (not detached), got an instance of ArrayBuffer');
  });

  it('refuses what is not bytes', () => {
    expectError(() => decodeState('{}' as unknown as Uint8Array), TypeError, 'decodeState: invalid bytes: expected a Uint8Array or ArrayBuffer (not detached), got string "{}"');
    expectError(() => decodeState(new Float32Array(4) as unknown as Uint8Array), TypeError, 'decodeState: invalid bytes: expected a Uint8Array or ArrayBuffer (not detached), got a Float32Array of length 4');
  });
});

describe('a decoded file that does not fit the optimizer: loadStateDict refuses it and changes nothing', () => {
  const other = (change: (groups: ParamGroupSpec[], params: Param[]) => ParamGroupSpec[], type: T = Float32Array): RMSProp => {
    const { params, opt } = build(type);
    void opt;
    return new RMSProp(change([{ params: [params[0]!], momentum: 0.9 }, { params: [params[1]!], centered: true, lr: 0.05 }], params));
  };

  it.each<[string, () => RMSProp, string]>([
    ['a float64 file into float32 parameters', () => build(Float32Array, 2).opt, 'RMSProp.loadStateDict: invalid groups[0].params[0].squareAvg: expected a Float32Array of length 5 (every state needs it), got a Float64Array of length 5'],
    ['parameters of other lengths', () => new RMSProp([{ params: [{ data: new Float64Array(4), grad: null, name: 'w' }], momentum: 0.9 }, { params: [{ data: new Float64Array(3), grad: null, name: 'b' }], centered: true }]), 'RMSProp.loadStateDict: invalid groups[0].params[0].squareAvg: expected a Float64Array of length 4 (every state needs it), got a Float64Array of length 5'],
    ['one group less', () => other((g) => [{ params: [...g[0]!.params, ...g[1]!.params] }], Float64Array), 'RMSProp.loadStateDict: invalid groups: expected an array of 1 groups, got an array of length 2'],
    ['other names', () => new RMSProp([{ params: [{ data: new Float64Array(5), grad: null, name: 'w' }], momentum: 0.9 }, { params: [{ data: new Float64Array(3), grad: null, name: 'bias' }], centered: true }]), 'RMSProp.loadStateDict: invalid groups: expected a state named "bias" for (group 1, param 0), got the names "w", "b"'],
  ])('%s', (_, target, message) => {
    const file = encodeState(build(Float64Array).opt);
    const opt = target();
    const before = snapshot(opt);
    expectError(() => opt.loadStateDict(decodeState(file)), Error, message);
    expect(snapshot(opt)).toEqual(before);
  });

  it('a momentum buffer missing where the group has momentum', () => {
    const file = altered((h, d) => {
      delete h['w.momentum_buffer'];
      for (const k of ['b.square_avg', 'b.grad_avg']) (h[k]!['data_offsets'] as number[]).forEach((v, i, a) => (a[i] = v - 20));
      return join(h, new Uint8Array([...d.subarray(0, 36), ...d.subarray(56)]));
    });
    const { opt } = build(Float32Array, 3);
    const twin = build(Float32Array, 3).opt;
    expectError(() => opt.loadStateDict(decodeState(file)), Error, 'RMSProp.loadStateDict: invalid groups[0].params[0].momentumBuffer: expected a Float32Array of length 5 (momentum 0.9 needs it), got null');
    expect(snapshot(opt)).toEqual(snapshot(twin));
  });
});

function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  return '';
}
