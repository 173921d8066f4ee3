import { describe, expect, it } from 'vitest';
import { RMSProp, decodeState, encodeState, presets, stateFromJSON, stateToJSON } from '../src/index.js';
import type { FloatArray, OptimizerOptions, ParamGroupSpec, RMSPropStateDict } from '../src/index.js';
import { expectError } from './support/expect-error.js';
import { bytes, snapshot } from './support/snapshot.js';
import { normals, rng } from './support/random.js';

interface Param {
  readonly data: FloatArray;
  grad: FloatArray | null;
  readonly name?: string;
}

function model(seed: number, named: boolean, T: Float32ArrayConstructor | Float64ArrayConstructor = Float32Array): Param[] {
  const random = rng(seed);
  return [6, 1, 17, 4].map((n, i) => ({ data: T.from(normals(random, n)), grad: new T(n), ...(named ? { name: `layer${i}` } : {}) }));
}

function copy(params: readonly Param[]): Param[] {
  return params.map((p) => ({ ...p, data: p.data.slice(), grad: p.grad && p.grad.slice() }));
}

function groups(ps: readonly Param[]): ParamGroupSpec[] {
  return [
    { params: [ps[0]!, ps[1]!], momentum: 0.9, centered: true },
    { params: [ps[2]!, ps[3]!], lr: 0.05, biasCorrection: true, nesterov: true, momentum: 0.5 },
  ];
}

function feed(params: readonly Param[], seed: number): void {
  const random = rng(seed);
  for (const p of params) p.grad!.set(normals(random, p.data.length, 3));
}

const ROUND_TRIPS: [string, (s: RMSPropStateDict) => RMSPropStateDict][] = [
  ['as is', (s) => s],
  ['structuredClone (postMessage, IndexedDB)', (s) => structuredClone(s)],
  ['stateToJSON / stateFromJSON', (s) => stateFromJSON(stateToJSON(s))],
  ['encodeState / decodeState (safetensors)', (s) => decodeState(encodeState(s))],
];

