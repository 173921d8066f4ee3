// The recurrent part of docs/convergence.md: the same tables as the feed-forward part, plus what
// recurrent networks add: runs that diverged or stalled over the whole grid, every optimizer
// with and without gradient clipping, and the gradient norm through time.
import { curvesPlot, failures, lrText, num, pct, problemSection, readingMarker, runLine, sameLrTable, scoreboard, steps, sweepPlot, tunedSteps } from './report.js';
import type { RunInfo } from './report.js';
import { CLIP_NORM } from './run.js';
import type { Plan, ProblemResult, Entry } from './study.js';
import { divergedRun, spread, STALLED, THROWN_OFF } from './study.js';
import { linePlot } from './svg.js';

/** The entries without clipping and those with, in the same order (clipped ids end in -clip). */
export function byClipping(r: ProblemResult): { plain: Entry[]; clipped: Entry[] } {
  return { plain: r.entries.filter((e) => e.optimizer.clip === undefined), clipped: r.entries.filter((e) => e.optimizer.clip !== undefined) };
}

/** The file names of a recurrent problem's four plots. */
export function recurrentPlotFiles(r: ProblemResult): { curves: string; sweep: string; clippedSweep: string; gradNorms: string } {
  const id = r.problem.id;
  return { curves: `${id}-curves.svg`, sweep: `${id}-lr.svg`, clippedSweep: `${id}-lr-clipped.svg`, gradNorms: `${id}-grad-norms.svg` };
}

/**
 * ‖d loss / d h_t‖ against the time step t: at the first update (the same initial weights for
 * every optimizer) and over the last updates of each optimizer (without clipping) at its tuned
 * learning rate; median over seeds, min–max band.
 */
export function gradNormPlot(r: ProblemResult): string {
  const { plain } = byClipping(r);
  const T = r.entries[0]!.best.runs[0]!.gradNorms?.first.length ?? 0;
  const x = Array.from({ length: T }, (_, t) => t + 1);
  const across = (runs: readonly (readonly number[])[]): { y: number[]; lo: number[]; hi: number[] } => {
    const s = x.map((_, t) => spread(runs.map((v) => v[t] ?? NaN)));
    return { y: s.map((v) => v.median), lo: s.map((v) => v.min), hi: s.map((v) => v.max) };
  };
  const first = across(r.entries[0]!.best.runs.map((run) => run.gradNorms?.first ?? []));
  // After training: the runs that did not diverge (a diverged run has no "after").
  const series = plain.map((e) => ({
    label: `${e.optimizer.label} (lr ${lrText(e.best.lr)})`,
    x,
    ...across(e.best.runs.filter((run) => !divergedRun(run, r.problem.plateau)).map((run) => run.gradNorms?.last ?? [])),
  }));
  // Every median line whole (they can span more than the default 12 decades); bands may leave the plot.
  const medians = [...series.flatMap((s) => s.y), ...first.y].filter((v) => v > 0 && Number.isFinite(v));
  const tops = [...series.flatMap((s) => s.hi), ...first.y].filter((v) => v > 0 && Number.isFinite(v));
  const yRange: [number, number] = [10 ** Math.floor(Math.log10(Math.min(...medians))), 10 ** Math.ceil(Math.log10(Math.max(...tops)))];
  return linePlot([...series, { label: 'at the first update', x, y: first.y, color: '#888888', dashed: true }], {
    title: `${r.problem.title}: gradient reaching each time step`,
    xLabel: 'time step t (the loss is read after the last)',
    yLabel: '‖d loss / d h_t‖',
    yLog: true,
    yRange,
    width: 760,
    note: `after training: mean of the last ${r.problem.evalEvery} updates, tuned lr, median of the seeds not diverged (band: min–max); dashed: first update`,
  });
}

