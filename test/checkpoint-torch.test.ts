// Checkpoints moved between torch.optim.RMSprop and this library, both ways, with
// tools/torch_rmsprop_state.py: test/fixtures/make-checkpoint-fixtures.py made the files in
// test/fixtures/checkpoints/ (its docstring has the three stages). Per case <slug>:
// - <slug>.json: the case (dtype, parameters, groups, initial values, 60 steps of gradients),
//   and torch's parameters after step 30 and after each of steps 31..60;
// - <slug>.torch.safetensors: torch's state after step 30, written by the helper's save();
// - <slug>.here.safetensors: this library's state after step 30, encodeState(opt);
// - <slug>.here.json: this library's parameters after step 30, and torch's after each of steps
//   31..60 once the helper's load() had read <slug>.here.safetensors.
import { describe, expect, it } from 'vitest';
import { RMSProp, decodeState, encodeState } from '../src/index.js';
import type { FloatArray, OptimizerOptions, RMSPropOptions } from '../src/index.js';
import { trajectoryError } from './support/compare.js';
import type { Trajectory } from './support/compare.js';

type Dtype = 'float32' | 'float64';
type Values = readonly (readonly number[])[];

interface CheckpointCase {
  readonly torch: { readonly after30: Values; readonly continued: readonly Values[] };
  readonly name: string;
  readonly slug: string;
  readonly dtype: Dtype;
  readonly params: readonly { readonly name: string | null; readonly shape: readonly number[] }[];
  readonly groups: readonly { readonly params: readonly number[]; readonly options: RMSPropOptions }[];
  readonly init: Values;
  /** 60 steps, per parameter its gradient or null (no gradient that step). */
  readonly grads: readonly (readonly (readonly number[] | null)[])[];
}

interface HereRun {
  readonly after30: Values;
  readonly torch: { readonly version: string; readonly continued: readonly Values[] };
}

interface Param {
  readonly name?: string;
  readonly data: FloatArray;
  grad: FloatArray | null;
}

const STEPS = 30;
// As test/optimizer.test.ts holds torch.optim.RMSprop's trajectories: float32 rounding (torch
// rounds after every operation, this library once per stored value), float64 to 1e-12.
const TOLERANCE: Readonly<Record<Dtype, number>> = { float32: 1e-5, float64: 1e-12 };

const texts = import.meta.glob<string>('./fixtures/checkpoints/*.json', { query: '?raw', import: 'default', eager: true });
const json = (file: string): unknown => {
  const text = texts[`./fixtures/checkpoints/${file}`];
  if (text === undefined) throw new Error(`test/fixtures/checkpoints/${file} is missing: run test/fixtures/make-checkpoint-fixtures.py`);
  return JSON.parse(text);
};

/** A fixture's bytes: read from disk in Node, fetched from Vite's server in the browser. */
async function readBytes(file: string): Promise<Uint8Array> {
  const url = new URL(`./fixtures/checkpoints/${file}`, import.meta.url);
  if (url.protocol === 'file:') {
    const { readFile } = await import('node:fs/promises');
    return new Uint8Array(await readFile(url));
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url.href}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

const slugs = Object.keys(texts)
  .map((path) => path.slice('./fixtures/checkpoints/'.length))
  .filter((file) => !file.endsWith('.here.json'))
  .map((file) => file.slice(0, -'.json'.length))
  .sort();
const cases = await Promise.all(
  slugs.map(async (slug) => ({
    c: json(`${slug}.json`) as CheckpointCase,
    here: json(`${slug}.here.json`) as HereRun,
    torchBytes: await readBytes(`${slug}.torch.safetensors`),
    hereBytes: await readBytes(`${slug}.here.safetensors`),
  })),
);
const byName = cases.map((k) => [k.c.name, k] as const);

/** The case's parameters holding `values`, and an optimizer over them in the case's groups. */
function build(c: CheckpointCase, values: Values, options: OptimizerOptions = {}): { params: Param[]; opt: RMSProp } {
  const Type = c.dtype === 'float64' ? Float64Array : Float32Array;
  const params: Param[] = c.params.map((p, i) => ({ ...(p.name === null ? {} : { name: p.name }), data: Type.from(values[i]!), grad: null }));
  const opt = new RMSProp(
    c.groups.map((g) => ({ params: g.params.map((i) => params[i]!), ...g.options })),
    options,
  );
  return { params, opt };
}

/** Steps with the case's gradients `from` to `to` (0-based); the parameters after each step. */
function run(c: CheckpointCase, params: Param[], opt: RMSProp, from: number, to: number): number[][][] {
  const Type = c.dtype === 'float64' ? Float64Array : Float32Array;
  const trajectory: number[][][] = [];
  for (const step of c.grads.slice(from, to)) {
    step.forEach((g, i) => {
      params[i]!.grad = g === null ? null : Type.from(g);
    });
    opt.step();
    trajectory.push(params.map((p) => Array.from(p.data)));
  }
  return trajectory;
}

/** Each parameter's step count after `n` steps of the case's gradients. */
const stepCounts = (c: CheckpointCase, n: number): number[] => c.params.map((_, i) => c.grads.slice(0, n).filter((s) => s[i] !== null).length);

/** Where two byte strings first differ, or 'identical'. */
function compareBytes(actual: Uint8Array, expected: Uint8Array): string {
  const n = Math.min(actual.length, expected.length);
  for (let i = 0; i < n; i++) if (actual[i] !== expected[i]) return `byte ${i} differs: ${actual[i]} instead of ${expected[i]}`;
  return actual.length === expected.length ? 'identical' : `${actual.length} bytes instead of ${expected.length}`;
}

/** Everything the optimizer holds and the parameters, every bit (buffers as bytes, -0 spelled out). */
function bits(opt: RMSProp): unknown {
  const raw = (a: FloatArray | null): number[] | null => (a === null ? null : Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)));
  const spell = (v: unknown): unknown => (Object.is(v, -0) ? '-0' : v);
  return {
    nonFinite: opt.nonFinite,
    skippedSteps: opt.skippedSteps,
    groups: opt.paramGroups.map(({ params, ...hyper }) => ({
      hyper: Object.fromEntries(Object.entries(hyper).map(([k, v]) => [k, spell(v)])),
      params: params.map((p) => {
        const s = opt.getState(p)!;
        return { data: raw(p.data), step: s.step, squareAvg: raw(s.squareAvg), gradAvg: raw(s.gradAvg), momentumBuffer: raw(s.momentumBuffer) };
      }),
    })),
  };
}

