import { describe, expect, it } from 'vitest';
import { RMSProp, cosineAnnealing, exponentialDecay, linearWarmup, oneCycle, stateFromJSON, stateToJSON, stepDecay } from '../src/index.js';
import type { LrSchedule } from '../src/index.js';
import { expectError } from './support/expect-error.js';
import { revoked } from './support/realm.js';
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
    [() => linearWarmup(-1, { warmupSteps: 3 }), RangeError, 'linearWarmup: invalid lr: expected a finite number >= 0, got -1'],
    [() => linearWarmup(Infinity, { warmupSteps: 3 }), RangeError, 'linearWarmup: invalid lr: expected a finite number >= 0, got Infinity'],
    [() => linearWarmup('0.1' as never, { warmupSteps: 3 }), TypeError, 'linearWarmup: invalid lr: expected a finite number >= 0, got string "0.1"'],
    [() => linearWarmup(0.1, { warmupSteps: 0 }), RangeError, 'linearWarmup: invalid warmupSteps: expected a whole number >= 1, got 0'],
    [() => linearWarmup(0.1, {} as never), TypeError, 'linearWarmup: invalid warmupSteps: expected a whole number >= 1, got undefined'],
    [() => linearWarmup(0.1, { warmupSteps: 5, startFactor: 0 }), RangeError, 'linearWarmup: invalid startFactor: expected a number in (0, 1], got 0'],
    [() => linearWarmup(0.1, { warmupSteps: 5, startFactor: 1.5 }), RangeError, 'linearWarmup: invalid startFactor: expected a number in (0, 1], got 1.5'],
    [() => linearWarmup(0.1, { warmupSteps: 5, startFactor: null as never }), TypeError, 'linearWarmup: invalid startFactor: expected a number in (0, 1], got null'],
    [() => stepDecay(0.1, { stepSize: 2.5, gamma: 0.5 }), RangeError, 'stepDecay: invalid stepSize: expected a whole number >= 1, got 2.5'],
    [() => stepDecay(0.1, { stepSize: 2, gamma: -0.5 }), RangeError, 'stepDecay: invalid gamma: expected a finite number >= 0, got -0.5'],
    [() => stepDecay(0.1, { stepSize: 2n as never, gamma: 0.5 }), TypeError, 'stepDecay: invalid stepSize: expected a whole number >= 1, got bigint 2n'],
    [() => exponentialDecay(0.1, { gamma: NaN }), RangeError, 'exponentialDecay: invalid gamma: expected a finite number >= 0, got NaN'],
    [() => exponentialDecay(0.1, { gamma: '0.9' as never }), TypeError, 'exponentialDecay: invalid gamma: expected a finite number >= 0, got string "0.9"'],
    [() => cosineAnnealing(0.1, { tMax: 10, etaMin: -1 }), RangeError, 'cosineAnnealing: invalid etaMin: expected a finite number >= 0, got -1'],
    [() => cosineAnnealing(0.1, { tMax: 0 }), RangeError, 'cosineAnnealing: invalid tMax: expected a whole number >= 1, got 0'],
    [() => cosineAnnealing(undefined as never, { tMax: 10 }), TypeError, 'cosineAnnealing: invalid lr: expected a finite number >= 0, got undefined'],
    [() => oneCycle({ maxLr: 0.1, totalSteps: 10, pctStart: 1 }), RangeError, 'oneCycle: invalid pctStart: expected a number in (0, 1), got 1'],
    [() => oneCycle({ maxLr: 0.1, totalSteps: 10, pctStart: 0.1 }), RangeError, 'oneCycle: invalid pctStart: expected a number in (0, 1) other than 1 / totalSteps (the warm-up would have no length), got 0.1 with totalSteps 10'],
    [() => oneCycle({ maxLr: 0.1, totalSteps: 10, divFactor: 0 }), RangeError, 'oneCycle: invalid divFactor: expected a finite number > 0, got 0'],
    [() => oneCycle({ maxLr: 0.1, totalSteps: 10, finalDivFactor: Infinity }), RangeError, 'oneCycle: invalid finalDivFactor: expected a finite number > 0, got Infinity'],
    [() => oneCycle({ maxLr: -0.1, totalSteps: 10 }), RangeError, 'oneCycle: invalid maxLr: expected a finite number >= 0, got -0.1'],
    [() => oneCycle({ maxLr: 0.1, totalSteps: '10' as never }), TypeError, 'oneCycle: invalid totalSteps: expected a whole number >= 1, got string "10"'],
    [() => oneCycle({ maxLr: 0.1, totalSteps: 10, anneal: 'exp' as never }), TypeError, "oneCycle: invalid anneal: expected 'cos' or 'linear', got string \"exp\""],
    [() => oneCycle({ maxLr: 0.1, totalSteps: 10 })(11), RangeError, "oneCycle: update 11 is past the cycle's 10 steps (totalSteps)"],
    [() => oneCycle({ maxLr: 0.1, totalSteps: 10 })(NaN), RangeError, "oneCycle: update NaN is past the cycle's 10 steps (totalSteps)"],
  ] as const)('reject bad arguments with a clear message (%#)', (call, type, message) => {
    expectError(call, type, message);
  });

  it.each([
    ['null', null, 'null'],
    ['an array', [], 'an array of length 0'],
    ['a number', 5, '5'],
    ['undefined', undefined, 'undefined'],
  ] as const)('reject options that are not an object: %s', (_what, options, text) => {
    expectError(() => linearWarmup(0.1, options as never), TypeError, `linearWarmup: invalid options: expected an object with warmupSteps, startFactor, got ${text}`);
    expectError(() => stepDecay(0.1, options as never), TypeError, `stepDecay: invalid options: expected an object with stepSize, gamma, got ${text}`);
    expectError(() => exponentialDecay(0.1, options as never), TypeError, `exponentialDecay: invalid options: expected an object with gamma, got ${text}`);
    expectError(() => cosineAnnealing(0.1, options as never), TypeError, `cosineAnnealing: invalid options: expected an object with tMax, etaMin, got ${text}`);
    expectError(() => oneCycle(options as never), TypeError, `oneCycle: invalid options: expected an object with maxLr, totalSteps, pctStart, anneal, divFactor, finalDivFactor, got ${text}`);
  });

  it('reject a revoked Proxy as options with their TypeError', () => {
    expectError(() => exponentialDecay(0.1, revoked({ gamma: 0.9 })), TypeError, 'exponentialDecay: invalid options: expected an object with gamma, got an object that throws when inspected (a revoked Proxy?)');
  });

  it('check the options before the other arguments', () => {
    expectError(() => linearWarmup(-1, null as never), TypeError, 'linearWarmup: invalid options: expected an object with warmupSteps, startFactor, got null');
  });

  it('reject an unknown option, listing the known ones', () => {
    expectError(() => cosineAnnealing(0.1, { tMax: 10, warmup: 5 } as never), TypeError, 'cosineAnnealing: unknown option "warmup"; the options are tMax, etaMin');
    expectError(() => linearWarmup(0.1, { warmupSteps: 5, warmup: 5 } as never), TypeError, 'linearWarmup: unknown option "warmup"; the options are warmupSteps, startFactor');
    expectError(() => stepDecay(0.1, { step_size: 5, gamma: 0.5 } as never), TypeError, 'stepDecay: unknown option "step_size"; the options are stepSize, gamma');
    expectError(() => exponentialDecay(0.1, { gamma: 0.9, lr: 1 } as never), TypeError, 'exponentialDecay: unknown option "lr"; the options are gamma');
    expectError(() => oneCycle({ maxLr: 0.1, totalSteps: 10, cycleMomentum: false } as never), TypeError, 'oneCycle: unknown option "cycleMomentum"; the options are maxLr, totalSteps, pctStart, anneal, divFactor, finalDivFactor');
  });

  it('take undefined for an optional option as not given', () => {
    const a = linearWarmup(0.3, { warmupSteps: 3, startFactor: undefined as never });
    expect(a(0)).toBe(linearWarmup(0.3, { warmupSteps: 3 })(0));
    expect(cosineAnnealing(1, { tMax: 2, etaMin: undefined as never })(2)).toBe(0);
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

  it.each([
    [-1, RangeError, '-1'],
    [NaN, RangeError, 'NaN'],
    [Infinity, RangeError, 'Infinity'],
    ['0.1', TypeError, 'string "0.1"'],
    [undefined, TypeError, 'undefined'],
  ] as const)('rejects %o from the schedule, naming group and update, and writes nothing', (bad, type, text) => {
    const p = param();
    const q = { ...param(), name: 'q' };
    const opt = new RMSProp([{ params: [q] }, { params: [p], lr: ((t: number) => (t < 2 ? 0.01 : bad)) as LrSchedule }]);
    opt.step();
    opt.step();
    const before = [Array.from(p.data), Array.from(q.data), Array.from(opt.getState(p)!.squareAvg)];
    const message = `RMSProp.step: invalid lr in group 1: the schedule's value for update 2: expected a finite number >= 0, got ${text}`;
    expectError(() => opt.step(), type, message);
    expect([Array.from(p.data), Array.from(q.data), Array.from(opt.getState(p)!.squareAvg)]).toEqual(before);
    expect(opt.getState(p)!.step).toBe(2);
    expect(opt.getState(q)!.step).toBe(2);
    // The update index did not advance: the schedule is asked for update 2 again.
    expectError(() => opt.step(), type, message);
  });

  it('loads its own saved state back, keeping the schedule', () => {
    const schedule = exponentialDecay(0.1, { gamma: 0.5 });
    const opt = new RMSProp([param()], { lr: schedule });
    opt.step();
    opt.loadStateDict(opt.stateDict());
    expect(opt.paramGroups[0]!.lr).toBe(schedule);
    expect(opt.stateDict().updates).toBe(1);
  });

  it('is recorded in the saved state, and a resumed run continues its schedule bit for bit', () => {
    const schedule = oneCycle({ maxLr: 0.1, totalSteps: 20 });
    const a = param();
    const opt = new RMSProp([a], { lr: schedule });
    for (let t = 0; t < 7; t++) opt.step();
    const live = opt.stateDict();
    expect(live.groups[0]!.hyper.lr).toBe('schedule');
    expect(live.updates).toBe(7);
    expect(live.groups[0]!.params[0]!.squareAvg).toBeInstanceOf(Float32Array);
    const text = stateToJSON(live);
    const saved = stateFromJSON(text);
    expect(saved.groups[0]!.hyper.lr).toBe('schedule');
    expect(saved.updates).toBe(7);
    const b = { ...param(), data: a.data.slice() };
    const resumed = new RMSProp([b], { lr: schedule });
    resumed.loadStateDict(saved);
    expect(resumed.paramGroups[0]!.lr).toBe(schedule);
    for (let t = 7; t < 20; t++) {
      opt.step();
      resumed.step();
    }
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
    // A structured clone (postMessage, IndexedDB) resumes as well.
    const c = { ...param(), data: a.data.slice() };
    const cloned = new RMSProp([c], { lr: cosineAnnealing(0.1, { tMax: 5 }) });
    cloned.loadStateDict(structuredClone(opt.stateDict()));
    expect(cloned.stateDict().updates).toBe(20);
  });

  it('cannot be loaded into a group without a schedule, and nothing changes', () => {
    const opt = new RMSProp([param()], { lr: exponentialDecay(0.1, { gamma: 0.5 }) });
    opt.step();
    const saved = stateFromJSON(stateToJSON(opt.stateDict()));
    const c = param();
    const plain = new RMSProp([c], { lr: 0.01 });
    expectError(
      () => plain.loadStateDict(saved),
      Error,
      'RMSProp.loadStateDict: invalid groups[0].hyper.lr: expected a number; "schedule" needs the group to have its schedule (lr: a function) before loading, got string "schedule"',
    );
    expect(plain.paramGroups[0]!.lr).toBe(0.01);
    expect(plain.getState(c)!.step).toBe(0);
    expect(plain.stateDict().updates).toBe(0);
  });

  it('saves a group that has a number as lr with that number', () => {
    const opt = new RMSProp([{ params: [param()], lr: stepDecay(0.1, { stepSize: 2, gamma: 0.5 }) }, { params: [{ ...param(), name: 'v' }], lr: 0.25 }]);
    const saved = opt.stateDict();
    expect(saved.groups.map((g) => g.hyper.lr)).toEqual(['schedule', 0.25]);
  });
});