/** Per problem and optimizer: tuned steps / final loss without and with clipping. */
function clippingTable(results: readonly ProblemResult[]): string {
  const cell = (e: Entry): string => `${steps(tunedSteps(e))} / ${num(e.best.finalLoss.median)} (lr ${lrText(e.best.lr)})`;
  const spans = (e: Entry): string => String(e.goodLrs.length);
  const rows = results.flatMap((r) => {
    const { plain, clipped } = byClipping(r);
    return plain.map((e, i) => {
      const c = clipped[i]!;
      return `| ${r.problem.title} | ${e.optimizer.label} | ${cell(e)} | ${cell(c)} | ${spans(e)} → ${spans(c)} | ${pct(failures(e).diverged)} → ${pct(failures(c).diverged)} |`;
    });
  });
  return [
    `| problem | optimizer | without clipping: steps / final loss | clip ${CLIP_NORM.toFixed(1)}: steps / final loss | lrs reaching target | diverged (all lrs) |`,
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

/** Per problem and optimizer (without clipping): diverged and stalled shares of all 50 runs. */
function failureTable(results: readonly ProblemResult[], plan: Plan): string {
  const plain = plan.optimizers.filter((o) => o.clip === undefined);
  const rows = results.map((r) => `| ${r.problem.title} | ${byClipping(r).plain.map((e) => `${pct(failures(e).diverged)} / ${pct(failures(e).stalled)}`).join(' | ')} |`);
  return [`| problem | ${plain.map((o) => o.label).join(' | ')} |`, `| --- | ${plain.map(() => '---').join(' | ')} |`, ...rows].join('\n');
}

/** The recurrent part of docs/convergence.md; `reading` is kept from the last version. */
export function recurrentPart(results: readonly ProblemResult[], plan: Plan, info: RunInfo, reading: string): string {
  const plain = plan.optimizers.filter((o) => o.clip === undefined);
  const sections = results.map((r) => {
    const f = recurrentPlotFiles(r);
    const p = r.problem;
    return problemSection(r, `Target: loss ≤ ${num(p.target)}; ${p.steps} updates; the loss is recorded every ${p.evalEvery} updates.`, [
      ['loss curves', f.curves],
      ['final loss against learning rate', f.sweep],
      ['final loss against learning rate, gradients clipped', f.clippedSweep],
      ['gradient norm through time', f.gradNorms],
    ]);
  });
  const m = readingMarker('recurrent');
  return `## Recurrent networks

${runLine(plan, info)}

<!-- ${m}:start -->
${reading.trim()}
<!-- ${m}:end -->

### How it was measured (what differs from the feed-forward part)

- **Optimizers**: ${plain.map((o) => `${o.label} (default lr ${lrText(o.defaultLr)})`).join(', ')}; and each of them again with the total gradient norm clipped to ${CLIP_NORM.toFixed(1)} before every step (\`clipGradNorm(params, ${CLIP_NORM.toFixed(1)})\` from this package, torch's \`clip_grad_norm_\`), the rows marked "clip ${CLIP_NORM.toFixed(1)}". \`presets.graves\` is RMSProp as Graves (2013) trained his recurrent networks: centered, momentum 0.9 with the lr inside the momentum buffer, alpha 0.95, eps 1e-4 inside the square root; the grid's lr replaces the preset's 1e-4.
- **The layers**: an Elman RNN (torch.nn.RNN, tanh) and an LSTM (torch.nn.LSTM), zero initial state, torch's initialisation, unrolled through every time step and trained with backpropagation through time ([bench/convergence/recurrent.ts](../bench/convergence/recurrent.ts); losses, gradients and the per-step gradient norms checked against torch 1.13 in test/recurrent.test.ts). A linear readout of the last hidden state makes the prediction.
- **Loss**: the adding problem's is the mean squared error on the held-out sequences (the training data is fresh every step, so there is nothing to overfit); the digits' is the training cross-entropy, with held-out accuracy beside it.
- **Diverged / stalled (all lrs)**: of all ${plan.lrs.length * plan.seeds.length} runs of an optimizer (every learning rate and seed), the share that diverged — the loss became non-finite or grew past 1e6 times its start (checked at every evaluation; a non-finite loss or gradient stops a run at once), or the run ended above ${THROWN_OFF} times the loss of the best constant prediction and above its own starting loss (thrown off: the networks' bounded outputs keep such a loss finite; a run still coming down from a high start is not counted) — and the share that stalled: ended, not diverged, at ${Math.round(STALLED * 100)}% of the constant prediction's loss or above (learned next to nothing; on the adding problem a network that has learned one of the two values is at about half of it, and has not stalled).
- **Gradient norm through time**: ‖d loss / d h_t‖, the gradient reaching the hidden state of step t through every later step (Frobenius norm over the mini-batch), at the first update and averaged over the last updates. Flat: the gradient carries back; falling to the left: it vanishes.
- **Columns**: every column of a problem's table is at the optimizer's tuned learning rate except the last four (lrs reaching target, diverged, stalled, final loss at the default lr). Everything else (learning rates ${plan.lrs.map(lrText).join(', ')}, seeds ${plan.seeds.join(', ')}, tuned lr, steps to target, loss rises, lrs reaching target) as in the feed-forward part.

### Which optimizer did best

${scoreboard(results)}

Adam and the RMSProp variants at the same learning rates — steps to target / final loss (medians;
"—": most seeds did not reach the target):

${sameLrTable(results, plan, ['adam', 'rmsprop', 'rmsprop-momentum', 'rmsprop-graves'])}

### Diverged and stalled runs

Share of all ${plan.lrs.length * plan.seeds.length} runs per optimizer (every learning rate, every seed), without clipping — diverged / stalled:

${failureTable(results, plan)}

### Does clipping change the verdict?

Each optimizer at its own tuned learning rate, without and with \`clipGradNorm(params, ${CLIP_NORM.toFixed(1)})\`; steps to target / final loss (medians), the number of grid learning rates at which most seeds reach the target, and the share of diverged runs over the grid:

${clippingTable(results)}

### Results per problem

${sections.join('\n\n')}
`;
}

/** The four plots of a recurrent problem, by file name. */
export function recurrentPlots(r: ProblemResult, plan: Plan): [string, string][] {
  const f = recurrentPlotFiles(r);
  const { plain, clipped } = byClipping(r);
  return [
    [f.curves, curvesPlot({ ...r, entries: plain })],
    [f.sweep, sweepPlot({ ...r, entries: plain }, plan)],
    [f.clippedSweep, sweepPlot({ ...r, entries: clipped }, plan, `, gradient norm clipped to ${CLIP_NORM.toFixed(1)}`)],
    [f.gradNorms, gradNormPlot(r)],
  ];
}
