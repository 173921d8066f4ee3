// Writes what the study found: a summary table for the terminal, SVG plots, and the Markdown of
// docs/convergence.md. Pure functions from the analysed results to strings.
import type { Suite } from './setup.js';
import type { Plan, ProblemResult, Entry, Spread } from './study.js';
import { decades, spread } from './study.js';
import { linePlot } from './svg.js';

/** A loss or other positive number in 3 significant digits. */
export function num(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '∞';
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e-2 && a < 1e4 ? String(Number(x.toPrecision(3))) : x.toExponential(2).replace('e+', 'e');
}

/** A learning rate of the grid: 1e-4, 3.16e-4, 0.001, ... */
export function lrText(lr: number): string {
  return lr < 1e-3 ? lr.toExponential().replace('e+', 'e') : String(lr);
}

/** A step count; Infinity (never) as "—". */
export const steps = (s: number): string => (s === Infinity ? '—' : String(Math.round(s)));
/** A share as a percentage. */
export const pct = (x: number): string => `${(100 * x).toFixed(x < 0.1 && x > 0 ? 1 : 0)}%`;
const range = (s: Spread, f: (x: number) => string): string => (s.min === s.max ? f(s.median) : `${f(s.median)} [${f(s.min)}–${f(s.max)}]`);

/** The entry's tuned median steps to target, Infinity when most seeds do not reach it. */
export const tunedSteps = (e: Entry): number => (2 * e.best.reached > e.best.runs.length ? e.best.stepsToTarget.median : Infinity);

/** Shares of an entry's runs over the whole grid (every lr and seed) that diverged and that stalled. */
export function failures(e: Entry): { diverged: number; stalled: number } {
  const runs = e.cells.reduce((n, c) => n + c.runs.length, 0);
  return {
    diverged: e.cells.reduce((n, c) => n + c.diverged, 0) / runs,
    stalled: e.cells.reduce((n, c) => n + c.stalled, 0) / runs,
  };
}

/** The reached / seeds count, when not every seed reached the target. */
function stepsCell(e: Entry): string {
  const c = e.best;
  const seeds = c.runs.length;
  const note = c.reached === seeds ? '' : ` (${c.reached}/${seeds} seeds)`;
  return c.stepsToTarget.median === Infinity && c.reached === 0 ? '—' : range(c.stepsToTarget, steps) + note;
}

function goodRange(e: Entry): string {
  if (e.goodLrs.length === 0) return 'none';
  const lo = Math.min(...e.goodLrs);
  const hi = Math.max(...e.goodLrs);
  return lo === hi ? `${lrText(lo)} only` : `${lrText(lo)}–${lrText(hi)} (${e.goodLrs.length})`;
}

interface Column {
  readonly head: string;
  readonly value: (e: Entry) => string;
}

function columns(result: ProblemResult): Column[] {
  const cols: Column[] = [
    { head: 'optimizer', value: (e) => e.optimizer.label },
    { head: 'tuned lr', value: (e) => lrText(e.best.lr) },
    { head: 'steps to target', value: stepsCell },
    { head: 'final loss', value: (e) => range(e.best.finalLoss, num) },
  ];
  if (result.entries.some((e) => e.best.accuracy !== null)) {
    cols.push({ head: 'held-out accuracy', value: (e) => (e.best.accuracy === null ? '' : range(e.best.accuracy, pct)) });
  }
  cols.push(
    { head: 'loss rises', value: (e) => pct(e.best.rises.median) },
    { head: 'lrs reaching target', value: goodRange },
    ...(result.problem.plateau === undefined
      ? []
      : [
          { head: 'diverged (all lrs)', value: (e: Entry) => pct(failures(e).diverged) },
          { head: 'stalled (all lrs)', value: (e: Entry) => pct(failures(e).stalled) },
        ]),
    { head: 'final loss at default lr', value: (e) => (e.atDefault === null ? 'n/a' : `${num(e.atDefault.finalLoss.median)} (lr ${lrText(e.atDefault.lr)})`) },
  );
  return cols;
}

/** The terminal summary: one small table per problem. */
export function summaryTable(results: readonly ProblemResult[]): string {
  const out: string[] = [];
  for (const r of results) {
    const cols = columns(r).filter((c) => c.head !== 'final loss at default lr');
    const rows = [cols.map((c) => c.head), ...r.entries.map((e) => cols.map((c) => c.value(e)))];
    const widths = cols.map((_, i) => Math.max(...rows.map((row) => [...row[i]!].length)));
    out.push(`\n${r.problem.title} — target loss ${num(r.problem.target)} within ${r.problem.steps} steps`);
    rows.forEach((row, k) => {
      out.push(row.map((cell, i) => cell + ' '.repeat(widths[i]! - [...cell].length)).join('  '));
      if (k === 0) out.push(widths.map((w) => '-'.repeat(w)).join('  '));
    });
  }
  return out.join('\n');
}

