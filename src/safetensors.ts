// A byte codec for saved states: a safetensors file (docs/checkpoints.md has the layout), written
// in one allocation and read as views of the bytes, checked completely before anything is
// allocated. PyTorch's names for the buffers, so Python reads it without this library.
import { count, invalid, isDetached, isFloatArray } from './checks.js';
import { formatValue } from './format.js';
import { OPTION_NAMES } from './options.js';
import type { NonFinitePolicy } from './options.js';
import { RMSProp, liveState } from './optimizer.js';
import type { FloatArray } from './rmsprop-step.js';
import type { RMSPropStateDict, SavedGroupState, SavedParamState } from './state-dict.js';
import { NUMBERS, jsonNumber } from './state-json.js';

const E = 'encodeState';
const D = 'decodeState';
/** The largest header read, as safetensors' own reader limits it. */
const MAX_HEADER = 100_000_000;
/** The state buffers, by their name in the file (PyTorch's) and in the state dict. */
const BUFFERS = [
  ['square_avg', 'squareAvg'],
  ['grad_avg', 'gradAvg'],
  ['momentum_buffer', 'momentumBuffer'],
] as const;
/** Every dtype safetensors defines, with its size in bits: unknown ones are refused as such. */
const DTYPES: Readonly<Record<string, number>> = {
  BOOL: 8, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, I16: 16, U16: 16, F16: 16, BF16: 16,
  I32: 32, U32: 32, F32: 32, F64: 64, I64: 64, U64: 64, C64: 64, F4: 4, F6_E2M3: 6, F6_E3M2: 6,
};
// In every runtime this library supports (the lib setting is the language's alone).
declare const TextEncoder: new () => { encode(text: string): Uint8Array };
declare const TextDecoder: new (label: string, options: { fatal: boolean; ignoreBOM: boolean }) => { decode(bytes: Uint8Array): string };

/** Whether this platform stores numbers little-endian, as the file does (every current browser and Node platform). */
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A tensor to write: its name, element type and bytes. */
interface Out {
  readonly name: string;
  readonly f64: boolean;
  readonly shape: readonly number[];
  readonly data: FloatArray;
}

/**
 * Encodes a saved state as the bytes of a [safetensors](https://github.com/huggingface/safetensors)
 * file: per parameter its `step`, `square_avg`, `grad_avg` and `momentum_buffer` under PyTorch's
 * names (`<name or index>.square_avg`), the hyperparameters, format and version in
 * `__metadata__` (docs/checkpoints.md has the layout). Every bit is kept. Python reads it with
 * `safetensors` or with tools/torch_rmsprop_state.py, which loads it into `torch.optim.RMSprop`.
 *
 * Pass the optimizer itself to encode its live state with no copy but the file's (half the
 * memory of `encodeState(opt.stateDict())`, which copies the state first); pass a state dict to
 * encode a snapshot taken earlier.
 *
 * @throws TypeError or Error naming the field of a state dict that is not one `stateDict()` gives,
 *   or a name that is also the index of an unnamed parameter; what `stateDict()` throws.
 *
 * @example
 * ```ts
 * import { decodeState, encodeState } from 'rmsprop';
 *
 * const bytes = encodeState(opt);             // a Uint8Array: write it to a file, a Blob, OPFS
 * opt.loadStateDict(decodeState(bytes));      // later, or in another program
 * ```
 */
export function encodeState(state: RMSPropStateDict | RMSProp): Uint8Array<ArrayBuffer> {
  const { header, tensors, size } = layout(state, E);
  const bytes = new Uint8Array(size);
  bytes.set(header);
  let at = header.length;
  for (const t of tensors) {
    bytes.set(t, at);
    at += t.length;
  }
  return bytes;
}

/**
 * A file's parts, in order: the length and header (padded), then each tensor's bytes — views of
 * the state's own buffers where the platform is little-endian, as the file is (every current
 * browser and Node platform), little-endian copies elsewhere. For a writer that streams them
 * without first joining them.
 *
 * @internal
 */
