// One training run of the study: one problem, one optimizer, one learning rate, one seed.
import { RMSProp, clipGradNorm, cosineAnnealing, createArena, presets } from '../../src/index.js';
import type { Arena } from '../../src/index.js';
import { Adam, SGD } from './baselines.js';
import type { Problem } from './problems.js';

/** What the study needs from an optimizer. */
export interface Stepper {
  step(): void;
  zeroGrad(): void;
}

/** An optimizer of the study, as a recipe: how to build it for a run's parameters. */
export interface OptimizerSpec {
  readonly id: string;
  readonly label: string;
  /** The learning rate its library uses by default (PyTorch's; SGD has none, 0.01 is common). */
  readonly defaultLr: number;
  /** Whether its runs keep parameters in a SIMD arena (RMSProp's fast path). */
  readonly arena: boolean;
  /** The total gradient norm is clipped to this before every step (`clipGradNorm`); absent: no clipping. */
  readonly clip?: number;
  make(params: readonly { data: Float32Array; grad: Float32Array }[], lr: number, steps: number, arena?: Arena): Stepper;
}

/** The arena option, when there is an arena. */
const inArena = (arena: Arena | undefined): { arena?: Arena } => (arena === undefined ? {} : { arena });

/**
 * The optimizers compared. RMSProp runs use this package (`rmsprop`), with the parameters in an
 * arena so that its WebAssembly SIMD kernel does the updates; the baselines are PyTorch's SGD and
 * Adam, re-implemented in bench/convergence/baselines.ts and checked against PyTorch.
 */
export const OPTIMIZERS: readonly OptimizerSpec[] = [
  { id: 'sgd', label: 'SGD', defaultLr: 0.01, arena: false, make: (p, lr) => new SGD(p, { lr }) },
  { id: 'momentum', label: 'SGD + momentum 0.9', defaultLr: 0.01, arena: false, make: (p, lr) => new SGD(p, { lr, momentum: 0.9 }) },
  { id: 'adam', label: 'Adam', defaultLr: 0.001, arena: false, make: (p, lr) => new Adam(p, { lr }) },
  { id: 'rmsprop', label: 'RMSProp', defaultLr: 0.01, arena: true, make: (p, lr, _steps, arena) => new RMSProp(p, { lr, ...inArena(arena) }) },
  {
    id: 'rmsprop-momentum',
    label: 'RMSProp + momentum 0.9',
    defaultLr: 0.01,
    arena: true,
    make: (p, lr, _steps, arena) => new RMSProp(p, { lr, momentum: 0.9, ...inArena(arena) }),
  },
  {
    id: 'rmsprop-cosine',
    label: 'RMSProp + cosine decay',
    defaultLr: 0.01,
    arena: true,
    make: (p, lr, steps, arena) => new RMSProp(p, { lr: cosineAnnealing(lr, { tMax: steps }), ...inArena(arena) }),
  },
];

/** RMSProp as Graves (2013) trained his recurrent networks: `presets.graves`, the grid's lr. */
const GRAVES: OptimizerSpec = {
  id: 'rmsprop-graves',
  label: 'RMSProp, presets.graves',
  defaultLr: 1e-4,
  arena: true,
  make: (p, lr, _steps, arena) => new RMSProp(p, { ...presets.graves, lr, ...inArena(arena) }),
};

/** The largest total gradient norm let through by the clipped variants. */
export const CLIP_NORM = 1;

/** `spec` with `clipGradNorm(params, 1.0)` between the backward pass and every step. */
function clipped(spec: OptimizerSpec): OptimizerSpec {
  return {
    ...spec,
    id: `${spec.id}-clip`,
    label: `${spec.label}, clip ${CLIP_NORM.toFixed(1)}`,
    clip: CLIP_NORM,
    make(p, lr, steps, arena) {
      const inner = spec.make(p, lr, steps, arena);
      return {
        step() {
          clipGradNorm(p, CLIP_NORM);
          inner.step();
        },
        zeroGrad: () => inner.zeroGrad(),
      };
    },
  };
}

/**
 * The optimizers of the recurrent problems: the study's six, RMSProp with `presets.graves`
 * (centered, momentum 0.9, as Graves trained his RNNs), and each of those seven again with the
 * total gradient norm clipped at 1.0 (`clipGradNorm`, torch's `clip_grad_norm_`).
 */
export const RECURRENT_OPTIMIZERS: readonly OptimizerSpec[] = [...OPTIMIZERS, GRAVES, ...[...OPTIMIZERS, GRAVES].map(clipped)];

/**
 * An arena with room for the parameters of `problem`, their grads and RMSProp's state (at most
 * three buffers per parameter: square average, momentum and, centered, the gradient average).
 */
function arenaFor(problem: Problem, seed: number): Arena {
  // Count the values from a dry instance in plain buffers; every allocation rounds up to 4.
  const values = problem.create(seed, (n) => new Float32Array(n)).params.reduce((s, p) => s + ((p.data.length + 3) & ~3), 0);
  return createArena(5 * values + 64);
}