function markdownTable(result: ProblemResult): string {
  const cols = columns(result);
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(cols.map((c) => c.head)), line(cols.map(() => '---')), ...result.entries.map((e) => line(cols.map((c) => c.value(e))))].join('\n');
}

/**
 * The y range of a loss plot: from a little below the lowest median point (at most 12 decades
 * under the top) up to `headroom` times the starting loss, so that a run blowing up leaves
 * through the top instead of squashing every other line.
 */
function lossRange(result: ProblemResult, medians: readonly number[], headroom: number): [number, number] {
  const start = Math.max(...result.entries.map((e) => e.best.runs[0]!.curve[0]!));
  const top = start * headroom;
  const low = Math.min(...medians.filter((v) => v > 0 && Number.isFinite(v)));
  const bottom = Math.max(Number.isFinite(low) ? low / 3 : top * 1e-6, top * 1e-12);
  return [10 ** Math.floor(Math.log10(bottom)), 10 ** Math.ceil(Math.log10(top))];
}

/** Loss curves of every optimizer (of `result.entries`) at its tuned learning rate: median over seeds, min–max band. */
export function curvesPlot(result: ProblemResult): string {
  const p = result.problem;
  const series = result.entries.map((e) => {
    const runs = e.best.runs;
    const points = runs[0]!.curve.length;
    const at = (i: number): Spread => spread(runs.map((r) => r.curve[i]!));
    const s = Array.from({ length: points }, (_, i) => at(i));
    return {
      label: `${e.optimizer.label} (lr ${lrText(e.best.lr)})`,
      x: Array.from({ length: points }, (_, i) => i * p.evalEvery),
      y: s.map((v) => v.median),
      lo: s.map((v) => v.min),
      hi: s.map((v) => v.max),
    };
  });
  const target = { label: 'target', x: [0, p.steps], y: [p.target, p.target], color: '#888888', dashed: true };
  return linePlot([...series, target], {
    title: `${p.title}: ${p.lossName ?? 'training loss'} at each optimizer's tuned learning rate`,
    xLabel: 'update',
    yLabel: p.lossName ?? 'training loss',
    yLog: true,
    yRange: lossRange(result, [...series.flatMap((s) => s.y), p.target], 1.5),
    width: 760,
    note: `median over ${result.entries[0]!.best.runs.length} seeds; band: min to max`,
  });
}

/** Final loss against learning rate for every optimizer (of `result.entries`): median over seeds, min–max band. */
export function sweepPlot(result: ProblemResult, plan: Plan, subtitle = ''): string {
  const p = result.problem;
  const series = result.entries.map((e) => ({
    label: e.optimizer.label,
    x: e.cells.map((c) => c.lr),
    y: e.cells.map((c) => c.finalLoss.median),
    lo: e.cells.map((c) => c.finalLoss.min),
    hi: e.cells.map((c) => c.finalLoss.max),
    markers: true,
  }));
  const lrs = plan.lrs;
  const target = { label: 'target', x: [Math.min(...lrs), Math.max(...lrs)], y: [p.target, p.target], color: '#888888', dashed: true };
  return linePlot([...series, target], {
    title: `${p.title}: final loss after ${p.steps} updates against learning rate${subtitle}`,
    xLabel: 'learning rate',
    yLabel: `final ${p.lossName ?? 'training loss'}`,
    xLog: true,
    yLog: true,
    yRange: lossRange(result, [...series.flatMap((s) => s.y), p.target], 10),
    width: 760,
    note: `median over ${plan.seeds.length} seeds; band: min to max; a line leaving through the top or a gap: diverged runs`,
  });
}

/** The file names of a problem's two plots. */
export function plotFiles(result: ProblemResult): { curves: string; sweep: string } {
  return { curves: `${result.problem.id}-curves.svg`, sweep: `${result.problem.id}-lr.svg` };
}

/** Which optimizer did best on each problem, by each measure, as a Markdown table. */
export function scoreboard(results: readonly ProblemResult[]): string {
  const winner = (r: ProblemResult, key: (e: Entry) => number): string => {
    // Ties are named together; "—" when no optimizer has a finite value.
    const best = Math.min(...r.entries.map(key));
    if (!Number.isFinite(best)) return '—';
    return r.entries.filter((e) => key(e) === best).map((e) => e.optimizer.label).join(', ');
  };
  const width = (e: Entry): number => (e.goodLrs.length === 0 ? Infinity : -e.goodLrs.length);
  const rows = results.map((r) =>
    [
      r.problem.title,
      winner(r, tunedSteps),
      winner(r, (e) => e.best.finalLoss.median),
      winner(r, width),
      winner(r, (e) => e.atDefault?.finalLoss.median ?? Infinity),
    ].join(' | '),
  );
  return ['| problem | fewest steps to target | lowest final loss | most lrs reaching target | best at its default lr |', '| --- | --- | --- | --- | --- |', ...rows.map((r) => `| ${r} |`)].join('\n');
}

