// `npm start`: the convergence study. Trains every problem with every optimizer over a grid of
// learning rates and seeds, prints a summary, and writes docs/convergence.md with SVG plots.
//
//   npm start                      the feed-forward part (a few minutes on 2 cores), into docs/
//   npm start -- --recurrent       the recurrent part (about 70 minutes on 2 cores), into docs/
//   npm start -- --quick           both parts, small (a minute or two), into build/convergence-quick/
//                                  (with --recurrent: the recurrent part only)
//   npm start -- --problems a,b    only some problems, of either part, into build/convergence-problems/
//                                  (ids: quadratic, quadratic-rotated, rosenbrock, spirals, digits,
//                                  breast-cancer, adding-rnn, adding-lstm, digits-rnn, digits-lstm)
//   npm start -- --workers N       worker threads (default: one per core; 0 = this thread)
//   npm start -- --out DIR         where the Markdown goes (plots in DIR/convergence/)
//   npm start -- --reuse           take a part's runs from the last run's record in build/ when its
//                                  plan is the same (to rewrite the report without training again;
//                                  the record does not know the code: after a change, run again)
//
// Each part of docs/convergence.md is rewritten only by the run that makes it; the other part and
// the hand-written readings are kept.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runAll } from './pool.js';
import { document, feedForwardPart, keptReading, plotFiles, summaryTable, curvesPlot, sweepPlot } from './report.js';
import { recurrentPart, recurrentPlots } from './report-recurrent.js';
import { fingerprint, loadRecord, saveRecord } from './record.js';
import { chooseSuites, defaultOut, makePlan } from './setup.js';
import type { Settings, Suite } from './setup.js';
import { analyse, tasks } from './study.js';

const root = new URL('../../../', import.meta.url).pathname;
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    recurrent: { type: 'boolean', default: false },
    problems: { type: 'string', default: '' },
    workers: { type: 'string', default: String(availableParallelism()) },
    out: { type: 'string' },
    reuse: { type: 'boolean', default: false },
  },
});
const only = values.problems.split(',').filter((s) => s !== '');
const suites = chooseSuites(only, values.recurrent, values.quick);
const workers = Number(values.workers);
if (!Number.isInteger(workers) || workers < 0) throw new Error(`--workers: expected a whole number >= 0, got ${values.workers}`);
const out = resolve(root, values.out ?? defaultOut(only, values.quick));
const doc = join(out, 'convergence.md');
let existing: string | null = null;
try {
  existing = readFileSync(doc, 'utf8');
} catch {
  // first run: nothing to keep
}
/** The command that makes a part's numbers: the flags that choose runs (not --out, --workers, --reuse). */
function commandFor(suite: Suite): string {
  const flags = [values.quick ? '--quick' : '', suite === 'recurrent' && (values.recurrent || (!values.quick && only.length === 0)) ? '--recurrent' : '', only.length > 0 ? `--problems ${only.join(',')}` : ''];
  const given = flags.filter((f) => f !== '');
  return `npm start${given.length > 0 ? ' -- ' + given.join(' ') : ''}`;
}
mkdirSync(join(out, 'convergence'), { recursive: true });

/** Runs one part (or takes its runs from the record of the last run) and returns its Markdown. */
async function runSuite(suite: Suite): Promise<string> {
  const settings: Settings = { suite, quick: values.quick, only };
  const plan = makePlan(settings);
  const list = tasks(plan);
  const file = join(root, 'build', `convergence-runs-${suite}${values.quick ? '-quick' : ''}${only.length > 0 ? '-' + only.join('+') : ''}.json`);
  const print = (s: string): void => void process.stdout.write(s);
  print(
    `\nConvergence study, ${suite} part${values.quick ? ' (quick)' : ''}: ${plan.problems.length} problems x ${plan.optimizers.length} optimizers x ${plan.lrs.length} learning rates x ${plan.seeds.length} seeds = ${list.length} runs on ${workers || 1} thread(s)\n`,
  );
  const started = performance.now();
  let record = values.reuse ? loadRecord(file, plan) : null;
  if (record !== null) {
    print(`reusing the ${record.results.length} runs recorded in ${file}\n`);
  } else {
    if (values.reuse) print(`no record of these runs in ${file}: running them\n`);
    const tty = process.stdout.isTTY;
    let lastShown = -1;
    const results = await runAll(plan, settings, list, workers, (done, total, task) => {
      const s = (performance.now() - started) / 1000;
      const what = `${plan.problems[task.problem]!.id} / ${plan.optimizers[task.optimizer]!.id}`;
      if (tty) {
        const bar = '#'.repeat(Math.round((30 * done) / total)).padEnd(30, '.');
        print(`\r[${bar}] ${done}/${total} runs, ${s.toFixed(0)} s, ${what}`.padEnd(100));
        if (done === total) print('\n');
      } else if (Math.floor((10 * done) / total) > lastShown) {
        lastShown = Math.floor((10 * done) / total);
        print(`${String(Math.round((100 * done) / total)).padStart(3)}%  ${done}/${total} runs, ${s.toFixed(0)} s\n`);
      }
    });
    const cores = `${cpus()[0]?.model.trim() ?? 'unknown CPU'} (${availableParallelism()} cores)`;
    record = { fingerprint: fingerprint(plan), results, seconds: (performance.now() - started) / 1000, workers: workers || 1, node: process.version, cpu: cores, date: new Date().toISOString().slice(0, 10) };
    saveRecord(file, record);
  }
  const { results } = record;
  const analysed = analyse(plan, results);
  print(summaryTable(analysed) + '\n');
  const info = { command: commandFor(suite), node: record.node, cpu: record.cpu, date: record.date, seconds: record.seconds, workers: record.workers };
  if (suite === 'recurrent') {
    for (const r of analysed) for (const [file, svg] of recurrentPlots(r, plan)) writeFileSync(join(out, 'convergence', file), svg);
    return recurrentPart(analysed, plan, info, keptReading(existing, suite));
  }
  for (const r of analysed) {
    const f = plotFiles(r);
    writeFileSync(join(out, 'convergence', f.curves), curvesPlot(r));
    writeFileSync(join(out, 'convergence', f.sweep), sweepPlot(r, plan));
  }
  return feedForwardPart(analysed, plan, info, keptReading(existing, suite));
}

const parts: Partial<Record<Suite, string>> = {};
const started = performance.now();
for (const suite of suites) parts[suite] = await runSuite(suite);
writeFileSync(doc, document(parts, existing));
console.log(`\n${suites.join(' and ')} part${suites.length > 1 ? 's' : ''} in ${((performance.now() - started) / 1000).toFixed(0)} s${values.reuse ? ' (runs recorded earlier are reused)' : ''}. Wrote ${doc} and its plots in ${join(out, 'convergence')}/`);
