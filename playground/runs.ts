/**
 * The five paths the playground draws, computed in full before they are animated: RMSProp and
 * RMSProp with momentum from this package, Adam, SGD and SGD with momentum from the convergence
 * study's baselines (bench/convergence/baselines.ts, replayed against torch 1.13 in
 * test/baselines.test.ts). Each optimizer updates a `Float32Array` of two elements, as a model's
 * weights would be, from gradients evaluated in float64 and stored in a `Float32Array`.
 *
 * @module
 */
import { Adam, SGD } from '../bench/convergence/baselines.js';
import { RMSProp } from '../src/optimizer.js';
import type { RMSPropOptions } from '../src/options.js';
import { presets } from '../src/presets.js';
import { STYLES } from './map.js';
import type { Objective } from './objectives.js';

/** A framework preset's name, as `presets` has it. */
export type PresetName = keyof typeof presets;

/** What the reader set: the RMSProp controls, the baselines' learning rates and the run. */
export interface Settings {
  readonly objective: Objective;
  readonly start: readonly [number, number];
  readonly steps: number;
  readonly preset: PresetName;
  readonly lr: number;
  readonly alpha: number;
  readonly eps: number;
  /** Used by "RMSProp + momentum" and "SGD + momentum". */
  readonly momentum: number;
  readonly centered: boolean;
  readonly adamLr: number;
  readonly sgdLr: number;
}

/** One optimizer's path. */
export interface Path {
  readonly id: 'rmsprop' | 'rmsprop-momentum' | 'adam' | 'sgd' | 'sgd-momentum';
  readonly label: string;
  /** Options the optimizer was built with, as text. */
  readonly options: string;
  /** Positions after 0, 1, … `points - 1` steps, as float32 values: `[x0, y0, x1, y1, …]`. */
  readonly xy: Float64Array;
  /** `f - fMin` at each position. */
  readonly loss: Float64Array;
  /** How many positions are valid: `steps + 1` unless the run diverged or failed. */
  points: number;
  /** Why the run stopped early: divergence, or the optimizer's own error message. */
  stopped: string | null;
}

/** Beyond this distance from the view's centre, in view widths, a path counts as diverged. */
const FAR = 1e3;

type Stepper = { step(): void };

function run(path: Path, s: Settings, make: (p: { data: Float32Array; grad: Float32Array }) => Stepper): Path {
  const o = s.objective, [x0, x1, y0, y1] = o.view;
  const far = FAR * Math.max(x1 - x0, y1 - y0), cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
  const p = { data: Float32Array.of(s.start[0], s.start[1]), grad: new Float32Array(2) };
  let opt: Stepper;
  try {
    opt = make(p);
  } catch (e) {
    path.stopped = (e as Error).message;
    return path;
  }
  for (let k = 0; ; k++) {
    const x = p.data[0]!, y = p.data[1]!;
    const loss = o.f(x, y) - o.fMin;
    if (!Number.isFinite(loss) || Math.abs(x - cx) > far || Math.abs(y - cy) > far) {
      path.stopped = `diverged at step ${k}`;
      return path;
    }
    path.xy[2 * k] = x;
    path.xy[2 * k + 1] = y;
    path.loss[k] = Math.max(loss, 0);
    path.points = k + 1;
    if (k === s.steps) return path;
    o.grad(x, y, p.grad);
    try {
      opt.step();
    } catch (e) {
      path.stopped = `step ${k + 1}: ${(e as Error).message}`;
      return path;
    }
  }
}

function describe(options: object): string {
  return Object.entries(options)
    .filter(([, v]) => v !== false && v !== 0)
    .map(([k, v]) => `${k}: ${String(v)}`)
    .join(', ');
}

/**
 * The RMSProp options of a run: the preset's switches, then the reader's numbers.
 *
 * @example
 * ```ts
 * rmspropOptions(settings, 0.9); // { ...presets[settings.preset], lr, alpha, eps, centered, momentum: 0.9 }
 * ```
 */
export function rmspropOptions(s: Settings, momentum: number): RMSPropOptions {
  return { ...presets[s.preset], lr: s.lr, alpha: s.alpha, eps: s.eps, centered: s.centered, momentum };
}

/**
 * Runs the five optimizers from `settings.start` for `settings.steps` steps.
 *
 * @example
 * ```ts
 * const [rms] = runAll(settings);
 * rms.xy.subarray(0, 2 * rms.points); // the RMSProp path
 * ```
 */
export function runAll(s: Settings): Path[] {
  const n = s.steps + 1;
  const blank = (id: Path['id'], options: object): Path => ({
    id,
    label: STYLES[id].label,
    options: describe(options),
    xy: new Float64Array(2 * n),
    loss: new Float64Array(n),
    points: 0,
    stopped: null,
  });
  const plain = rmspropOptions(s, 0), heavy = rmspropOptions(s, s.momentum);
  const adam = { lr: s.adamLr }, sgd = { lr: s.sgdLr }, sgdm = { lr: s.sgdLr, momentum: s.momentum };
  return [
    run(blank('rmsprop', plain), s, (p) => new RMSProp([p], plain)),
    run(blank('rmsprop-momentum', heavy), s, (p) => new RMSProp([p], heavy)),
    run(blank('adam', adam), s, (p) => new Adam([p], adam)),
    run(blank('sgd', sgd), s, (p) => new SGD([p], sgd)),
    run(blank('sgd-momentum', sgdm), s, (p) => new SGD([p], sgdm)),
  ];
}
