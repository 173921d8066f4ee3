// The recurrent part of the convergence study (bench/convergence/sequences.ts, run.ts,
// report-recurrent.ts): the problems' data, what a run records, clipping, and the report.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { addingBatch, ADDING_STEPS } from '../bench/convergence/sequences.js';
import { rng } from '../bench/convergence/random.js';
import { document, keptReading, num } from '../bench/convergence/report.js';
import { byClipping, gradNormPlot, recurrentPart, recurrentPlots } from '../bench/convergence/report-recurrent.js';
import { RECURRENT_OPTIMIZERS, run } from '../bench/convergence/run.js';
import type { OptimizerSpec, RunResult } from '../bench/convergence/run.js';
import { fingerprint, loadRecord, saveRecord } from '../bench/convergence/record.js';
import { chooseSuites, defaultOut, makePlan } from '../bench/convergence/setup.js';
import { analyse, divergedRun, STALLED, tasks, THROWN_OFF } from '../bench/convergence/study.js';
import type { Plan } from '../bench/convergence/study.js';
import { runAll } from '../bench/convergence/pool.js';

// Recurrent runs take seconds, and more when the suite's other files share the cores.
vi.setConfig({ testTimeout: 120_000 });

const byId = (id: string): OptimizerSpec => RECURRENT_OPTIMIZERS.find((o) => o.id === id)!;
const problem = (id: string, quick = true) => makePlan({ suite: 'recurrent', quick, only: [id] }).problems[0]!;

describe('the adding problem', () => {
  it('has two markers per sequence, one in each half, and the target is the sum of the marked values', () => {
    const { x, y } = addingBatch(64, 50, rng(5));
    for (let b = 0; b < 64; b++) {
      const marked: number[] = [];
      for (let t = 0; t < 50; t++) {
        const value = x[(t * 64 + b) * 2]!;
        const marker = x[(t * 64 + b) * 2 + 1]!;
        expect(value >= 0 && value < 1).toBe(true);
        expect([0, 1]).toContain(marker);
        if (marker === 1) marked.push(t);
      }
      expect(marked.length).toBe(2);
      expect(marked[0]!).toBeLessThan(25);
      expect(marked[1]!).toBeGreaterThanOrEqual(25);
      expect(y[b]).toBe(Math.fround(x[(marked[0]! * 64 + b) * 2]! + x[(marked[1]! * 64 + b) * 2]!));
    }
  });

  it('is at least 50 steps long, and predicting the mean scores about 1/6', () => {
    expect(ADDING_STEPS).toBeGreaterThanOrEqual(50);
    for (const id of ['adding-rnn', 'adding-lstm']) {
      const p = problem(id, false);
      expect(p.plateau!).toBeGreaterThan(0.14);
      expect(p.plateau!).toBeLessThan(0.19);
      expect(p.description).toContain(`Predicting the mean gives ${p.plateau!.toFixed(3)}`);
      // An untrained model is worse than the mean, and its per-step gradient norms cover every step.
      const instance = p.create(1, (n) => new Float32Array(n));
      expect(instance.trainLoss()).toBeGreaterThan(p.plateau!);
      instance.lossAndGrad(0);
      expect(instance.gradNorms!().length).toBe(50);
    }
  });
});

describe('row-by-row digits', () => {
  it('reads 8 rows of 8 pixels; untrained, it guesses (loss near ln 10, accuracy near chance)', () => {
    for (const id of ['digits-rnn', 'digits-lstm']) {
      const p = problem(id, false);
      expect(p.plateau).toBe(Math.log(10));
      const instance = p.create(2, (n) => new Float32Array(n));
      expect(instance.trainLoss()).toBeCloseTo(Math.log(10), 0);
      expect(instance.heldOutAccuracy!()).toBeLessThan(0.3);
      instance.lossAndGrad(0);
      expect(instance.gradNorms!().length).toBe(8);
    }
  });

  it('learns: 60 RMSProp steps at lr 0.01 take the LSTM well above chance', () => {
    const p = { ...problem('digits-lstm', false), steps: 60 };
    const r = run(p, byId('rmsprop'), 0.01, 1);
    expect(r.finalLoss).toBeLessThan(1.5);
    expect(r.accuracy!).toBeGreaterThan(0.5);
  });
});