/**
 * Optimizers side by side at the same learning rates (0.001 and 0.01, the libraries' defaults):
 * median steps to target ("—" when most seeds do not reach it) and final loss, per problem.
 */
export function sameLrTable(results: readonly ProblemResult[], plan: Plan, ids: readonly string[]): string {
  const lrs = [0.001, 0.01].filter((lr) => plan.lrs.includes(lr));
  const label = (id: string): string => plan.optimizers.find((o) => o.id === id)?.label ?? id;
  const cell = (r: ProblemResult, id: string, lr: number): string => {
    const c = r.entries.find((e) => e.optimizer.id === id)?.cells.find((x) => x.lr === lr);
    return c === undefined ? 'n/a' : `${steps(2 * c.reached > c.runs.length ? c.stepsToTarget.median : Infinity)} / ${num(c.finalLoss.median)}`;
  };
  const head = lrs.flatMap((lr) => ids.map((id) => `${label(id)}, lr ${lrText(lr)}`));
  const rows = results.map((r) => `| ${r.problem.title} | ${lrs.flatMap((lr) => ids.map((id) => cell(r, id, lr))).join(' | ')} |`);
  return [`| problem | ${head.join(' | ')} |`, `| --- | ${head.map(() => '---').join(' | ')} |`, ...rows].join('\n');
}

/**
 * One problem's section: its title, description, what was measured, its table and its plots
 * (alt text and file name in docs/convergence/).
 */
export function problemSection(r: ProblemResult, measured: string, plots: readonly (readonly [string, string])[]): string {
  const p = r.problem;
  return [`### ${p.title}`, '', `${p.description} ${measured}`, '', markdownTable(r), ...plots.flatMap(([alt, file]) => ['', `![${p.title}: ${alt}](convergence/${file})`])].join('\n');
}

/** What the study used, for the head of the document. */
export interface RunInfo {
  readonly command: string;
  readonly node: string;
  readonly cpu: string;
  readonly date: string;
  readonly seconds: number;
  readonly workers: number;
}

/** The Run: line of a part: what ran, where, how long. */
export function runLine(plan: Plan, info: RunInfo): string {
  const runs = plan.problems.length * plan.optimizers.length * plan.lrs.length * plan.seeds.length;
  return `Run: \`${info.command}\` — Node ${info.node}, ${info.cpu}, ${info.date}; ${plan.problems.length} problems × ${plan.optimizers.length} optimizers × ${plan.lrs.length} learning rates × ${plan.seeds.length} seeds = ${runs} runs in ${Math.round(info.seconds)} s on ${info.workers} worker thread(s). Deterministic: the same command gives the same numbers.`;
}