describe('the checkpoint fixtures', () => {
  it('hold the six cases, each file small', () => {
    expect(slugs).toEqual(['centered', 'centered-momentum-weight-decay', 'float64', 'momentum', 'plain', 'two-groups']);
    for (const { c, torchBytes, hereBytes } of cases) {
      expect(c.grads).toHaveLength(2 * STEPS);
      expect(c.torch.continued).toHaveLength(STEPS);
      expect(torchBytes.length + hereBytes.length).toBeLessThan(10_000);
    }
  });
});

describe('a checkpoint of torch.optim.RMSprop (the helper\'s save()) continues here as torch continued', () => {
  it.each(byName)('%s', (_name, { c, torchBytes }) => {
    const saved = decodeState(torchBytes);
    expect(saved.nonFinite).toBe('apply');
    expect(saved.updates).toBe(STEPS);
    expect(saved.groups.flatMap((g) => g.params.map((p) => p.step))).toEqual(stepCounts(c, STEPS));
    expect(saved.groups.flatMap((g) => g.params.map((p) => p.name))).toEqual(c.params.map((p) => p.name));
    const { params, opt } = build(c, c.torch.after30);
    opt.loadStateDict(saved);
    const ours = run(c, params, opt, STEPS, 2 * STEPS);
    expect(trajectoryError(ours, c.torch.continued, c.dtype)).toBeLessThanOrEqual(TOLERANCE[c.dtype]);
    // The state is what makes it so: the same steps from the same parameters without it go elsewhere.
    const fresh = build(c, c.torch.after30);
    expect(trajectoryError(run(c, fresh.params, fresh.opt, STEPS, 2 * STEPS), c.torch.continued, c.dtype)).toBeGreaterThan(1e-3);
  });

  it.each(byName)('%s: encodeState writes the helper\'s file again, byte for byte', (_name, { torchBytes }) => {
    expect(compareBytes(encodeState(decodeState(torchBytes)), torchBytes)).toBe('identical');
  });
});

describe('a checkpoint of this library (encodeState) continues in torch.optim.RMSprop (the helper\'s load()) as here', () => {
  it.each(byName)('%s', (_name, { c, here, hereBytes }) => {
    const { params, opt } = build(c, c.init, { nonFinite: 'apply' });
    run(c, params, opt, 0, STEPS);
    // The committed file is what this library writes: the same run gives the same bytes.
    expect(params.map((p) => Array.from(p.data))).toEqual(here.after30);
    expect(compareBytes(encodeState(opt), hereBytes)).toBe('identical');
    expect(compareBytes(encodeState(opt.stateDict()), hereBytes)).toBe('identical');
    const ours: Trajectory = run(c, params, opt, STEPS, 2 * STEPS);
    expect(trajectoryError(ours, here.torch.continued, c.dtype)).toBeLessThanOrEqual(TOLERANCE[c.dtype]);
  });
});

describe('decodeState(encodeState(stateDict())) loads back bit for bit', () => {
  it.each(byName)('%s', (_name, { c, here }) => {
    const { params, opt } = build(c, c.init, { nonFinite: 'apply' });
    run(c, params, opt, 0, STEPS);
    const bytes = encodeState(opt.stateDict());
    const twin = build(c, here.after30); // nonFinite 'throw': the load sets it
    twin.opt.loadStateDict(decodeState(bytes));
    expect(bits(twin.opt)).toEqual(bits(opt));
    // And steps on as the original does, bit for bit.
    expect(run(c, twin.params, twin.opt, STEPS, 2 * STEPS)).toEqual(run(c, params, opt, STEPS, 2 * STEPS));
    expect(bits(twin.opt)).toEqual(bits(opt));
  });
});