describe('a recurrent run', () => {
  it('records the gradient norm through time at the first update and at the end, and whether it stalled', () => {
    const p = problem('adding-lstm');
    const r = run(p, byId('adam'), 0.001, 1);
    expect(r.gradNorms!.first.length).toBe(50);
    expect(r.gradNorms!.last.length).toBe(50);
    expect(r.gradNorms!.first.every((v) => v > 0 && Number.isFinite(v))).toBe(true);
    // The loss is read after the last step: the gradient reaching the first steps is smaller.
    expect(r.gradNorms!.first[0]!).toBeLessThan(r.gradNorms!.first[49]!);
    // 100 quick steps do not solve the adding problem: stalled at the mean's loss.
    expect(r.finalLoss).toBeGreaterThan(STALLED * p.plateau!);
    // The first update's norms do not depend on the optimizer (same seed, same weights).
    expect(run(p, byId('rmsprop-graves'), 0.01, 1).gradNorms!.first).toEqual(r.gradNorms!.first);
  });

  it('clips the total gradient norm to 1.0 before each step in the clipped variants', () => {
    const clipped = RECURRENT_OPTIMIZERS.filter((o) => o.clip !== undefined);
    expect(clipped.map((o) => o.id)).toEqual(RECURRENT_OPTIMIZERS.filter((o) => o.clip === undefined).map((o) => `${o.id}-clip`));
    // SGD with and without clipping from the same start (the untrained RNN's total gradient norm
    // on the adding problem is about 4.6): one step each.
    const p = problem('adding-rnn');
    const plain = p.create(1, (n) => new Float32Array(n));
    const clip = p.create(1, (n) => new Float32Array(n));
    const before = plain.params.map((t) => Float32Array.from(t.data));
    const sgd = byId('sgd').make(plain.params, 1, 1);
    const sgdClip = byId('sgd-clip').make(clip.params, 1, 1);
    plain.lossAndGrad(0);
    clip.lossAndGrad(0);
    let norm = 0;
    for (const t of plain.params) for (const g of t.grad) norm += g * g;
    norm = Math.sqrt(norm);
    expect(norm).toBeGreaterThan(1); // so clipping has something to do
    sgd.step();
    sgdClip.step();
    // lr 1: the step is the gradient, scaled by 1 / (norm + 1e-6) when clipped.
    let moved = 0;
    clip.params.forEach((t, k) => t.data.forEach((v, i) => (moved += (v - before[k]![i]!) ** 2)));
    expect(Math.sqrt(moved)).toBeCloseTo(1, 4);
    const ratio = (clip.params[0]!.data[0]! - before[0]![0]!) / (plain.params[0]!.data[0]! - before[0]![0]!);
    expect(ratio).toBeCloseTo(1 / norm, 4);
  });
});

describe('diverged and stalled', () => {
  const result = (finalLoss: number, diverged = false): RunResult => ({
    curve: [1, finalLoss], stepsToTarget: null, finalLoss, accuracy: null, rises: 0, diverged, gradNorms: null,
  });

  it('a run at the plateau stalled; one that learned one of the two values did not; one thrown off above it diverged', () => {
    const p = problem('adding-lstm', false);
    const plateau = p.plateau!;
    // Held-out MSE: stuck at the mean; a model that reads one value (about half the plateau);
    // a run thrown off (finite, far above); a non-finite one; a solved one.
    const thrownOff = { ...result(THROWN_OFF * plateau * 1.5), curve: [plateau, THROWN_OFF * plateau * 1.5] }; // rose from its start
    const runs = [result(plateau * 0.99), result(plateau * 0.51), thrownOff, result(Infinity, true), result(0.005)];
    const plan: Plan = { problems: [p], optimizers: [byId('rmsprop')], lrs: [0.01], seeds: [1, 2, 3, 4, 5] };
    const [r] = analyse(plan, runs);
    const c = r!.entries[0]!.cells[0]!;
    expect(c.stalled).toBe(1);
    expect(c.diverged).toBe(2);
    expect(runs.map((x) => divergedRun(x, plateau))).toEqual([false, false, true, true, false]);
    // Above twice the plateau but still below where it started: slow, not thrown off (it stalled).
    const slow = { ...result(THROWN_OFF * plateau * 1.5), curve: [THROWN_OFF * plateau * 4, THROWN_OFF * plateau * 1.5] };
    expect(divergedRun(slow, plateau)).toBe(false);
    // Without a plateau (the feed-forward problems) only the strict rule counts, and nothing stalls.
    expect(divergedRun(result(1e5), undefined)).toBe(false);
    const { plateau: _, ...withoutPlateau } = p;
    const ff = analyse({ ...plan, problems: [withoutPlateau] }, runs)[0]!.entries[0]!.cells[0]!;
    expect([ff.diverged, ff.stalled]).toEqual([1, 0]);
  });

  it('a diverged run has no gradient norms after training, and a run counts only the refusal of a non-finite gradient as divergence', () => {
    const p = problem('adding-rnn');
    const r = run(p, byId('sgd'), 3.16, 1);
    expect(r.diverged).toBe(true);
    expect(r.gradNorms!.first.length).toBe(50);
    expect(r.gradNorms!.last).toEqual([]);
    const broken: OptimizerSpec = { ...byId('sgd'), make: () => ({ step: () => { throw new TypeError('a bug'); }, zeroGrad: () => {} }) };
    expect(() => run(p, broken, 0.01, 1)).toThrow(new TypeError('a bug'));
  });
});

