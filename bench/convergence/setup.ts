// The study's plan, built the same way in the main thread and in every worker (Node only: it
// reads the datasets from bench/data/).
import { readFileSync } from 'node:fs';
import { parseCsv, problems } from './problems.js';
import type { Problem } from './problems.js';
import { OPTIMIZERS } from './run.js';
import { LRS, SEEDS } from './study.js';
import type { Plan } from './study.js';

/** How the study is run: `--quick` for CI, `--problems a,b` for a subset. */
export interface Settings {
  readonly quick: boolean;
  /** Problem ids to run; empty = all. */
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

/** Quick mode: a tenth of the steps, two seeds, three learning rates. */
function quick(p: Problem): Problem {
  return { ...p, steps: p.steps / 10, evalEvery: Math.max(1, p.evalEvery / 10) };
}

export function makePlan(settings: Settings): Plan {
  const data = { digits: parseCsv(dataFile('digits.csv'), 0), breastCancer: parseCsv(dataFile('breast_cancer.csv'), 1) };
  let list = problems(data);
  if (settings.only.length > 0) {
    const unknown = settings.only.filter((id) => !list.some((p) => p.id === id));
    if (unknown.length > 0) throw new Error(`unknown problem ${unknown.join(', ')}; the problems: ${list.map((p) => p.id).join(', ')}`);
    list = list.filter((p) => settings.only.includes(p.id));
  }
  return settings.quick
    ? { problems: list.map(quick), optimizers: OPTIMIZERS, lrs: [0.001, 0.01, 0.1], seeds: [1, 2] }
    : { problems: list, optimizers: OPTIMIZERS, lrs: LRS, seeds: SEEDS };
}
