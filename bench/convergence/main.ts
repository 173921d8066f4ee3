// `npm start`: the convergence study. Trains every problem with every optimizer over a grid of
// learning rates and seeds, prints a summary, and writes docs/convergence.md with SVG plots.
//
//   npm start                      the full study (a few minutes on 2 cores), into docs/
//   npm start -- --quick           a small version (seconds), into build/convergence-quick/
//   npm start -- --problems a,b    only some problems (ids: quadratic, quadratic-rotated,
//                                  rosenbrock, spirals, digits, breast-cancer)
//   npm start -- --workers N       worker threads (default: one per core; 0 = this thread)
//   npm start -- --out DIR         where the Markdown goes (plots in DIR/convergence/)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runAll } from './pool.js';
import { keptReading, markdown, plotFiles, summaryTable, curvesPlot, sweepPlot } from './report.js';
import { makePlan } from './setup.js';
import type { Settings } from './setup.js';
import { analyse, tasks } from './study.js';

const root = new URL('../../../', import.meta.url).pathname;
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    problems: { type: 'string', default: '' },
    workers: { type: 'string', default: String(availableParallelism()) },
    out: { type: 'string' },
  },
});
const settings: Settings = { quick: values.quick, only: values.problems.split(',').filter((s) => s !== '') };
const workers = Number(values.workers);
if (!Number.isInteger(workers) || workers < 0) throw new Error(`--workers: expected a whole number >= 0, got ${values.workers}`);
const out = resolve(root, values.out ?? (settings.quick ? 'build/convergence-quick' : 'docs'));

const plan = makePlan(settings);
const list = tasks(plan);
const tty = process.stdout.isTTY;
console.log(
  `Convergence study${settings.quick ? ' (quick)' : ''}: ${plan.problems.length} problems x ${plan.optimizers.length} optimizers x ${plan.lrs.length} learning rates x ${plan.seeds.length} seeds = ${list.length} runs on ${workers || 1} thread(s)`,
);
const started = performance.now();
let lastShown = -1;
const results = await runAll(plan, settings, list, workers, (done, total, task) => {
  const seconds = (performance.now() - started) / 1000;
  const what = `${plan.problems[task.problem]!.id} / ${plan.optimizers[task.optimizer]!.id}`;
  if (tty) {
    const bar = '#'.repeat(Math.round((30 * done) / total)).padEnd(30, '.');
    process.stdout.write(`\r[${bar}] ${done}/${total} runs, ${seconds.toFixed(0)} s, ${what}`.padEnd(100));
    if (done === total) process.stdout.write('\n');
  } else if (Math.floor((10 * done) / total) > lastShown) {
    lastShown = Math.floor((10 * done) / total);
    console.log(`${String(Math.round((100 * done) / total)).padStart(3)}%  ${done}/${total} runs, ${seconds.toFixed(0)} s`);
  }
});
const seconds = (performance.now() - started) / 1000;
const analysed = analyse(plan, results);
console.log(summaryTable(analysed));

mkdirSync(join(out, 'convergence'), { recursive: true });
for (const r of analysed) {
  const f = plotFiles(r);
  writeFileSync(join(out, 'convergence', f.curves), curvesPlot(r));
  writeFileSync(join(out, 'convergence', f.sweep), sweepPlot(r, plan));
}
const doc = join(out, 'convergence.md');
let existing: string | null = null;
try {
  existing = readFileSync(doc, 'utf8');
} catch {
  // first run: no reading to keep
}
const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
const command = `npm start${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`;
const info = { command, node: process.version, cpu: `${cpu} (${availableParallelism()} cores)`, date: new Date().toISOString().slice(0, 10), seconds, workers: workers || 1 };
writeFileSync(doc, markdown(analysed, plan, info, keptReading(existing)));
console.log(`\n${list.length} runs in ${seconds.toFixed(0)} s. Wrote ${doc} and ${analysed.length * 2} plots in ${join(out, 'convergence')}/`);