describe('the record of a part\'s runs', () => {
  it('round-trips Infinity and NaN, and is used only for the same plan', () => {
    const dir = mkdtempSync(join(tmpdir(), 'convergence-record-'));
    const file = join(dir, 'runs.json');
    const plan: Plan = { problems: [problem('digits-rnn')], optimizers: [byId('rmsprop'), byId('rmsprop-clip')], lrs: [0.01], seeds: [1] };
    const results: RunResult[] = [0, 1].map((k) => ({
      curve: [2.3, k === 0 ? Infinity : 0.5], stepsToTarget: null, finalLoss: k === 0 ? Infinity : 0.5, accuracy: null, rises: 0, diverged: k === 0,
      gradNorms: { first: [1, NaN], last: [] },
    }));
    const record = { fingerprint: fingerprint(plan), results, seconds: 1, workers: 2, node: 'v20', cpu: 'test', date: '2026-01-01' };
    saveRecord(file, record);
    expect(loadRecord(file, plan)).toEqual(record);
    // Another clip norm, another problem size, another grid: not these runs.
    const relabelled = { ...plan, optimizers: [plan.optimizers[0]!, { ...plan.optimizers[1]!, label: 'RMSProp, clip 0.5', clip: 0.5 }] };
    expect(loadRecord(file, relabelled)).toBeNull();
    expect(loadRecord(file, { ...plan, problems: [{ ...plan.problems[0]!, steps: 40 }] })).toBeNull();
    expect(loadRecord(file, { ...plan, lrs: [0.001] })).toBeNull();
    expect(loadRecord(join(dir, 'none.json'), plan)).toBeNull();
  });
});

describe('the recurrent report', () => {
  it('pairs every optimizer with its clipped self, and writes tables and four plots per problem', async () => {
    const full = makePlan({ suite: 'recurrent', quick: true, only: ['digits-rnn'] });
    const ids = ['adam', 'rmsprop', 'adam-clip', 'rmsprop-clip'];
    const plan: Plan = { ...full, optimizers: ids.map(byId), lrs: [0.01], seeds: [1, 2] };
    const settings = { suite: 'recurrent' as const, quick: true, only: ['digits-rnn'] };
    const results = await runAll(plan, settings, tasks(plan), 0, () => {});
    const [r] = analyse(plan, results);
    expect(byClipping(r!).plain.map((e) => e.optimizer.id)).toEqual(['adam', 'rmsprop']);
    expect(byClipping(r!).clipped.map((e) => e.optimizer.id)).toEqual(['adam-clip', 'rmsprop-clip']);
    const info = { command: 'npm start -- --quick', node: 'v20', cpu: 'test CPU', date: '2026-01-01', seconds: 1, workers: 1 };
    const part = recurrentPart([r!], plan, info, keptReading('<!-- reading:recurrent:start -->\nkept\n<!-- reading:recurrent:end -->', 'recurrent'));
    expect(part).toContain('<!-- reading:recurrent:start -->\nkept\n<!-- reading:recurrent:end -->');
    for (const o of plan.optimizers) expect(part).toContain(`| ${o.label} |`);
    expect(part).toContain('| Digits row by row, Elman RNN 32 | Adam |');
    const plots = recurrentPlots(r!, plan);
    expect(plots.map(([f]) => f)).toEqual(['digits-rnn-curves.svg', 'digits-rnn-lr.svg', 'digits-rnn-lr-clipped.svg', 'digits-rnn-grad-norms.svg']);
    for (const [f, svg] of plots) expect(part).toContain(`(convergence/${f})`), expect(svg.startsWith('<svg')).toBe(true);
    // The gradient-norm plot: one line per optimizer without clipping, and the first update's.
    const norms = gradNormPlot(r!);
    expect(norms).toContain('at the first update');
    expect(norms).toContain('Adam (lr 0.01)');
    expect(norms).not.toContain('clip 1.0');
  });
});