export function layout(state: RMSPropStateDict | RMSProp, prefix: string): { readonly header: Uint8Array; readonly tensors: readonly Uint8Array[]; readonly size: number } {
  const dict = state instanceof RMSProp ? liveState(state) : checkDict(state, prefix);
  const tensors: Out[] = [];
  const keys = new Map<string, [index: number, named: boolean]>(); // who has each key
  let index = 0;
  const groups = dict.groups.map((g) => ({
    ...g.hyper,
    params: g.params.map((p) => {
      const key = p.name ?? String(index);
      const [other, named] = keys.get(key) ?? [-1, false];
      if (other >= 0 && named && p.name !== null) throw new Error(`${prefix}: parameters ${other} and ${index} are both named ${JSON.stringify(key)}`);
      if (other >= 0) throw new Error(`${prefix}: the parameter named ${JSON.stringify(key)} would share its tensors with parameter ${key}, which has no name: rename it`);
      keys.set(key, [index, p.name !== null]);
      index++;
      const f64 = p.squareAvg instanceof Float64Array;
      tensors.push({ name: `${key}.step`, f64: true, shape: [], data: new Float64Array([p.step]) });
      for (const [file, own] of BUFFERS) {
        const b = p[own];
        if (b !== null) tensors.push({ name: `${key}.${file}`, f64, shape: [b.length], data: b });
      }
      return p.name ?? index - 1;
    }),
  }));
  // Float64 tensors first: each tensor then starts at a multiple of its element size.
  const ordered = [...tensors.filter((t) => t.f64), ...tensors.filter((t) => !t.f64)];
  const metadata = {
    format: 'rmsprop-state',
    version: String(dict.version),
    nonFinite: dict.nonFinite,
    skippedSteps: String(dict.skippedSteps),
    updates: String(dict.updates),
    param_groups: JSON.stringify(groups, (_key, v: unknown) => (typeof v === 'number' ? jsonNumber(v) : v)),
  };
  const entries: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of ordered) {
    const end = offset + t.data.byteLength;
    entries[t.name] = { dtype: t.f64 ? 'F64' : 'F32', shape: t.shape, data_offsets: [offset, end] };
    offset = end;
  }
  const text = new TextEncoder().encode(JSON.stringify(entries));
  const n = text.length + ((8 - (text.length % 8)) % 8); // spaces up to a multiple of 8
  if (n > MAX_HEADER) {
    throw new Error(`${prefix}: the header would take ${n} bytes, over the 100 MB safetensors allows (${index} parameters, ${Math.round(n / index)} bytes of header each): give the parameters shorter names, or put small parameters into fewer, larger ones (views of one buffer)`);
  }
  const header = new Uint8Array(8 + n).fill(0x20, 8 + text.length);
  const view = new DataView(header.buffer);
  view.setUint32(0, n % 2 ** 32, true);
  view.setUint32(4, Math.floor(n / 2 ** 32), true);
  header.set(text, 8);
  return { header, tensors: ordered.map((t) => littleEndian(t.data)), size: 8 + n + offset };
}

/** A buffer's bytes, little-endian: a view of them on a little-endian platform, a copy elsewhere. */
function littleEndian(data: FloatArray): Uint8Array {
  if (LITTLE) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  const f64 = data instanceof Float64Array;
  for (let i = 0; i < data.length; i++) f64 ? view.setFloat64(8 * i, data[i]!, true) : view.setFloat32(4 * i, data[i]!, true);
  return out;
}

/** Checks that a state dict has the shape `stateDict()` gives (its values are `loadStateDict`'s to check). */
function checkDict(state: unknown, prefix: string): RMSPropStateDict {
  const bad = (path: string, allowed: string, value: unknown): never => {
    throw new TypeError(invalid(prefix, path, allowed, value));
  };
  const object = (x: unknown, path: string): Readonly<Record<string, unknown>> =>
    typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : bad(path, 'an object', x);
  const array = (x: unknown, path: string): readonly unknown[] => (Array.isArray(x) ? x : bad(path, 'an array', x));
  const s = object(state, 'state');
  if (s['format'] !== 'rmsprop-state') bad('format', '"rmsprop-state" (a state from stateDict(), or the optimizer)', s['format']);
  if (s['version'] !== 2) bad('version', '2', s['version']);
  if (typeof s['nonFinite'] !== 'string') bad('nonFinite', 'a string', s['nonFinite']);
  for (const key of ['skippedSteps', 'updates']) if (!count.ok(s[key])) bad(key, count.allowed, s[key]);
  array(s['groups'], 'groups').forEach((g, gi) => {
    const path = `groups[${gi}]`;
    const group = object(g, path);
    const hyper = object(group['hyper'], `${path}.hyper`);
    for (const [k, v] of Object.entries(hyper)) {
      if (!(OPTION_NAMES as readonly string[]).includes(k)) bad(`${path}.hyper`, `only the options ${OPTION_NAMES.join(', ')}`, k);
      if (typeof v !== 'number' && typeof v !== 'boolean' && !(k === 'lr' && v === 'schedule')) bad(`${path}.hyper.${k}`, 'a number or a boolean', v);
    }
    array(group['params'], `${path}.params`).forEach((e, i) => {
      const at = `${path}.params[${i}]`;
      const p = object(e, at);
      const name = p['name'];
      if (name !== null && (typeof name !== 'string' || name === '')) bad(`${at}.name`, 'a non-empty string or null', name);
      if (!count.ok(p['step'])) bad(`${at}.step`, count.allowed, p['step']);
      const given = p['squareAvg'];
      const first = isFloatArray(given) && !isDetached(given) ? given : bad(`${at}.squareAvg`, 'a Float32Array or Float64Array (not detached)', given);
      const type = first instanceof Float64Array ? 'Float64Array' : 'Float32Array';
      for (const [, own] of BUFFERS.slice(1)) {
        const b = p[own];
        if (b === null) continue;
        if (!isFloatArray(b) || b.constructor !== first.constructor || b.length !== first.length || isDetached(b)) {
          bad(`${at}.${own}`, `null or a ${type} of length ${first.length} (as squareAvg)`, b);
        }
      }
    });
  });
  return state as RMSPropStateDict;
}

