import { describe, expect, it } from 'vitest';
import { RMSProp, presets } from '../src/index.js';
import type { FloatArray, OptimizerOptions, ParamGroupSpec, RMSPropStateDict } from '../src/index.js';
import { normals, rng } from './support/random.js';

interface Param {
  readonly data: FloatArray;
  grad: FloatArray | null;
  readonly name?: string;
}

function model(seed: number, named: boolean, T: Float32ArrayConstructor | Float64ArrayConstructor = Float32Array): Param[] {
  const random = rng(seed);
  return [6, 1, 17, 4].map((n, i) => ({
    data: T.from(normals(random, n)),
    grad: new T(n),
    ...(named ? { name: `layer${i}` } : {}),
  }));
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

const bytes = (a: FloatArray | null): number[] | null => (a === null ? null : Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)));

function snapshot(opt: RMSProp): unknown {
  return {
    nonFinite: opt.nonFinite,
    skipped: opt.skippedSteps,
    groups: opt.paramGroups.map((g) => ({ ...g, params: g.params.map((p) => {
      const s = opt.getState(p)!;
      return [bytes(p.data), bytes(s.squareAvg), bytes(s.gradAvg), bytes(s.momentumBuffer), s.step];
    }) })),
  };
}

describe('stateDict and loadStateDict', () => {
  it.each([
    ['float32, named', Float32Array, true, {}],
    ['float32, unnamed', Float32Array, false, { ...presets.keras, momentum: 0.3 }],
    ['float64, named', Float64Array, true, { ...presets.tf1, lr: 0.01 }],
  ] as const)('resume a run bit for bit after a JSON round trip (lockstep, %s)', (_n, T, named, options: OptimizerOptions) => {
    const a = model(1, named, T);
    const optA = new RMSProp(groups(a), options);
    for (let t = 0; t < 7; t++) {
      feed(a, t);
      optA.step();
    }
    optA.paramGroups[0]!.lr = 0.002; // a schedule's change survives too
    const b = copy(a);
    const optB = new RMSProp(groups(b));
    optB.loadStateDict(JSON.parse(JSON.stringify(optA.stateDict())) as RMSPropStateDict);
    expect(snapshot(optB)).toEqual(snapshot(optA));
    for (let t = 7; t < 15; t++) {
      feed(a, t);
      feed(b, t);
      optA.step();
      optB.step();
    }
    expect(snapshot(optB)).toEqual(snapshot(optA));
  });

  it('keeps NaN, -0 and subnormals in the state bit for bit, and the nonFinite policy and skip count', () => {
    const p: Param = { data: Float32Array.of(1, 2, 3, 4), grad: Float32Array.of(NaN, -0, 1e-45, 1), name: 'w' };
    const opt = new RMSProp([p], { momentum: 0.5, nonFinite: 'apply' });
    opt.step();
    opt.nonFinite = 'skip';
    opt.step(); // skipped: the gradient holds NaN
    const q: Param = { data: p.data.slice(), grad: null, name: 'w' };
    const fresh = new RMSProp([q], { momentum: 0.5 });
    fresh.loadStateDict(JSON.parse(JSON.stringify(opt.stateDict())) as RMSPropStateDict);
    expect(bytes(fresh.getState(q)!.momentumBuffer)).toEqual(bytes(opt.getState(p)!.momentumBuffer));
    expect(Number.isNaN(fresh.getState(q)!.squareAvg[0])).toBe(true);
    expect(fresh.nonFinite).toBe('skip');
    expect(fresh.skippedSteps).toBe(1);
  });

  it('matches named parameters by name, whatever their order', () => {
    const a = model(2, true);
    const optA = new RMSProp(a, { momentum: 0.9 });
    feed(a, 1);
    optA.step();
    const b = copy(a);
    const optB = new RMSProp([b[3]!, b[1]!, b[0]!, b[2]!], { momentum: 0.9 });
    optB.loadStateDict(optA.stateDict());
    a.forEach((p, i) => expect(bytes(optB.getState(b[i]!)!.momentumBuffer)).toEqual(bytes(optA.getState(p)!.momentumBuffer)));
  });

  it('saves a buffer switched on but not allocated yet as zeros, and restores buffers it lacks', () => {
    const a = model(3, false);
    const opt = new RMSProp(a);
    feed(a, 1);
    opt.step();
    opt.paramGroups[0]!.momentum = 0.9;
    const saved = opt.stateDict();
    expect(saved.groups[0]!.params[0]!.momentumBuffer).toBe('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    const b = copy(a);
    const optB = new RMSProp(b);
    optB.loadStateDict(saved);
    expect(optB.paramGroups[0]!.momentum).toBe(0.9);
    expect(Array.from(optB.getState(b[0]!)!.momentumBuffer!)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('copies into the existing state arrays', () => {
    const a = model(4, true);
    const opt = new RMSProp(a);
    const held = opt.getState(a[0]!)!.squareAvg;
    feed(a, 2);
    const other = new RMSProp(copy(a));
    other.step();
    opt.loadStateDict(other.stateDict());
    expect(opt.getState(a[0]!)!.squareAvg).toBe(held);
    expect(held.some((x) => x !== 0)).toBe(true);
  });
});

// Bad states: the exact message, and the optimizer exactly as it was.

type Edit = (s: Record<string, unknown>) => unknown;
type Path = readonly (string | number)[];

/** The object holding the last key of `path` inside a parsed JSON state. */
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
  const a = model(5, false);
  a[2] = { ...a[2]!, name: 'big' };
  const opt = new RMSProp(groups(a));
  feed(a, 1);
  opt.step();
  return { opt, state: JSON.parse(JSON.stringify(opt.stateDict())) as Record<string, unknown> };
}

const P = 'RMSProp.loadStateDict: ';
const BAD: [string, Edit, string, (new (m: string) => Error)?][] = [
  ['null', () => null, 'expected a state object from stateDict(), got null'],
  ['a string', () => '{"format":"rmsprop-state"}', 'expected a state object from stateDict(), got string "{\\"format\\":\\"rmsprop-state\\"}"'],
  ['another format', (s) => ({ ...s, format: 'torch' }), 'not an rmsprop state: format is string "torch", expected string "rmsprop-state"'],
  ['no format (a PyTorch state_dict)', () => ({ state: {}, param_groups: [] }), 'not an rmsprop state: format is undefined, expected string "rmsprop-state"'],
  ['a newer version', (s) => ({ ...s, version: 2 }), 'unsupported version 2: this release reads version 1'],
  ['a bad policy', (s) => ({ ...s, nonFinite: 'ignore' }), `invalid nonFinite: expected 'throw', 'skip' or 'apply', got string "ignore"`],
  ['a negative skip count', (s) => ({ ...s, skippedSteps: -1 }), 'invalid skippedSteps: expected a whole number >= 0, got -1'],
  ['one group too many', (s) => ({ ...s, groups: [...(s['groups'] as unknown[]), (s['groups'] as unknown[])[0]] }), 'the state has 3 parameter groups, this optimizer 2'],
  ['one parameter too few', remove(['groups', 1, 'params', 1]), 'group 1 of the state has 1 parameters, this optimizer\'s 2'],
  ['a bad hyperparameter', put(['groups', 1, 'hyper', 'alpha'], 1.5), 'invalid alpha in group 1: expected a number in [0, 1), got 1.5', RangeError],
  ['a missing hyperparameter', remove(['groups', 0, 'hyper', 'eps']), 'invalid eps in group 0: expected a finite number > 0, got undefined', TypeError],
  ['an unknown hyperparameter', put(['groups', 0, 'hyper', 'rho'], 0.9), 'unknown option "rho" in group 0 (did you mean alpha?); the options are lr, alpha, eps, weightDecay, momentum, centered, maximize, epsInSqrt, lrInMomentum, nesterov, initialAccumulator, biasCorrection, decoupledWeightDecay, frozen', TypeError],
  ['another length', put(['groups', 0, 'params', 1, 'length'], 2), 'the state (group 0, param 1) has length 2, the parameter 1'],
  ['another dtype', put(['groups', 0, 'params', 0, 'dtype'], 'float64'), 'the state (group 0, param 0) holds string "float64" values, the parameter is a Float32Array'],
  ['corrupt base64', put(['groups', 0, 'params', 0, 'squareAvg'], 'AAA*'), 'squareAvg of the state (group 0, param 0) is not valid base64'],
  ['a short buffer', put(['groups', 0, 'params', 0, 'gradAvg'], 'AAAA'), 'gradAvg of the state (group 0, param 0) holds 3 bytes, expected 24 (6 float32 values)'],
  ['a buffer the options need', put(['groups', 1, 'params', 1, 'momentumBuffer'], null), 'the state (group 1, param 1) has no momentumBuffer, which momentum 0.5 needs'],
  ['a fractional step', put(['groups', 1, 'params', 1, 'step'], 1.5), 'invalid step of the state (group 1, param 1): expected a whole number >= 0, got 1.5'],
  ['a missing name', put(['groups', 1, 'params', 0, 'name'], 'small'), 'the state has no parameter named "big" (group 1, param 0)'],
  ['a name on an unnamed parameter', put(['groups', 0, 'params', 1, 'name'], 'x'), 'the state (group 0, param 1) belongs to the parameter named "x", but this parameter has no name'],
  ['a name twice', put(['groups', 0, 'params', 0, 'name'], 'big'), 'the name "big" appears twice in the state: (group 0, param 0) and (group 1, param 0)'],
  ['a state of another model', () => { const other = new RMSProp([{ data: new Float32Array(3), grad: null }]); return other.stateDict(); }, 'the state has 1 parameter groups, this optimizer 2'],
];

describe('loadStateDict with a bad state', () => {
  it.each(BAD)('rejects %s and changes nothing', (_name, edit, message, type = Error) => {
    const { opt, state } = saved();
    const before = snapshot(opt);
    expect(() => opt.loadStateDict(edit(state) as RMSPropStateDict)).toThrow(new type(P + message));
    expect(snapshot(opt)).toEqual(before);
  });
});