describe('which parts a command runs, and where it writes', () => {
  it('npm start: feed-forward into docs; --recurrent: recurrent into docs; --quick: both into build', () => {
    expect(chooseSuites([], false, false)).toEqual(['feed-forward']);
    expect(chooseSuites([], true, false)).toEqual(['recurrent']);
    expect(chooseSuites([], false, true)).toEqual(['feed-forward', 'recurrent']);
    expect(chooseSuites([], true, true)).toEqual(['recurrent']);
    expect(defaultOut([], false)).toBe('docs');
    expect(defaultOut([], true)).toBe('build/convergence-quick');
  });

  it('--problems: the parts of the problems named, into build (docs keeps the full parts)', () => {
    expect(chooseSuites(['digits', 'adding-rnn'], false, false)).toEqual(['feed-forward', 'recurrent']);
    expect(chooseSuites(['digits', 'adding-rnn'], true, false)).toEqual(['recurrent']);
    expect(() => chooseSuites(['digits'], true, false)).toThrow('--recurrent --problems digits: none of these is a recurrent problem');
    expect(() => chooseSuites(['mnist'], false, false)).toThrow('unknown problem mnist');
    expect(defaultOut(['digits'], false)).toBe('build/convergence-problems');
  });
});

describe('the document', () => {
  it('rewrites the parts it is given and keeps the others, readings included', () => {
    const first = document({ 'feed-forward': 'FF one\n<!-- reading:start -->\nmine\n<!-- reading:end -->\n' }, null);
    expect(first).toContain('_Not run yet: `npm start -- --recurrent`._');
    const second = document({ recurrent: 'REC one\n' }, first);
    expect(second).toContain('FF one');
    expect(second).toContain('REC one');
    expect(second).not.toContain('Not run yet');
    expect(keptReading(second, 'feed-forward')).toBe('mine\n');
    const third = document({ 'feed-forward': 'FF two\n' }, second);
    expect(third).toContain('FF two');
    expect(third).not.toContain('FF one');
    expect(third).toContain('REC one');
    // A checkout with CRLF line endings keeps its parts and readings too.
    const crlf = second.replaceAll('\n', '\r\n');
    expect(document({ 'feed-forward': 'FF three\n' }, crlf)).toContain('REC one');
    expect(keptReading(crlf, 'feed-forward')).toBe('mine\r\n');
  });
});

describe('docs/convergence.md, recurrent part', () => {
  it("reproduces a cell of the committed tables: digits row by row, RNN, presets.graves at lr 0.001", () => {
    // The doc's row: tuned lr 0.001, steps 350 [300–500], final loss 0.0641 [0.0367–0.0841].
    const doc = readFileSync(new URL('../docs/convergence.md', import.meta.url), 'utf8');
    const p = problem('digits-rnn', false);
    const runs = [1, 2, 3, 4, 5].map((seed) => run(p, byId('rmsprop-graves'), 0.001, seed));
    const cell = analyse({ problems: [p], optimizers: [byId('rmsprop-graves')], lrs: [0.001], seeds: [1, 2, 3, 4, 5] }, runs)[0]!.entries[0]!.cells[0]!;
    const row = `| RMSProp, presets.graves | 0.001 | ${cell.stepsToTarget.median} [${cell.stepsToTarget.min}–${cell.stepsToTarget.max}] | ${num(cell.finalLoss.median)} [${num(cell.finalLoss.min)}–${num(cell.finalLoss.max)}] |`;
    expect(row).toBe('| RMSProp, presets.graves | 0.001 | 350 [300–500] | 0.0641 [0.0367–0.0841] |');
    expect(doc).toContain(row);
  });
});