/** A decoded tensor's place and kind. */
/** @internal */
export interface Entry {
  readonly name: string;
  readonly dtype: string;
  readonly length: number;
  readonly begin: number;
  readonly end: number;
}

/**
 * Reads the bytes of a safetensors file written by {@link encodeState} or by
 * tools/torch_rmsprop_state.py back into a state dict for `loadStateDict`. The file is checked
 * completely before anything is allocated: the header's length and bounds, its JSON (no key
 * given twice), `__metadata__`, every tensor's dtype, shape and offsets (back to back, covering
 * the data exactly), and that every tensor belongs to a parameter and every parameter has its
 * `step` and `square_avg`. The buffers are views of `bytes` where they are aligned (no copy;
 * they change if `bytes` does), single copies where not.
 *
 * @throws TypeError when `bytes` is not a Uint8Array or ArrayBuffer; Error naming what is wrong
 *   with the file (truncated, corrupt, or not a state written by this library or its helper).
 *
 * @example
 * ```ts
 * import { decodeState } from 'rmsprop';
 *
 * const bytes = new Uint8Array(await (await fetch('/checkpoint.safetensors')).arrayBuffer());
 * opt.loadStateDict(decodeState(bytes));
 * ```
 */
export function decodeState(bytes: Uint8Array | ArrayBuffer): RMSPropStateDict {
  const u8 = asBytes(bytes);
  if (u8 === null) throw new TypeError(invalid(D, 'bytes', 'a Uint8Array or ArrayBuffer (not detached)', bytes));
  const n = headerLength(u8, u8.length);
  const data = u8.subarray(8 + n);
  return materialize(planOf(u8.subarray(8, 8 + n), data.length), (e) => data.subarray(e.begin, e.end));
}

/** The bytes of a Uint8Array or ArrayBuffer, of this realm or another (an iframe's, a vm context's); null for anything else. */
function asBytes(x: unknown): Uint8Array | null {
  const tag = Object.prototype.toString.call(x);
  let u8: Uint8Array | null = null;
  if (tag === '[object ArrayBuffer]' || tag === '[object SharedArrayBuffer]') {
    try {
      u8 = new Uint8Array(x as ArrayBuffer);
    } catch {
      return null; // detached
    }
  }
  else if (ArrayBuffer.isView(x) && tag === '[object Uint8Array]') u8 = x instanceof Uint8Array ? x : new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  return u8 === null || isDetached(u8) ? null : u8;
}

/** A name in a message: quoted, and cut after 100 characters (a hostile header's names can be megabytes). */
function quote(name: string): string {
  return JSON.stringify(name.length > 100 ? `${name.slice(0, 100)}…` : name);
}

function fail(message: string): never {
  throw new Error(`${D}: ${message}`);
}

/**
 * The header's length, from the file's first 8 bytes, checked against the limit and the file's
 * `size`: what a reader needs before it reads the header.
 *
 * @internal
 */
export function headerLength(first: Uint8Array, size: number): number {
  if (size < 8 || first.length < 8) fail(`truncated: the file has ${size} bytes, fewer than the 8 of the header's length`);
  const view = new DataView(first.buffer, first.byteOffset, 8);
  const n = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  if (n > MAX_HEADER) fail(`the header's length is ${view.getBigUint64(0, true)} bytes, over the 100 MB safetensors allows (a corrupt file, or not a safetensors file)`);
  if (8 + n > size) fail(`truncated: the header's length is ${n} bytes, but the file ends ${size - 8} bytes after the length`);
  return n;
}