/** The outcome of one run. */
export interface RunResult {
  /** Training loss after 0, evalEvery, 2 evalEvery, ... updates (Infinity once diverged). */
  readonly curve: number[];
  /**
   * The update count from which the training loss stays at or below the target to the end of the
   * run (every later observation too); null when the final loss is above the target. A run that
   * only passes through the target on its way up again has not reached it.
   */
  readonly stepsToTarget: number | null;
  /** Training loss after the last update (Infinity when the run diverged). */
  readonly finalLoss: number;
  /** Held-out accuracy after the last update; null for problems without data. */
  readonly accuracy: number | null;
  /**
   * Oscillation: of the steps (full batch) or evaluations (mini-batch) taken from a loss above the
   * target, the share at which the loss rose. Below the target, rises are left out: there they
   * are mostly float32 rounding at losses like 1e-30.
   */
  readonly rises: number;
  /** Whether the loss became non-finite or grew past 1e6 times its start (the run stops there). */
  readonly diverged: boolean;
  /**
   * Recurrent problems: ‖d loss / d h_t‖ for each time step t, at the first update and averaged
   * over the last `evalEvery` updates (`last` is empty when the run diverged); null for the others.
   */
  readonly gradNorms: { readonly first: number[]; readonly last: number[] } | null;
}

/** Trains `problem` from seed `seed` with `optimizer` at learning rate `lr`. Deterministic. */
export function run(problem: Problem, optimizer: OptimizerSpec, lr: number, seed: number): RunResult {
  const arena = optimizer.arena ? arenaFor(problem, seed) : undefined;
  const instance = problem.create(seed, arena === undefined ? (n) => new Float32Array(n) : (n) => arena.alloc(n));
  const opt = optimizer.make(instance.params, lr, problem.steps, arena);
  const curve: number[] = [];
  let stepsToTarget: number | null = null;
  let rises = 0;
  let pairs = 0;
  let previous = NaN;
  let start = NaN;
  let diverged = false;
  /** Records the loss after `t` updates; false when the run has diverged. */
  const observe = (t: number, loss: number, isEval: boolean): boolean => {
    if (t === 0) start = loss;
    if (!Number.isFinite(loss) || loss > 1e6 * Math.max(start, 1e-30)) {
      diverged = true;
      return false;
    }
    // Oscillation: every step for full-batch problems, every evaluation for mini-batch ones,
    // counted from losses above the target.
    if (t > 0 && previous > problem.target) {
      pairs++;
      if (loss > previous) rises++;
    }
    previous = loss;
    if (loss > problem.target) stepsToTarget = null;
    else stepsToTarget ??= t;
    if (isEval) curve.push(loss);
    return true;
  };
  let firstNorms: number[] | null = null;
  const window = new Float64Array(instance.gradNorms?.().length ?? 0);
  let windowSteps = 0;
  for (let t = 0; t < problem.steps; t++) {
    opt.zeroGrad();
    const batchLoss = instance.lossAndGrad(t);
    const norms = instance.gradNorms?.() ?? null;
    if (t === 0 && norms !== null) firstNorms = Array.from(norms);
    const isEval = t % problem.evalEvery === 0;
    // Full batch: the batch loss is the training loss. Mini-batch: the whole training set is
    // evaluated every evalEvery steps (before this step's update, so after t updates).
    if (problem.fullBatch || isEval) {
      if (!observe(t, problem.fullBatch ? batchLoss : instance.trainLoss(), isEval)) break;
    } else if (!Number.isFinite(batchLoss)) {
      diverged = true;
      break;
    }
    try {
      opt.step();
    } catch (e) {
      // A non-finite gradient: RMSProp refuses it (nonFinite: 'throw'). Anything else is a bug.
      if (!(e instanceof RangeError && e.message.includes('nothing was updated'))) throw e;
      diverged = true;
      break;
    }
    if (norms !== null && t >= problem.steps - problem.evalEvery) {
      for (let i = 0; i < norms.length; i++) window[i] = window[i]! + norms[i]!;
      windowSteps++;
    }
  }
  if (!diverged) observe(problem.steps, instance.trainLoss(), true);
  const evals = Math.floor(problem.steps / problem.evalEvery) + 1;
  while (curve.length < evals) curve.push(Infinity);
  const finalLoss = diverged ? Infinity : curve[curve.length - 1]!;
  return {
    curve,
    stepsToTarget: diverged ? null : stepsToTarget,
    finalLoss,
    accuracy: diverged || instance.heldOutAccuracy === undefined ? null : instance.heldOutAccuracy(),
    rises: pairs === 0 ? 0 : rises / pairs,
    diverged,
    gradNorms: firstNorms === null ? null : { first: firstNorms, last: diverged ? [] : Array.from(window, (v) => v / windowSteps) },
  };
}
