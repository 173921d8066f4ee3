// Replays a PyTorch fixture case through the RMSProp class.
import { RMSProp } from '../../src/index.js';
import type { Arena, FloatArray, ParamGroup, RMSPropOptions } from '../../src/index.js';
import type { FixtureCase } from './torch-fixture.js';
import { trajectoryError } from './compare.js';

interface MutableParam {
  readonly data: FloatArray;
  grad: FloatArray | null;
  readonly name: string;
}

export interface ReplayResult {
  readonly opt: RMSProp;
  readonly params: readonly MutableParam[];
  /** The trajectoryError of the run against PyTorch's. */
  readonly worst: number;
}

/** Replays a case; with an arena, every float32 parameter and gradient lives in it. */
export function replay(c: FixtureCase, arena?: Arena): ReplayResult {
  const make = (v: readonly number[]): FloatArray => {
    if (c.dtype === 'float64') return Float64Array.from(v);
    if (arena === undefined) return Float32Array.from(v);
    const view = arena.alloc(v.length);
    view.set(v);
    return view;
  };
  const params: MutableParam[] = c.init.map((v, i) => ({ data: make(v), grad: null, name: `p${i}` }));
  const options = { ...(c.options as RMSPropOptions), ...(arena === undefined ? {} : { arena }) };
  const opt =
    c.groups === null
      ? new RMSProp(params, options)
      : new RMSProp(
          c.groups.map((g) => ({ params: g.params.map((i) => params[i]!), ...(g.options as RMSPropOptions) })),
          options,
        );
  const trajectory: number[][][] = [];
  for (const s of c.steps) {
    for (const { group, ...values } of s.set) Object.assign(opt.paramGroups[group] as ParamGroup, values);
    s.grads.forEach((g, i) => {
      params[i]!.grad = g === null ? null : make(g);
    });
    opt.step();
    trajectory.push(params.map((p) => Array.from(p.data)));
  }
  const worst = trajectoryError(trajectory, c.steps.map((s) => s.params), c.dtype);
  return { opt, params, worst };
}
