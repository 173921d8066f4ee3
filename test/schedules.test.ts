import { describe, expect, it } from 'vitest';
import { RMSProp, cosineAnnealing, exponentialDecay, linearWarmup, oneCycle, stepDecay } from '../src/index.js';
import type { LrSchedule, RMSPropStateDict } from '../src/index.js';
import schedules from './fixtures/torch-schedules.json' with { type: 'json' };

interface Case {
  readonly name: string;
  readonly lr: number;
  readonly args: Readonly<Record<string, number | string>>;
  readonly lrs: readonly number[];
}

function make(c: Case): LrSchedule {
  const n = (key: string): number => c.args[key] as number;
  switch (c.args['kind']) {
    case 'warmup':
      return linearWarmup(c.lr, { warmupSteps: n('warmupSteps'), startFactor: n('startFactor') });
    case 'step':
      return stepDecay(c.lr, { stepSize: n('stepSize'), gamma: n('gamma') });
    case 'exponential':
      return exponentialDecay(c.lr, { gamma: n('gamma') });
    case 'cosine':
      return cosineAnnealing(c.lr, { tMax: n('tMax'), etaMin: n('etaMin') });
    default:
      return 'pctStart' in c.args
        ? oneCycle({
            maxLr: n('maxLr'),
            totalSteps: n('totalSteps'),
            pctStart: n('pctStart'),
            anneal: c.args['anneal'] as 'cos' | 'linear',
            divFactor: n('divFactor'),
            finalDivFactor: n('finalDivFactor'),
          })
        : oneCycle({ maxLr: n('maxLr'), totalSteps: n('totalSteps') });
  }
}

describe('the built-in schedules', () => {
  it.each((schedules.cases as Case[]).map((c) => [c.name, c] as const))(
    "give PyTorch's lr sequence over 60 updates: %s",
    (_n, c) => {
      const schedule = make(c);
      // PyTorch's schedulers recur (lr_t from lr_{t-1}) where these compute each t in closed
      // form, so the two differ by accumulated float64 rounding, nothing more.
      c.lrs.forEach((expected, t) => {
        expect(Math.abs(schedule(t) - expected)).toBeLessThanOrEqual(1e-12 * Math.max(Math.abs(expected), 1e-6));
      });
    },
  );

  it.each([
    [() => linearWarmup(-1, { warmupSteps: 3 }), 'linearWarmup: invalid lr: expected a finite number >= 0, got -1'],
    [() => linearWarmup(0.1, { warmupSteps: 0 }), 'linearWarmup: invalid warmupSteps: expected a whole number >= 1, got 0'],
    [() => linearWarmup(0.1, { warmupSteps: 5, startFactor: 0 }), 'linearWarmup: invalid startFactor: expected a number in (0, 1], got 0'],
    [() => stepDecay(0.1, { stepSize: 2.5, gamma: 0.5 }), 'stepDecay: invalid stepSize: expected a whole number >= 1, got 2.5'],
    [() => exponentialDecay(0.1, { gamma: NaN }), 'exponentialDecay: invalid gamma: expected a finite number >= 0, got NaN'],
    [() => cosineAnnealing(0.1, { tMax: 10, etaMin: -1 }), 'cosineAnnealing: invalid etaMin: expected a finite number >= 0, got -1'],
    [() => oneCycle({ maxLr: 0.1, totalSteps: 10, pctStart: 1 }), 'oneCycle: invalid pctStart: expected a number in (0, 1), got 1'],
    [() => oneCycle({ maxLr: 0.1, totalSteps: 10, anneal: 'exp' as never }), "oneCycle: invalid anneal: expected 'cos' or 'linear', got string \"exp\""],
    [() => oneCycle({ maxLr: 0.1, totalSteps: 10 })(11), "oneCycle: update 11 is past the cycle's 10 steps (totalSteps)"],
  ])('reject bad arguments with a clear message (%#)', (call, message) => {
    expect(call).toThrow(new RangeError(message));
  });
});

describe('lr as a schedule in RMSProp', () => {
  const param = (): { data: Float32Array; grad: Float32Array; name: string } => ({ data: Float32Array.of(1, -1), grad: Float32Array.of(1, -1), name: 'w' });

  it('calls the schedule with the update index, 0 for the first update, once per group per step', () => {
    const seen: number[] = [];
    const opt = new RMSProp([param()], { lr: (t) => (seen.push(t), 0.01) });
    for (let i = 0; i < 4; i++) opt.step();
    expect(seen).toEqual([0, 1, 2, 3]);
  });

  it('steps exactly as the same lr given as numbers, group by group', () => {
    const a = param();
    const b = { ...param(), name: 'v' };
    const c = param();
    const d = { ...param(), name: 'v' };
    const schedule = cosineAnnealing(0.05, { tMax: 10 });
    const opt1 = new RMSProp([{ params: [a], lr: schedule, momentum: 0.9 }, { params: [b] }]);
    const opt2 = new RMSProp([{ params: [c], momentum: 0.9 }, { params: [d] }]);
    for (let t = 0; t < 12; t++) {
      opt2.paramGroups[0]!.lr = schedule(t);
      opt1.step();
      opt2.step();
    }
    expect(Array.from(a.data)).toEqual(Array.from(c.data));
    expect(Array.from(b.data)).toEqual(Array.from(d.data));
  });

  it('does not advance on a skipped step', () => {
    const seen: number[] = [];
    const p = param();
    const opt = new RMSProp([p], { lr: (t) => (seen.push(t), 0.01), nonFinite: 'skip' });
    opt.step();
    p.grad[0] = NaN;
    opt.step();
    p.grad[0] = 1;
    opt.step();
    expect(seen).toEqual([0, 1, 1]);
    expect(opt.skippedSteps).toBe(1);
  });

  it('rejects a bad value from the schedule, naming group and update, and writes nothing', () => {
    const p = param();
    const opt = new RMSProp([p], { lr: (t) => (t < 2 ? 0.01 : -1) });
    opt.step();
    opt.step();
    const before = Array.from(p.data);
    expect(() => opt.step()).toThrow(
      new RangeError('RMSProp.step: invalid lr in group 0: the schedule gave -1 for update 2; expected a finite number >= 0'),
    );
    expect(Array.from(p.data)).toEqual(before);
    expect(opt.getState(p)!.step).toBe(2);
  });

  it('is recorded in the saved state, and a resumed run continues its schedule bit for bit', () => {
    const schedule = oneCycle({ maxLr: 0.1, totalSteps: 20 });
    const a = param();
    const opt = new RMSProp([a], { lr: schedule });
    for (let t = 0; t < 7; t++) opt.step();
    const saved = JSON.parse(JSON.stringify(opt.stateDict())) as RMSPropStateDict;
    expect(saved.groups[0]!.hyper.lr).toBe('schedule');
    expect(saved.updates).toBe(7);
    const b = { ...param(), data: a.data.slice() };
    const resumed = new RMSProp([b], { lr: schedule });
    resumed.loadStateDict(saved);
    for (let t = 7; t < 20; t++) {
      opt.step();
      resumed.step();
    }
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
    // Without its schedule the state cannot be loaded, and nothing changes.
    const c = param();
    const plain = new RMSProp([c], { lr: 0.01 });
    expect(() => plain.loadStateDict(saved)).toThrow(
      new Error('RMSProp.loadStateDict: group 0 was saved with a learning-rate schedule: give the group its schedule (lr: a function) before loading'),
    );
    expect(plain.paramGroups[0]!.lr).toBe(0.01);
  });
});