/** A checked header: the metadata, every tensor, and per group and parameter where its tensors are. @internal */
export interface Plan {
  readonly meta: Meta;
  readonly entries: readonly Entry[];
  readonly params: readonly (readonly { readonly key: string | number; readonly step: Entry; readonly buffers: readonly (Entry | undefined)[] }[])[];
}

/**
 * Checks a header (its bytes, after the length) against the size of the data region that
 * follows it, completely: what {@link decodeState} promises before it allocates anything.
 *
 * @internal
 */
export function planOf(bytes: Uint8Array, dataSize: number): Plan {
  const header = parseHeader(bytes);
  const metadata = header['__metadata__'];
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    fail(`the header has no __metadata__ object: not a state written by encodeState or tools/torch_rmsprop_state.py`);
  }
  const meta = readMetadata(metadata as Record<string, unknown>);
  // Every tensor: its dtype, shape and offsets, then all of them back to back.
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name !== '__metadata__') entries.push(readTensor(name, info, dataSize));
  }
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let reached = 0;
  for (const e of sorted) {
    if (e.begin !== reached) {
      fail(e.begin < reached ? `tensor ${quote(e.name)} (bytes ${e.begin} to ${e.end}) overlaps the tensor before it, which ends at ${reached}` : `the data has a gap of ${e.begin - reached} bytes before tensor ${quote(e.name)}`);
    }
    reached = e.end;
  }
  if (reached !== dataSize) fail(`the tensors end at byte ${reached} of the data, but the data has ${dataSize} bytes (the file is longer than its header says)`);
  // Every tensor to its parameter, every parameter with its step and squared average.
  const byName = new Map(entries.map((e) => [e.name, e]));
  const used = new Set<string>();
  const take = (name: string): Entry | undefined => {
    const e = byName.get(name);
    if (e !== undefined) used.add(name);
    return e;
  };
  const params = meta.groups.map((g) =>
    g.params.map((key) => {
      const k = String(key);
      const step = take(`${k}.step`) ?? fail(`parameter ${quote(k)} has no tensor ${quote(`${k}.step`)}`);
      if (!['F64', 'F32', 'I64', 'I32'].includes(step.dtype) || step.length !== 1) fail(`tensor ${quote(step.name)} is ${step.dtype} of ${step.length} elements; expected one F64 (or F32, I64, I32) value`);
      const buffers = BUFFERS.map(([file]) => take(`${k}.${file}`));
      const first: Entry = buffers[0] ?? fail(`parameter ${quote(k)} has no tensor ${quote(`${k}.square_avg`)}`);
      for (const b of buffers) {
        if (b === undefined) continue;
        if (b.dtype !== 'F32' && b.dtype !== 'F64') fail(`tensor ${quote(b.name)} is ${b.dtype}; expected F32 or F64`);
        if (b.dtype !== first.dtype || b.length !== first.length) fail(`tensor ${quote(b.name)} is ${b.dtype} of ${b.length} elements, but ${quote(first.name)} is ${first.dtype} of ${first.length}`);
      }
      return { key, step, buffers };
    }),
  );
  const stray = entries.find((e) => !used.has(e.name));
  if (stray !== undefined) fail(`tensor ${quote(stray.name)} belongs to no parameter of __metadata__.param_groups`);
  return { meta, entries, params };
}

/**
 * The state dict of a checked header, each tensor's bytes given by `bytes` (for a file in memory,
 * a view of its data region): views of those bytes where they are aligned, copies where not.
 *
 * @internal
 */
