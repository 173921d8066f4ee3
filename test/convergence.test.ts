// The convergence study's measuring and reading (bench/convergence/): metrics on problems whose
// answers are known, the tuned-lr rule, the real datasets, and a small end-to-end study.
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { param } from '../bench/convergence/autodiff.js';
import { runAll } from '../bench/convergence/pool.js';
import type { Problem } from '../bench/convergence/problems.js';
import { curvesPlot, feedForwardPart, keptReading, summaryTable, sweepPlot } from '../bench/convergence/report.js';
import { OPTIMIZERS, RECURRENT_OPTIMIZERS, run } from '../bench/convergence/run.js';
import type { RunResult } from '../bench/convergence/run.js';
import { makePlan } from '../bench/convergence/setup.js';
import { LRS, analyse, decades, quantile, spread, tasks } from '../bench/convergence/study.js';
import type { Plan } from '../bench/convergence/study.js';

const byId = (id: string): (typeof OPTIMIZERS)[number] => OPTIMIZERS.find((o) => o.id === id)!;

/** f(x) = x^2 / 2 in one dimension from x = 1: SGD at lr a gives x_t = (1 - a)^t. */
const parabola: Problem = {
  id: 'parabola',
  title: 'x^2 / 2',
  description: 'test',
  steps: 20,
  evalEvery: 5,
  target: 1e-3,
  fullBatch: true,
  create(_seed, alloc) {
    const x = param('x', 1, 1, () => 1, alloc);
    return {
      params: [x],
      trainLoss: () => x.data[0]! ** 2 / 2,
      lossAndGrad() {
        x.grad[0] = x.grad[0]! + x.data[0]!;
        return x.data[0]! ** 2 / 2;
      },
    };
  },
};

describe('one run', () => {
  it('counts steps to target, records the curve and the final loss exactly', () => {
    const r = run(parabola, byId('sgd'), 0.5, 1);
    // loss_t = 0.25^t / 2 <= 1e-3 first at t = 5 (4.9e-4); recorded every 5 updates.
    expect(r.stepsToTarget).toBe(5);
    expect(r.curve).toEqual([0, 5, 10, 15, 20].map((t) => Math.fround(0.5 ** t) ** 2 / 2));
    expect(r.finalLoss).toBe(r.curve[4]);
    expect(r.rises).toBe(0);
    expect(r.diverged).toBe(false);
    expect(r.accuracy).toBeNull();
  });

  it('counts steps to target as the step from which the loss stays below it, and rises above the target', () => {
    // lr 1.9: x_t = (-0.9)^t, the loss falls at every step.
    expect(run(parabola, byId('sgd'), 1.9, 1).rises).toBe(0);
    // Heavy ball (lr 0.5, momentum 0.9) overshoots: the loss rises at some steps, and dips below
    // the target as x crosses zero before it settles. The same recursion by hand, in float32:
    let x = 1;
    let b = 0;
    let rises = 0;
    let pairs = 0;
    let firstBelow = -1;
    let lastAbove = 0;
    const long = { ...parabola, steps: 200 };
    for (let t = 1; t <= long.steps; t++) {
      const before = (x * x) / 2;
      b = t === 1 ? x : Math.fround(0.9 * b + x);
      x = Math.fround(x - 0.5 * b);
      const loss = (x * x) / 2;
      if (before > parabola.target) {
        pairs++;
        if (loss > before) rises++;
      }
      if (loss <= parabola.target && firstBelow < 0) firstBelow = t;
      if (loss > parabola.target) lastAbove = t;
    }
    const r = run(long, byId('momentum'), 0.5, 1);
    expect(rises).toBeGreaterThan(0);
    expect(r.rises).toBe(rises / pairs);
    expect(firstBelow).toBeLessThan(lastAbove + 1); // the case this measure is for
    expect(lastAbove).toBeLessThan(long.steps);
    expect(r.stepsToTarget).toBe(lastAbove + 1);
  });

  it('stops a diverging run and reports it as diverged, with an infinite final loss', () => {
    const r = run(parabola, byId('sgd'), 3.16, 1); // x_t = (-2.16)^t
    expect(r.diverged).toBe(true);
    expect(r.finalLoss).toBe(Infinity);
    expect(r.stepsToTarget).toBeNull();
    expect(r.curve.length).toBe(5);
    expect(r.curve.at(-1)).toBe(Infinity);
  });

  it('is deterministic for a seed, and seeds differ', () => {
    const [rosenbrock, spirals] = makePlan({ suite: 'feed-forward', quick: true, only: ['rosenbrock', 'spirals'] }).problems;
    const a = run(spirals!, byId('rmsprop'), 0.01, 3);
    expect(run(spirals!, byId('rmsprop'), 0.01, 3)).toEqual(a);
    expect(run(spirals!, byId('rmsprop'), 0.01, 4).curve).not.toEqual(a.curve);
    expect(run(rosenbrock!, byId('adam'), 0.01, 1).curve).not.toEqual(run(rosenbrock!, byId('adam'), 0.01, 2).curve);
  });

  it('gives RMSProp the same updates inside and outside the SIMD arena, to float32 rounding', () => {
    const quad = makePlan({ suite: 'feed-forward', quick: true, only: ['quadratic'] }).problems[0]!;
    const rmsprop = byId('rmsprop');
    const inArena = run(quad, rmsprop, 0.01, 1);
    const plain = run(quad, { ...rmsprop, arena: false }, 0.01, 1);
    inArena.curve.forEach((loss, i) => expect(Math.abs(loss - plain.curve[i]!) / plain.curve[i]!).toBeLessThan(1e-4));
  });
});