describe('stateDict and loadStateDict', () => {
  it.each([
    ['float32, named', Float32Array, true, {}],
    ['float32, unnamed, Keras', Float32Array, false, { ...presets.keras, momentum: 0.3 }],
    ['float64, named, TF1', Float64Array, true, { ...presets.tf1, lr: 0.01 }],
  ] as const)('resume a run bit for bit in lockstep (%s), whatever the round trip', (_n, T, named, options: OptimizerOptions) => {
    for (const [, trip] of ROUND_TRIPS) {
      const a = model(1, named, T);
      const optA = new RMSProp(groups(a), options);
      for (let t = 0; t < 7; t++) {
        feed(a, t);
        optA.step();
      }
      optA.paramGroups[0]!.lr = 0.002; // a schedule's change survives too
      const b = copy(a);
      const optB = new RMSProp(groups(b));
      optB.loadStateDict(trip(optA.stateDict()));
      expect(snapshot(optB)).toEqual(snapshot(optA));
      for (let t = 7; t < 15; t++) {
        feed(a, t);
        feed(b, t);
        optA.step();
        optB.step();
      }
      expect(snapshot(optB)).toEqual(snapshot(optA));
    }
  });

  it('hold typed-array copies: the saved state does not follow the optimizer, nor the optimizer the saved state', () => {
    const a = model(2, true);
    const opt = new RMSProp(a, { momentum: 0.9 });
    feed(a, 1);
    opt.step();
    const saved = opt.stateDict();
    const square = saved.groups[0]!.params[0]!.squareAvg;
    expect(square).toBeInstanceOf(Float32Array);
    expect(square).not.toBe(opt.getState(a[0]!)!.squareAvg);
    const kept = Array.from(square);
    opt.step();
    expect(Array.from(square)).toEqual(kept);
    opt.loadStateDict(saved);
    square.fill(7);
    expect(opt.getState(a[0]!)!.squareAvg.includes(7)).toBe(false);
  });

  it('keep NaN payloads, -0, subnormals and infinities bit for bit, and the policy and skip count', () => {
    const p: Param = { data: Float32Array.of(1, 2, 3, 4), grad: Float32Array.of(NaN, -0, 1e-45, Infinity), name: 'w' };
    const opt = new RMSProp([p], { momentum: 0.5, nonFinite: 'apply' });
    opt.step();
    opt.nonFinite = 'skip';
    opt.step(); // skipped: the gradient holds NaN
    for (const [, trip] of ROUND_TRIPS) {
      const q: Param = { data: p.data.slice(), grad: null, name: 'w' };
      const fresh = new RMSProp([q], { momentum: 0.5 });
      fresh.loadStateDict(trip(opt.stateDict()));
      expect(bytes(fresh.getState(q)!.momentumBuffer)).toEqual(bytes(opt.getState(p)!.momentumBuffer));
      expect(bytes(fresh.getState(q)!.squareAvg)).toEqual(bytes(opt.getState(p)!.squareAvg));
      expect(fresh.nonFinite).toBe('skip');
      expect(fresh.skippedSteps).toBe(1);
    }
  });

  it('keep lr = -0 bit for bit (JSON alone turns it into 0)', () => {
    const opt = new RMSProp(model(3, true), { lr: -0, weightDecay: -0 });
    for (const [, trip] of ROUND_TRIPS) {
      const other = new RMSProp(model(3, true));
      other.loadStateDict(trip(opt.stateDict()));
      expect(Object.is(other.paramGroups[0]!.lr, -0)).toBe(true);
      expect(Object.is(other.paramGroups[0]!.weightDecay, -0)).toBe(true);
    }
  });

  it('refuse to save what could not be loaded: an invalid hyperparameter, as step() would', () => {
    const opt = new RMSProp(model(4, true));
    opt.paramGroups[0]!.lr = NaN;
    expectError(() => opt.stateDict(), RangeError, 'RMSProp.stateDict: invalid lr in group 0: expected a finite number >= 0, got NaN');
    opt.paramGroups[0]!.lr = 0.01;
    (opt.paramGroups[0] as { frozen: unknown }).frozen = 'no';
    expectError(() => opt.stateDict(), TypeError, 'RMSProp.stateDict: invalid frozen in group 0: expected a boolean, got string "no"');
  });

  it('match named parameters by name, whatever their order', () => {
    const a = model(5, true);
    const optA = new RMSProp(a, { momentum: 0.9 });
    feed(a, 1);
    optA.step();
    const b = copy(a);
    const optB = new RMSProp([b[3]!, b[1]!, b[0]!, b[2]!], { momentum: 0.9 });
    optB.loadStateDict(optA.stateDict());
    a.forEach((p, i) => expect(bytes(optB.getState(b[i]!)!.momentumBuffer)).toEqual(bytes(optA.getState(p)!.momentumBuffer)));
  });

  it('save a buffer switched on but not allocated yet as zeros, and allocate one the optimizer lacks', () => {
    const a = model(6, false);
    const opt = new RMSProp(a);
    feed(a, 1);
    opt.step();
    opt.paramGroups[0]!.momentum = 0.9;
    const saved = opt.stateDict();
    expect(Array.from(saved.groups[0]!.params[0]!.momentumBuffer!)).toEqual([0, 0, 0, 0, 0, 0]);
    const b = copy(a);
    const optB = new RMSProp(b);
    optB.loadStateDict(saved);
    expect(optB.paramGroups[0]!.momentum).toBe(0.9);
    expect(Array.from(optB.getState(b[0]!)!.momentumBuffer!)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('copy into the existing state arrays, so references from getState stay valid', () => {
    const a = model(7, true);
    const opt = new RMSProp(a);
    const held = opt.getState(a[0]!)!.squareAvg;
    feed(a, 2);
    const other = new RMSProp(copy(a));
    other.step();
    opt.loadStateDict(other.stateDict());
    expect(opt.getState(a[0]!)!.squareAvg).toBe(held);
    expect(held.some((x) => x !== 0)).toBe(true);
  });

  it('check lengths against the state each parameter was registered with, not against its data now', () => {
    const a = model(8, true);
    const opt = new RMSProp(a);
    const saved = opt.stateDict();
    (a[0] as { data: FloatArray }).data = new Float32Array(9); // the engine swapped in a buffer of another size
    opt.loadStateDict(saved); // the state matches what was registered: it loads
    expectError(() => opt.step(), RangeError, 'RMSProp.step: invalid data: expected a Float32Array of length 6 (as registered), got a Float32Array of length 9 (group 0, param 0)');
    const wrong = structuredClone(saved) as unknown as { groups: { params: { squareAvg: FloatArray }[] }[] };
    wrong.groups[0]!.params[0]!.squareAvg = new Float32Array(9);
    const before = snapshot(opt);
    expectError(() => opt.loadStateDict(wrong as unknown as RMSPropStateDict), Error, 'RMSProp.loadStateDict: invalid groups[0].params[0].squareAvg: expected a Float32Array of length 6 (every state needs it), got a Float32Array of length 9');
    expect(snapshot(opt)).toEqual(before);
  });

  it.each([
    ['a frozen group object', (g: object) => Object.freeze(g)],
    ['a read-only field', (g: object) => Object.defineProperty(g, 'eps', { value: 1e-8, writable: false })],
    ['a getter in place of a field', (g: object) => Object.defineProperty(g, 'alpha', { get: () => 0.99 })],
  ])('refuse, before writing anything, to load into %s', (_n, spoil) => {
    const a = model(9, true);
    const opt = new RMSProp(groups(a));
    feed(a, 1);
    opt.step();
    const other = new RMSProp(groups(copy(a)), { lr: 0.5 });
    const saved = other.stateDict();
    spoil(opt.paramGroups[1]!);
    const before = snapshot(opt);
    const name = _n === 'a frozen group object' ? 'lr' : _n === 'a read-only field' ? 'eps' : 'alpha';
    expectError(
      () => opt.loadStateDict(saved),
      Error,
      `RMSProp.loadStateDict: cannot write ${name} in group 1: the group object is frozen or ${name} is not a plain writable field; nothing was loaded`,
    );
    expect(snapshot(opt)).toEqual(before);
    expect(opt.paramGroups[0]!.lr).toBe(0.01); // group 0 was writable, and is untouched too
  });
});

// Bad states: the exact message, and the optimizer exactly as it was.

type Edit = (s: Record<string, unknown>) => unknown;
type Path = readonly (string | number)[];

function parent(s: unknown, path: Path): Record<string | number, unknown> {
  let node = s;
  for (const key of path.slice(0, -1)) node = (node as Record<string | number, unknown>)[key];
  return node as Record<string | number, unknown>;
}
const put = (path: Path, value: unknown): Edit => (s) => {
  parent(s, path)[path[path.length - 1]!] = value;
  return s;
};
const remove = (path: Path): Edit => (s) => {
  const p = parent(s, path);
  if (Array.isArray(p)) p.pop();
  else delete p[path[path.length - 1]!];
  return s;
};

function saved(): { opt: RMSProp; state: Record<string, unknown> } {
  const a = model(10, false);
  a[2] = { ...a[2]!, name: 'big' };
  const opt = new RMSProp(groups(a));
  feed(a, 1);
  opt.step();
  return { opt, state: structuredClone(opt.stateDict()) as unknown as Record<string, unknown> };
}

const P = 'RMSProp.loadStateDict: ';
const BAD: [string, Edit, string, (new (m: string) => Error)?][] = [
  ['null', () => null, 'invalid state: expected an object, got null'],
  ['a string', () => '{"format":"rmsprop-state"}', 'invalid state: expected an object, got string "{\\"format\\":\\"rmsprop-state\\"}"'],
  ['another format', (s) => ({ ...s, format: 'torch' }), 'invalid format: expected "rmsprop-state" (a state from stateDict()), got string "torch"'],
  ['a PyTorch state_dict', () => ({ state: {}, param_groups: [] }), 'invalid format: expected "rmsprop-state" (a state from stateDict()), got undefined'],
  ['a version-1 object (parsed JSON of rmsprop 0.1)', (s) => ({ ...s, version: 1 }), 'invalid version: expected 2 (version 1 was text: read it with stateFromJSON), got 1'],
  ['a newer version', (s) => ({ ...s, version: 3 }), 'invalid version: expected 2, got 3'],
  ['a bad policy', (s) => ({ ...s, nonFinite: 'ignore' }), `invalid nonFinite: expected 'throw', 'skip' or 'apply', got string "ignore"`, TypeError],
  ['a negative skip count', (s) => ({ ...s, skippedSteps: -1 }), 'invalid skippedSteps: expected a whole number from 0 to 2^52, got -1', RangeError],
  ['a huge update count', (s) => ({ ...s, updates: 2 ** 53 }), 'invalid updates: expected a whole number from 0 to 2^52, got 9007199254740992', RangeError],
  ['one group too many', (s) => ({ ...s, groups: [...(s['groups'] as unknown[]), (s['groups'] as unknown[])[0]] }), 'invalid groups: expected an array of 2 groups, got an array of length 3'],
  ['one parameter too few', remove(['groups', 1, 'params', 1]), "invalid groups[1].params: expected an array of 2 parameters' states, got an array of length 1"],
  ['a group that is not an object', put(['groups', 0], 7), 'invalid groups[0]: expected an object, got 7'],
  ['a bad hyperparameter', put(['groups', 1, 'hyper', 'alpha'], 1.5), 'invalid alpha in group 1: expected a number in [0, 1), got 1.5', RangeError],
  ['a missing hyperparameter', remove(['groups', 0, 'hyper', 'eps']), 'invalid eps in group 0: expected a finite number > 0, got undefined', TypeError],
  ['an unknown hyperparameter', put(['groups', 0, 'hyper', 'rho'], 0.9), 'unknown option "rho" in group 0 (did you mean alpha?); the options are lr, alpha, eps, weightDecay, momentum, centered, maximize, epsInSqrt, lrInMomentum, nesterov, initialAccumulator, biasCorrection, decoupledWeightDecay, frozen', TypeError],
  ['a schedule the group lacks', put(['groups', 0, 'hyper', 'lr'], 'schedule'), 'invalid groups[0].hyper.lr: expected a number; "schedule" needs the group to have its schedule (lr: a function) before loading, got string "schedule"'],
  ['another length', put(['groups', 0, 'params', 1, 'squareAvg'], new Float32Array(2)), 'invalid groups[0].params[1].squareAvg: expected a Float32Array of length 1 (every state needs it), got a Float32Array of length 2'],
  ['another element type', put(['groups', 0, 'params', 0, 'gradAvg'], new Float64Array(6)), 'invalid groups[0].params[0].gradAvg: expected a Float32Array of length 6 (centered needs it), got a Float64Array of length 6'],
  ['base64 text where a buffer belongs', put(['groups', 0, 'params', 0, 'squareAvg'], 'AAAA'), 'invalid groups[0].params[0].squareAvg: expected a Float32Array of length 6 (every state needs it), got string "AAAA"'],
  ['a buffer the options need', put(['groups', 1, 'params', 1, 'momentumBuffer'], null), 'invalid groups[1].params[1].momentumBuffer: expected a Float32Array of length 4 (momentum 0.5 needs it), got null'],
  ['an optional buffer of the wrong kind', put(['groups', 0, 'params', 1, 'momentumBuffer'], [0]), 'invalid groups[0].params[1].momentumBuffer: expected a Float32Array of length 1 (momentum 0.9 needs it), got an array of length 1'],
  ['a fractional step', put(['groups', 1, 'params', 1, 'step'], 1.5), 'invalid groups[1].params[1].step: expected a whole number from 0 to 2^52, got 1.5', RangeError],
  ['a huge step', put(['groups', 1, 'params', 1, 'step'], 2 ** 60), 'invalid groups[1].params[1].step: expected a whole number from 0 to 2^52, got 1152921504606847000', RangeError],
  ['a missing name', put(['groups', 1, 'params', 0, 'name'], 'small'), 'invalid groups: expected a state named "big" for (group 1, param 0), got the names "small"'],
  ['a name on an unnamed parameter', put(['groups', 0, 'params', 1, 'name'], 'x'), 'invalid groups[0].params[1].name: expected null: (group 0, param 1) has no name, got string "x"'],
  ['a name twice', put(['groups', 0, 'params', 0, 'name'], 'big'), 'invalid groups[1].params[0].name: expected a name used once (groups[0].params[0] has it too), got string "big"'],
  ['an empty name', put(['groups', 0, 'params', 0, 'name'], ''), 'invalid groups[0].params[0].name: expected a non-empty string or null, got string ""'],
  ['a state of another model', () => new RMSProp([{ data: new Float32Array(3), grad: null }]).stateDict(), 'invalid groups: expected an array of 2 groups, got an array of length 1'],
];

describe('loadStateDict with a bad state', () => {
  it.each(BAD)('rejects %s and changes nothing', (_name, edit, message, type = Error) => {
    const { opt, state } = saved();
    const before = snapshot(opt);
    expectError(() => opt.loadStateDict(edit(state) as RMSPropStateDict), type, P + message);
    expect(snapshot(opt)).toEqual(before);
  });
});

describe('loadStateDict with a saved object that changes while it is read', () => {
  it('refuses a buffer detached by a getter after it was checked, changing nothing', () => {
    const { opt, state } = saved();
    const s = state as unknown as RMSPropStateDict;
    const victim = s.groups[0]!.params[0]!.squareAvg;
    const later = s.groups[1]!.params[0]!;
    const buffer = later.momentumBuffer;
    Object.defineProperty(later, 'momentumBuffer', {
      get: () => (victim.length > 0 && structuredClone(victim.buffer, { transfer: [victim.buffer as ArrayBuffer] }), buffer),
    });
    const before = snapshot(opt);
    expectError(() => opt.loadStateDict(s), Error, `${P}a saved buffer of (group 0, param 0) was detached after it was checked; nothing was loaded`);
    expect(snapshot(opt)).toEqual(before);
  });
});