export function materialize(plan: Plan, bytes: (e: Entry) => Uint8Array): RMSPropStateDict {
  const read = (e: Entry): FloatArray => {
    const u8 = bytes(e);
    const T = e.dtype === 'F64' ? Float64Array : Float32Array;
    if (LITTLE && u8.byteOffset % T.BYTES_PER_ELEMENT === 0) return new T(u8.buffer as ArrayBuffer, u8.byteOffset, e.length);
    const out = new T(e.length);
    if (LITTLE) new Uint8Array(out.buffer, 0, out.byteLength).set(u8);
    else {
      const view = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
      for (let i = 0; i < e.length; i++) out[i] = T === Float64Array ? view.getFloat64(8 * i, true) : view.getFloat32(4 * i, true);
    }
    return out;
  };
  const scalar = (e: Entry): number => {
    const u8 = bytes(e);
    const view = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
    const value = e.dtype === 'F64' ? view.getFloat64(0, true) : e.dtype === 'F32' ? view.getFloat32(0, true) : e.dtype === 'I32' ? view.getInt32(0, true) : view.getBigInt64(0, true);
    if (typeof value === 'bigint' ? value < 0n || value > 2n ** 52n : !count.ok(value)) fail(`tensor ${quote(e.name)} holds ${typeof value === 'bigint' ? String(value) : formatValue(value)}; expected ${count.allowed}`);
    return Number(value);
  };
  const { meta } = plan;
  return {
    format: 'rmsprop-state',
    version: 2,
    nonFinite: meta.nonFinite,
    skippedSteps: meta.skippedSteps,
    updates: meta.updates,
    groups: meta.groups.map((g, gi): SavedGroupState => ({
      hyper: g.hyper as SavedGroupState['hyper'],
      params: plan.params[gi]!.map(({ key, step, buffers }): SavedParamState => {
        const [squareAvg, gradAvg, momentumBuffer] = buffers.map((b) => (b === undefined ? null : read(b)));
        return { name: typeof key === 'string' ? key : null, step: scalar(step), squareAvg: squareAvg!, gradAvg: gradAvg!, momentumBuffer: momentumBuffer! };
      }),
    })),
  };
}

/** The header's JSON object, refusing what is not UTF-8, not JSON, not an object, or gives a key twice. */
function parseHeader(bytes: Uint8Array): Record<string, unknown> {
  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    fail('the header is not UTF-8 text (a corrupt file, or not a safetensors file)');
  }
  if (text.charCodeAt(0) === 0xfeff) fail('the header starts with a byte order mark (U+FEFF), which a safetensors header may not');
  const value = parseJSON(text, 'the header');
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`the header is ${formatValue(value)}, not a JSON object`);
  return value as Record<string, unknown>;
}

/** JSON text parsed, with no key given twice in any object (JSON.parse would keep the last silently). */
function parseJSON(text: string, what: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    fail(`${what} is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  // The text is valid JSON: each object's keys are the strings that follow '{' or ',' in it.
  const stack: (Set<string> | null)[] = [];
  let key = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      let j = i + 1;
      while (text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c ? 2 : 1;
      const keys = stack[stack.length - 1];
      if (key && keys) {
        const k = JSON.parse(text.slice(i, j + 1)) as string;
        if (keys.has(k)) fail(`${what} gives the key ${quote(k)} twice in one object`);
        keys.add(k);
      }
      i = j;
    } else if (c === 0x7b) {
      stack.push(new Set());
      key = true;
    } else if (c === 0x5b) {
      stack.push(null);
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
    } else if (c === 0x2c) {
      key = stack[stack.length - 1] !== null;
    } else if (c === 0x3a) {
      key = false;
    }
  }
  return value;
}

/** The metadata of a state: format, version, counts and groups, checked. */
/** A state's metadata, checked. @internal */
export interface Meta {
  readonly nonFinite: NonFinitePolicy;
  readonly skippedSteps: number;
  readonly updates: number;
  readonly groups: readonly { readonly params: readonly (string | number)[]; readonly hyper: Record<string, unknown> }[];
}

function readMetadata(m: Record<string, unknown>): Meta {
  const field = (k: string): string => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? `.${k}` : `[${quote(k)}]`);
  for (const [k, v] of Object.entries(m)) if (typeof v !== 'string') fail(`__metadata__${field(k)} is ${formatValue(v)}; safetensors metadata values are strings`);
  const text = (k: string): string => (m[k] as string | undefined) ?? fail(`__metadata__ has no ${k}: not a state written by encodeState or tools/torch_rmsprop_state.py`);
  if (text('format') !== 'rmsprop-state') fail(`__metadata__.format is ${formatValue(m['format'])}; expected "rmsprop-state"`);
  if (text('version') !== '2') fail(`__metadata__.version is ${formatValue(m['version'])}; this release reads version "2"`);
  const whole = (k: string): number => {
    const s = text(k);
    const v = Number(s);
    return /^(0|[1-9][0-9]*)$/.test(s) && count.ok(v) ? v : fail(`__metadata__.${k} is ${formatValue(s)}; expected ${count.allowed} in decimal`);
  };
  const list = parseJSON(text('param_groups'), '__metadata__.param_groups');
  if (!Array.isArray(list)) fail(`__metadata__.param_groups is ${formatValue(list)}; expected a JSON array of groups`);
  const seen = new Set<string | number>();
  let position = 0;
  const groups = (list as unknown[]).map((g, gi) => {
    const where = `__metadata__.param_groups[${gi}]`;
    if (typeof g !== 'object' || g === null || Array.isArray(g)) fail(`${where} is ${formatValue(g)}; expected an object`);
    const { params, ...hyper } = g as Record<string, unknown>;
    if (!Array.isArray(params)) fail(`${where}.params is ${formatValue(params)}; expected an array of names and indices`);
    for (const key of params as unknown[]) {
      const ok = (typeof key === 'string' && key !== '') || (typeof key === 'number' && Number.isSafeInteger(key) && key >= 0);
      if (!ok) fail(`${where}.params holds ${formatValue(key)}; expected a parameter's name (a non-empty string) or index (a whole number)`);
      if (typeof key === 'number' && key !== position) fail(`${where}.params holds ${key} for the parameter at position ${position} (counting every group's): an unnamed parameter's key is its position`);
      if (seen.has(String(key))) fail(`${where}.params holds ${formatValue(key)}, which names a parameter already listed`);
      seen.add(String(key));
      position++;
    }
    for (const [k, v] of Object.entries(hyper)) hyper[k] = number(v, `${where}.${k}`);
    return { params: params as (string | number)[], hyper };
  });
  const policy = text('nonFinite');
  const nonFinite: NonFinitePolicy = policy === 'throw' || policy === 'skip' || policy === 'apply' ? policy : fail(`__metadata__.nonFinite is ${formatValue(policy)}; expected "throw", "skip" or "apply"`);
  return { nonFinite, skippedSteps: whole('skippedSteps'), updates: whole('updates'), groups };
}