describe('quantile', () => {
  it('interpolates linearly between order statistics', () => {
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(quantile([4, 1, 3, 2], 0)).toBe(1);
    expect(quantile([4, 1, 3, 2], 1)).toBe(4);
    expect(quantile([0, 10], 0.25)).toBe(2.5);
    expect(quantile([7], 0.3)).toBe(7);
    expect(quantile([], 0.5)).toBeNaN();
  });

  it('counts NaN and Infinity as diverged runs, above every finite value', () => {
    expect(quantile([1, 2, NaN], 1)).toBe(Infinity);
    expect(quantile([1, 2, NaN], 0.5)).toBe(2);
    expect(quantile([1, Infinity], 0)).toBe(1);
    expect(quantile([1, Infinity], 0.5)).toBe(Infinity);
    expect(quantile([Infinity, Infinity, 1], 0.75)).toBe(Infinity);
    expect(quantile([-Infinity, 5], 0.5)).toBe(-Infinity);
  });

  it.each([[-0.1], [1.1], [NaN]])('rejects q = %o', (q) => {
    expect(() => quantile([1], q)).toThrow(new RangeError(`quantile: invalid q: expected a number from 0 to 1, got ${q}`));
  });
});

describe('reading the runs', () => {
  it('spread: median (mean of the middle two for an even count), min, max; NaN counts as Infinity', () => {
    expect(spread([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3 });
    expect(spread([4, 1, 2, 3])).toEqual({ median: 2.5, min: 1, max: 4 });
    expect(spread([1, NaN, Infinity])).toEqual({ median: Infinity, min: 1, max: Infinity });
    expect(spread([1, 2, Infinity, Infinity])).toEqual({ median: Infinity, min: 1, max: Infinity });
  });

  it('the grid: ten learning rates half a decade apart, with every default learning rate in it', () => {
    expect(LRS).toEqual([1e-4, 3.16e-4, 1e-3, 3.16e-3, 0.01, 0.0316, 0.1, 0.316, 1, 3.16]);
    expect(decades(LRS)).toBeCloseTo(4.5, 2);
    for (const o of OPTIMIZERS) expect(LRS).toContain(o.defaultLr);
  });

  it('tunes the lr: fewest median steps among lrs where most seeds reach the target, else lowest final loss', () => {
    const result = (steps: number | null, loss: number): RunResult => ({
      curve: [1, loss],
      stepsToTarget: steps,
      finalLoss: loss,
      accuracy: null,
      rises: 0,
      diverged: false,
      gradNorms: null,
    });
    const plan: Plan = { problems: [parabola, parabola], optimizers: [byId('sgd')], lrs: [0.1, 1, 10], seeds: [1, 2, 3] };
    const results = [
      // problem 1: lr 0.1 reaches in ~50, lr 1 in ~20 with one seed failing, lr 10 only once.
      result(50, 1e-4), result(60, 1e-4), result(40, 1e-4),
      result(20, 1e-5), result(null, 2e-3), result(25, 1e-5),
      result(5, 1e-6), result(null, 1), result(null, 1),
      // problem 2: nobody reaches; lr 1 has the lowest median final loss.
      result(null, 0.5), result(null, 0.4), result(null, 0.6),
      result(null, 0.1), result(null, 0.2), result(null, 0.3),
      result(null, Infinity), result(null, 0.01), result(null, Infinity),
    ];
    expect(tasks(plan).length).toBe(results.length);
    const [first, second] = analyse(plan, results);
    expect(first!.entries[0]!.best.lr).toBe(1);
    expect(first!.entries[0]!.best.stepsToTarget.median).toBe(25);
    expect(first!.entries[0]!.goodLrs).toEqual([0.1, 1]);
    expect(first!.entries[0]!.atDefault?.lr).toBeUndefined(); // SGD's 0.01 is not in this grid
    expect(second!.entries[0]!.best.lr).toBe(1);
    expect(second!.entries[0]!.goodLrs).toEqual([]);
    expect(() => analyse(plan, results.slice(1))).toThrow('analyse: 17 results for 18 runs');
  });
});

describe('the real datasets', () => {
  it('digits: 1797 8x8 images, 10 classes; breast cancer: 569 rows, 30 features, 212 malignant', () => {
    const plan = makePlan({ suite: 'feed-forward', quick: false, only: ['digits', 'breast-cancer'] });
    const [digits, cancer] = plan.problems;
    expect(digits!.description).toContain('1438 training, 359 held out');
    expect(cancer!.description).toContain('455 training, 114 held out');
    // A model at its starting point: chance-level accuracy on 10 and 2 classes.
    const d = digits!.create(1, (n) => new Float32Array(n));
    expect(d.params.map((p) => p.data.length)).toEqual([64 * 32, 32, 32 * 10, 10]);
    expect(d.heldOutAccuracy!()).toBeLessThan(0.3);
    expect(d.trainLoss()).toBeCloseTo(Math.log(10), 0);
  });

  it('rejects an unknown problem id and lists the known ones', () => {
    expect(() => makePlan({ suite: 'feed-forward', quick: true, only: ['mnist'] })).toThrow(
      'unknown problem mnist; the problems: quadratic, quadratic-rotated, rosenbrock, spirals, digits, breast-cancer, adding-rnn, adding-lstm, digits-rnn, digits-lstm',
    );
    // A problem of the other suite is no error: that suite's plan has it, this one's does not.
    expect(makePlan({ suite: 'feed-forward', quick: true, only: ['adding-lstm'] }).problems).toEqual([]);
  });
});

describe('a small study, end to end', () => {
  it('runs, analyses and writes every table and plot, the same on a second run', async () => {
    const settings = { suite: 'feed-forward' as const, quick: true, only: ['quadratic', 'breast-cancer'] };
    const plan = makePlan(settings);
    const list = tasks(plan);
    let calls = 0;
    const results = await runAll(plan, settings, list, 0, () => calls++);
    expect(calls).toBe(list.length);
    const analysed = analyse(plan, results);
    const info = { command: 'npm start -- --quick', node: 'v20', cpu: 'test CPU', date: '2026-01-01', seconds: 1, workers: 1 };
    const doc = feedForwardPart(analysed, plan, info, keptReading('<!-- reading:start -->\nkept text\n<!-- reading:end -->'));
    expect(doc).toContain('\nkept text\n');
    for (const o of OPTIMIZERS) expect(doc).toContain(`| ${o.label} |`);
    expect(doc).toContain('(convergence/quadratic-curves.svg)');
    expect(doc).toContain('(convergence/breast-cancer-lr.svg)');
    const table = summaryTable(analysed);
    expect(table).toContain('Breast cancer, logistic regression — target loss 0.08 within 50 steps');
    for (const r of analysed) {
      for (const svg of [curvesPlot(r), sweepPlot(r, plan)]) {
        expect(svg.startsWith('<svg')).toBe(true);
        expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
      }
    }
    // Deterministic: the same runs give the same document.
    const again = analyse(plan, await runAll(plan, settings, list, 0, () => {}));
    expect(feedForwardPart(again, plan, info, keptReading(null))).toBe(feedForwardPart(analysed, plan, info, keptReading(null)));
  });
});

describe('docs/convergence.md', () => {
  const docs = new URL('../docs/', import.meta.url);
  const doc = readFileSync(new URL('convergence.md', docs), 'utf8');
  const part = (suite: string): string => doc.match(new RegExp(`<!-- part:${suite}:start -->\\n([\\s\\S]*?)<!-- part:${suite}:end -->`))?.[1] ?? '';

  it('has the full feed-forward study: every problem, optimizer and plot of the plan, and a hand-written reading', () => {
    const plan = makePlan({ suite: 'feed-forward', quick: false, only: [] });
    const ff = part('feed-forward');
    expect(ff).toContain(`${plan.problems.length} problems × ${plan.optimizers.length} optimizers × ${LRS.length} learning rates × 5 seeds`);
    for (const p of plan.problems) expect(ff).toContain(`### ${p.title}\n\n${p.description}`);
    for (const o of OPTIMIZERS) expect(ff).toContain(`| ${o.label} |`);
    expect(keptReading(doc, 'feed-forward')).toContain('when should I use RMSProp rather than Adam?');
  });

  it('has the full recurrent study: every problem, all fourteen optimizers, four plots each, and a reading', () => {
    const plan = makePlan({ suite: 'recurrent', quick: false, only: [] });
    const rec = part('recurrent');
    expect(rec).toContain(`Run: \`npm start -- --recurrent\``);
    expect(rec).toContain(`${plan.problems.length} problems × ${plan.optimizers.length} optimizers × ${LRS.length} learning rates × 5 seeds`);
    for (const p of plan.problems) expect(rec).toContain(`### ${p.title}\n\n${p.description}`);
    for (const o of RECURRENT_OPTIMIZERS) expect(rec).toContain(`| ${o.label} |`);
    expect(keptReading(doc, 'recurrent')).not.toContain('No reading yet');
  });

  it('links every plot in docs/convergence/, and only those', () => {
    const linked = [...doc.matchAll(/\]\(convergence\/([\w-]+\.svg)\)/g)].map((m) => m[1]!).sort();
    expect(linked).toEqual(readdirSync(new URL('convergence/', docs)).sort());
    const ff = makePlan({ suite: 'feed-forward', quick: false, only: [] }).problems.length;
    const rec = makePlan({ suite: 'recurrent', quick: false, only: [] }).problems.length;
    expect(linked.length).toBe(2 * ff + 4 * rec);
  });
});
