// The record of a part's runs, kept in build/ so that `npm start -- --reuse` can write the report
// again without training again (the recurrent part takes about 70 minutes). A record is used only
// for the same plan: the same problems (as described), optimizers (as labelled), learning rates
// and seeds; it does not know the code, so after a change that alters the runs, run again.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { RunResult } from './run.js';
import type { Plan } from './study.js';

/** A part's runs and where and how long they ran. */
export interface RunRecord {
  readonly fingerprint: string;
  readonly results: readonly RunResult[];
  readonly seconds: number;
  readonly workers: number;
  readonly node: string;
  readonly cpu: string;
  /** ISO date (yyyy-mm-dd) of the run. */
  readonly date: string;
}

/** What identifies a plan's runs: everything that decides them except the code. */
export function fingerprint(plan: Plan): string {
  return JSON.stringify({
    problems: plan.problems.map((p) => [p.id, p.title, p.description, p.steps, p.evalEvery, p.target, p.plateau ?? null]),
    optimizers: plan.optimizers.map((o) => [o.id, o.label, o.defaultLr, o.clip ?? null]),
    lrs: plan.lrs,
    seeds: plan.seeds,
  });
}

/** JSON has no Infinity or NaN: they are written as strings. */
const encode = (_: string, v: unknown): unknown => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v);
const decode = (_: string, v: unknown): unknown => (v === 'Infinity' || v === '-Infinity' || v === 'NaN' ? Number(v) : v);

export function saveRecord(file: string, record: RunRecord): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(record, encode));
}

/** The record in `file` when it is one of `plan`'s runs; null when there is none or it is another plan's. */
export function loadRecord(file: string, plan: Plan): RunRecord | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const record = JSON.parse(text, decode) as RunRecord;
  return record.fingerprint === fingerprint(plan) && record.results.length === plan.problems.length * plan.optimizers.length * plan.lrs.length * plan.seeds.length ? record : null;
}