/** A hyperparameter, with `{"$number": "-0"}` (and NaN, ±Infinity) read back as the number. */
function number(v: unknown, where: string): unknown {
  if (typeof v !== 'object' || v === null) return v;
  const entries = Object.entries(v);
  const text = entries.length === 1 && entries[0]![0] === '$number' ? entries[0]![1] : undefined;
  if (typeof text === 'string' && Object.hasOwn(NUMBERS, text)) return NUMBERS[text];
  const spelt = typeof text === 'string' ? `{"$number": ${JSON.stringify(text.slice(0, 40))}}` : formatValue(v);
  return fail(`${where} is ${spelt}; expected a number, a boolean, or {"$number": "-0" | "NaN" | "Infinity" | "-Infinity"}`);
}

/** One tensor's header entry, checked against the data region's size. */
function readTensor(name: string, info: unknown, data: number): Entry {
  const where = `tensor ${quote(name)}`;
  if (typeof info !== 'object' || info === null || Array.isArray(info)) fail(`${where} is described by ${formatValue(info)}; expected {dtype, shape, data_offsets}`);
  const { dtype, shape, data_offsets: offsets, ...rest } = info as Record<string, unknown>;
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) fail(`${where} has the unknown field ${quote(extra)}; expected dtype, shape and data_offsets`);
  if (typeof dtype !== 'string' || !Object.hasOwn(DTYPES, dtype)) fail(`${where} has the unknown dtype ${formatValue(dtype)}`);
  const whole = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  if (!Array.isArray(shape) || !shape.every(whole)) fail(`${where} has the shape ${formatValue(shape)}; expected an array of whole numbers`);
  const length = (shape as number[]).reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(length)) fail(`${where} has the shape [${String(shape)}], too many elements to address`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(whole)) fail(`${where} has data_offsets ${Array.isArray(offsets) && offsets.length === 2 ? `[${offsets.map((o: unknown) => formatValue(o)).join(', ')}]` : formatValue(offsets)}; expected [begin, end], whole numbers`);
  const [begin, end] = offsets as [number, number];
  if (begin > end) fail(`${where} has data_offsets [${begin}, ${end}]: it ends before it begins`);
  if (end > data) fail(`${where} has data_offsets [${begin}, ${end}], past the end of the data (${data} bytes): the file is truncated, or its header is wrong`);
  const bits = DTYPES[dtype as string]!;
  if ((end - begin) * 8 !== length * bits) fail(`${where} has ${end - begin} bytes, but ${length} ${String(dtype)} elements take ${(length * bits) / 8}`);
  return { name, dtype: dtype as string, length, begin, end };
}
