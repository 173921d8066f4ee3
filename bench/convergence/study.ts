// The study's plan (which runs) and its reading (what the runs say), kept apart from how the runs
// are executed (bench/convergence/pool.ts) and how the results are written (report.ts).
import type { Problem } from './problems.js';
import type { OptimizerSpec, RunResult } from './run.js';

/** Which runs the study makes: every problem x optimizer x learning rate x seed. */
export interface Plan {
  readonly problems: readonly Problem[];
  readonly optimizers: readonly OptimizerSpec[];
  readonly lrs: readonly number[];
  readonly seeds: readonly number[];
}

/** The learning-rate grid: half decades from 1e-4 to 10^0.5 (ten values, 4.5 decades). */
export const LRS: readonly number[] = Array.from({ length: 10 }, (_, i) => Number((10 ** (-4 + i / 2)).toPrecision(3)));

/** Seeds of the full study. */
export const SEEDS: readonly number[] = [1, 2, 3, 4, 5];

/** One run to make, by index into the plan's lists. */
export interface Task {
  readonly problem: number;
  readonly optimizer: number;
  readonly lr: number;
  readonly seed: number;
}

/** Every run of the plan, in a fixed order. */
export function tasks(plan: Plan): Task[] {
  const out: Task[] = [];
  plan.problems.forEach((_, problem) =>
    plan.optimizers.forEach((_, optimizer) =>
      plan.lrs.forEach((_, lr) => plan.seeds.forEach((_, seed) => out.push({ problem, optimizer, lr, seed }))),
    ),
  );
  return out;
}

/** Median, minimum and maximum of some values; NaN counts as +Infinity (a failed run). */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/**
 * The q-quantile of `values` with linear interpolation between order statistics (numpy's default,
 * R type 7). NaN ranks as +Infinity, since in this study a NaN loss means a diverged run; so a
 * diverged seed pulls the upper quantiles to Infinity (where a plotted band breaks) instead of
 * disappearing. Filter NaN out first if it means "missing". Returns NaN for an empty array.
 *
 * @example
 * quantile([1, 2, 3, 4], 0.5);        // 2.5
 * quantile([1, 2, NaN], 1);           // Infinity
 */