/** The feed-forward part of docs/convergence.md; `reading` is the hand-written interpretation kept from the last version. */
export function feedForwardPart(results: readonly ProblemResult[], plan: Plan, info: RunInfo, reading: string): string {
  const optimizers = plan.optimizers.map((o) => `${o.label} (default lr ${lrText(o.defaultLr)})`).join(', ');
  const defaults = 'The default learning rates are PyTorch\'s (RMSprop 0.01, Adam 0.001); PyTorch\'s SGD has none, and 0.01 stands in for it.';
  const sections = results.map((r) => {
    const f = plotFiles(r);
    const p = r.problem;
    const measured = `Target: training loss ≤ ${num(p.target)}; ${p.steps} updates; the loss is recorded every ${p.evalEvery} updates${p.fullBatch ? ' (and checked at every update for the target and for rises)' : ''}.`;
    return problemSection(r, measured, [['loss curves', f.curves], ['final loss against learning rate', f.sweep]]);
  });
  const spans = results
    .map((r) => `| ${r.problem.title} | ${r.entries.map((e) => (e.goodLrs.length === 0 ? '—' : decades(e.goodLrs).toFixed(1))).join(' | ')} |`)
    .join('\n');
  return `${runLine(plan, info)}

<!-- reading:start -->
${reading.trim()}
<!-- reading:end -->

## How it was measured

- **Optimizers**: ${optimizers}. RMSProp is this package with PyTorch's defaults (alpha 0.99, eps 1e-8), its parameters in a SIMD arena; "cosine decay" is \`cosineAnnealing(lr, { tMax: steps })\` from this package. SGD and Adam are PyTorch's, re-implemented in [bench/convergence/baselines.ts](../bench/convergence/baselines.ts) and checked against torch 1.13 (test/baselines.test.ts). ${defaults}
- **Learning rates**: ${plan.lrs.map(lrText).join(', ')} for every optimizer; seeds ${plan.seeds.join(', ')} (a seed sets the starting point or the initial weights and the mini-batch order; the data splits are fixed).
- **Tuned lr**: of the learning rates at which most seeds reach the target, the one with the fewest median steps to it; if none reaches it, the lowest median final loss. Every column of a table is at that learning rate, except the last two.
- **Steps to target**: the update count from which the training loss stays at or below the target to the end of the run (a run that only passes through it has not reached it); median [min–max] over seeds, "—" when most seeds do not get there (an upper end "—": some seed did not).
- **Final loss**: training loss after the last update; ∞ for a run that diverged (loss non-finite or above 1e6 times its start; the run stops there).
- **Held-out accuracy**: on the 20% split (digits, breast cancer) or a second sample of the spirals; a diverged run counts as 0.
- **Loss rises**: of the updates (full-batch problems) or evaluations (digits) made from a loss above the target, the share at which the training loss went up: 0% is a monotone descent. Rises below the target are left out (there they are mostly float32 rounding).
- **lrs reaching target**: the grid's learning rates at which most seeds reach the target — how wide the good range is (count in brackets; the grid has ${plan.lrs.length} values, half a decade apart).

## Which optimizer did best

${scoreboard(results)}

Width of the good learning-rate range, in decades (0 = a single grid value, — = none):

| problem | ${plan.optimizers.map((o) => o.label).join(' | ')} |
| --- | ${plan.optimizers.map(() => '---').join(' | ')} |
${spans}

Adam and RMSProp at the same learning rates — steps to target / final loss (medians; "—": most seeds
did not reach the target):

${sameLrTable(results, plan, ['adam', 'rmsprop'])}

## Results per problem

${sections.join('\n\n')}
`;
}

/** The parts of docs/convergence.md, in order, with the commands that make them. */
const PARTS: readonly { readonly suite: Suite; readonly command: string }[] = [
  { suite: 'feed-forward', command: 'npm start' },
  { suite: 'recurrent', command: 'npm start -- --recurrent' },
];

// \r?\n: a checkout with CRLF line endings must not lose a part or a reading.
const partPattern = (suite: Suite): RegExp => new RegExp(`<!-- part:${suite}:start -->\\r?\\n([\\s\\S]*?)<!-- part:${suite}:end -->`);

/**
 * The whole document: the parts made by this run, and the others kept from `existing` (the
 * file as it was), or a line saying which command makes them.
 */
export function document(parts: Partial<Record<Suite, string>>, existing: string | null): string {
  const body = PARTS.map(({ suite, command }) => {
    const text = parts[suite] ?? existing?.match(partPattern(suite))?.[1] ?? `_Not run yet: \`${command}\`._\n`;
    return `<!-- part:${suite}:start -->\n${text.trimEnd()}\n<!-- part:${suite}:end -->`;
  });
  return `# Convergence study: RMSProp against SGD, momentum and Adam

<!-- Generated by \`npm start\` (the feed-forward part) and \`npm start -- --recurrent\` (the recurrent
part), bench/convergence/; each run rewrites its own part and keeps the other, and the readings
between the reading markers are hand-written and kept when the file is regenerated. -->

Two parts: six small feed-forward problems (\`npm start\`, a few minutes), and
[recurrent networks](#recurrent-networks) trained through time, where RMSProp made its name
(\`npm start -- --recurrent\`, about 70 minutes on 2 cores).

${body.join('\n\n')}

## Data

The digits and breast cancer datasets are from the UCI Machine Learning Repository, CC BY 4.0:
E. Alpaydin, C. Kaynak, *Optical Recognition of Handwritten Digits* (1998); W. Wolberg,
O. Mangasarian, N. Street, W. Street, *Breast Cancer Wisconsin (Diagnostic)* (1995). Copies and
attribution in [bench/data/](../bench/data/README.md).
`;
}

/** The reading markers of a part: `reading` (feed-forward, as before there were parts) and `reading:recurrent`. */
export const readingMarker = (suite: Suite): string => (suite === 'feed-forward' ? 'reading' : `reading:${suite}`);

/** The hand-written reading of a part of an existing docs/convergence.md, or a placeholder. */
export function keptReading(existing: string | null, suite: Suite = 'feed-forward'): string {
  const m = readingMarker(suite);
  const found = existing?.match(new RegExp(`<!-- ${m}:start -->\\r?\\n([\\s\\S]*?)<!-- ${m}:end -->`));
  return found?.[1] ?? '_No reading yet: run the full study and write one here._\n';
}
