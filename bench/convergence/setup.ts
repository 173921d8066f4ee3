// The study's plan, built the same way in the main thread and in every worker (Node only: it
// reads the datasets from bench/data/).
import { readFileSync } from 'node:fs';
import { digitsSplit, parseCsv, problems } from './problems.js';
import type { Problem } from './problems.js';
import { OPTIMIZERS, RECURRENT_OPTIMIZERS } from './run.js';
import { recurrentProblems } from './sequences.js';
import { LRS, SEEDS } from './study.js';
import type { Plan } from './study.js';

/**
 * The study's two parts: the feed-forward problems (six optimizers; `npm start`) and the
 * recurrent ones (fourteen: the six, `presets.graves`, and each clipped; `npm start -- --recurrent`).
 */
export type Suite = 'feed-forward' | 'recurrent';

/** The suites in document order. */
export const SUITES: readonly Suite[] = ['feed-forward', 'recurrent'];

/** How the study is run: `--quick` for CI, `--problems a,b` for a subset. */
export interface Settings {
  readonly suite: Suite;
  readonly quick: boolean;
  /** Problem ids to run; empty = all of the suite. */
  readonly only: readonly string[];
}

/** Finds bench/data/ from the source tree (bench/convergence/) or the build tree (build/bench/convergence/). */
function dataFile(name: string): string {
  for (const up of ['../data/', '../../../bench/data/']) {
    const url = new URL(up + name, import.meta.url);
    try {
      return readFileSync(url, 'utf8');
    } catch {
      // try the next place
    }
  }
  throw new Error(`convergence study: cannot find bench/data/${name}`);
}

/**
 * Quick mode: two seeds, three learning rates, and a tenth of the steps (a thirtieth for the
 * recurrent problems, whose steps cost more), the loss recorded ten times as often.
 */
function quick(p: Problem, suite: Suite): Problem {
  return { ...p, steps: p.steps / (suite === 'recurrent' ? 30 : 10), evalEvery: Math.max(1, p.evalEvery / 10) };
}

/** Every problem of the study, by suite. */
export function allProblems(): Record<Suite, Problem[]> {
  if (cached === null) {
    const data = { digits: parseCsv(dataFile('digits.csv'), 0), breastCancer: parseCsv(dataFile('breast_cancer.csv'), 1) };
    cached = { 'feed-forward': problems(data), recurrent: recurrentProblems(digitsSplit(data)) };
  }
  return cached;
}
/** The problems, built once per thread (the datasets parsed once). */
let cached: Record<Suite, Problem[]> | null = null;

/**
 * The suites holding the problems `only` names (every suite's id is checked); empty `only`: none.
 */
export function suitesOf(only: readonly string[]): Suite[] {
  const all = allProblems();
  const known = SUITES.flatMap((s) => all[s].map((p) => p.id));
  const unknown = only.filter((id) => !known.includes(id));
  if (unknown.length > 0) throw new Error(`unknown problem ${unknown.join(', ')}; the problems: ${known.join(', ')}`);
  return SUITES.filter((s) => all[s].some((p) => only.includes(p.id)));
}

/** The runs of one suite; `only` may name problems of either suite (an unknown id throws). */
export function makePlan(settings: Settings): Plan {
  let list = allProblems()[settings.suite];
  if (settings.only.length > 0) {
    suitesOf(settings.only);
    list = list.filter((p) => settings.only.includes(p.id));
  }
  const optimizers = settings.suite === 'recurrent' ? RECURRENT_OPTIMIZERS : OPTIMIZERS;
  return settings.quick
    ? { problems: list.map((p) => quick(p, settings.suite)), optimizers, lrs: [0.001, 0.01, 0.1], seeds: [1, 2] }
    : { problems: list, optimizers, lrs: LRS, seeds: SEEDS };
}

/**
 * The parts a command runs: those of the problems named (only the recurrent ones with
 * --recurrent), else --recurrent's, else both when quick, else the feed-forward part.
 */
export function chooseSuites(only: readonly string[], recurrent: boolean, quick: boolean): Suite[] {
  if (only.length > 0) {
    const named = suitesOf(only).filter((s) => !recurrent || s === 'recurrent');
    if (named.length === 0) throw new Error(`--recurrent --problems ${only.join(',')}: none of these is a recurrent problem`);
    return named;
  }
  return recurrent ? ['recurrent'] : quick ? ['feed-forward', 'recurrent'] : ['feed-forward'];
}

/** Where a command writes by default: docs/ holds the full parts only; quick or partial runs go to build/. */
export function defaultOut(only: readonly string[], quick: boolean): string {
  return quick ? 'build/convergence-quick' : only.length > 0 ? 'build/convergence-problems' : 'docs';
}