export function quantile(values: readonly number[], q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile: invalid q: expected a number from 0 to 1, got ${q}`);
  const a = values.map((v) => (Number.isNaN(v) ? Infinity : v)).sort((u, v) => (u < v ? -1 : u > v ? 1 : 0));
  if (a.length === 0) return NaN;
  const h = (a.length - 1) * q, i = Math.floor(h), f = h - i;
  const u = a[i]!, v = a[Math.min(i + 1, a.length - 1)]!;
  // (1 - f) u + f v rather than u + f (v - u), which is NaN for u finite, v = Infinity, f = 0.
  return f === 0 || u === v ? u : (1 - f) * u + f * v;
}

/** The spread of `values`: median (the mean of the middle two for an even count), min and max. */
export function spread(values: readonly number[]): Spread {
  return { median: quantile(values, 0.5), min: quantile(values, 0), max: quantile(values, 1) };
}

/** What the seeds of one (problem, optimizer, learning rate) did. */
export interface Cell {
  readonly lr: number;
  readonly runs: readonly RunResult[];
  /** Updates to reach the target; Infinity for a run that never did. */
  readonly stepsToTarget: Spread;
  readonly finalLoss: Spread;
  /** Held-out accuracy (null for problems without data); a diverged run counts as 0. */
  readonly accuracy: Spread | null;
  /** Share of steps at which the loss rose, before the target (see run.ts). */
  readonly rises: Spread;
  /** How many seeds reached the target. */
  readonly reached: number;
  /**
   * How many seeds diverged: the loss became non-finite or grew past 1e6 times its start; for a
   * problem with a plateau (the recurrent ones) also a run that ended above
   * {@link THROWN_OFF} times the constant prediction's loss and above its own starting loss
   * (thrown off: worse than knowing nothing, and worse than where it began, though the network's
   * bounded outputs keep the loss finite; a run still coming down slowly from a high start is not).
   */
  readonly diverged: number;
  /**
   * Problems with a plateau: how many seeds stalled, that is ended (not diverged) with a loss at
   * least {@link STALLED} times the best constant prediction's: learned next to nothing.
   */
  readonly stalled: number;
}

/** A run that ends at this share of the plateau's loss or above has stalled. */
export const STALLED = 0.8;
/** A run that ends above this multiple of the plateau's loss, and above its start, has been thrown off (diverged). */
export const THROWN_OFF = 2;

/** Whether a run diverged, counting a run thrown off above the plateau (see {@link Cell.diverged}). */
export function divergedRun(r: RunResult, plateau: number | undefined): boolean {
  return r.diverged || (plateau !== undefined && r.finalLoss > THROWN_OFF * plateau && r.finalLoss > r.curve[0]!);
}

function cell(lr: number, runs: readonly RunResult[], plateau: number | undefined): Cell {
  const hasAccuracy = runs.some((r) => r.accuracy !== null);
  return {
    lr,
    runs,
    stepsToTarget: spread(runs.map((r) => r.stepsToTarget ?? Infinity)),
    finalLoss: spread(runs.map((r) => r.finalLoss)),
    accuracy: hasAccuracy ? spread(runs.map((r) => r.accuracy ?? 0)) : null,
    rises: spread(runs.map((r) => r.rises)),
    reached: runs.filter((r) => r.stepsToTarget !== null).length,
    diverged: runs.filter((r) => divergedRun(r, plateau)).length,
    stalled: plateau === undefined ? 0 : runs.filter((r) => !divergedRun(r, plateau) && r.finalLoss >= STALLED * plateau).length,
  };
}

/** One optimizer on one problem, over the learning-rate grid. */
export interface Entry {
  readonly optimizer: OptimizerSpec;
  /** One cell per learning rate of the grid, in grid order. */
  readonly cells: readonly Cell[];
  /**
   * The tuned learning rate: of those where most seeds reach the target, the one with the fewest
   * median steps to it (then the lowest median final loss); when none does, the lowest median
   * final loss.
   */
  readonly best: Cell;
  /** Learning rates of the grid at which most seeds reach the target. */
  readonly goodLrs: readonly number[];
  /** The cell at the optimizer's library default learning rate, when the grid has it. */
  readonly atDefault: Cell | null;
}

/** Results of one problem. */
export interface ProblemResult {
  readonly problem: Problem;
  readonly entries: readonly Entry[];
}

/** The better of two cells by the rule of {@link Entry.best}. */
function better(a: Cell, b: Cell): Cell {
  const seeds = a.runs.length;
  const aOk = 2 * a.reached > seeds;
  const bOk = 2 * b.reached > seeds;
  if (aOk !== bOk) return aOk ? a : b;
  if (aOk && a.stepsToTarget.median !== b.stepsToTarget.median) return a.stepsToTarget.median < b.stepsToTarget.median ? a : b;
  return b.finalLoss.median < a.finalLoss.median ? b : a;
}

/** Groups the runs (in {@link tasks} order) by problem, optimizer and learning rate, and reads them. */
export function analyse(plan: Plan, results: readonly RunResult[]): ProblemResult[] {
  const all = tasks(plan);
  if (results.length !== all.length) throw new Error(`analyse: ${results.length} results for ${all.length} runs`);
  const perCell = plan.seeds.length;
  const perEntry = plan.lrs.length * perCell;
  return plan.problems.map((problem, p) => ({
    problem,
    entries: plan.optimizers.map((optimizer, o) => {
      const base = (p * plan.optimizers.length + o) * perEntry;
      const cells = plan.lrs.map((lr, l) => cell(lr, results.slice(base + l * perCell, base + (l + 1) * perCell), problem.plateau));
      return {
        optimizer,
        cells,
        best: cells.reduce(better),
        goodLrs: cells.filter((c) => 2 * c.reached > perCell).map((c) => c.lr),
        atDefault: cells.find((c) => c.lr === optimizer.defaultLr) ?? null,
      };
    }),
  }));
}

/** Decades spanned by a set of learning rates (0 for one value, NaN for none). */
export function decades(lrs: readonly number[]): number {
  if (lrs.length === 0) return NaN;
  return Math.log10(Math.max(...lrs) / Math.min(...lrs));
}
