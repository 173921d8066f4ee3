import { describe, expect, it } from 'vitest';
import { RMSProp, SparseRows, cosineAnnealing, oneCycle, rmspropDefaults, rmspropStep, stateFromJSON, stateToJSON } from '../src/index.js';
import type { FloatArray, OptimizerOptions, ParamRef, RMSPropStateDict, SparseRowsStateDict, SparseUpdate } from '../src/index.js';
import { expectError } from './support/expect-error.js';
import { normals, rng } from './support/random.js';

const ROWS = 6;
const WIDTH = 4;
const ALL = [0, 1, 2, 3, 4, 5];
/** Every option whose replay shows: momentum keeps moving rows, centered and weight decay change the state. */
const OPTIONS: OptimizerOptions = { lr: 0.02, momentum: 0.9, centered: true, weightDecay: 0.01 };

type Float = Float32ArrayConstructor | Float64ArrayConstructor;
type ErrorClass = new (message?: string) => Error;
interface Param {
  readonly data: FloatArray;
  grad: FloatArray | null;
  readonly name?: string;
}

/** A table of ROWS rows of WIDTH seeded values; no grad, so the optimizer's step() leaves it alone. */
function table(T: Float, name = 'emb'): Param {
  return { data: T.from(normals(rng(1), ROWS * WIDTH)), grad: null, name };
}

interface Bits {
  data: number[];
  squareAvg: number[];
  gradAvg: number[] | null;
  momentumBuffer: number[] | null;
  step: number;
}

/** A parameter's values and state as plain arrays: equal means equal bit for bit (-0 included). */
function bits(opt: RMSProp, p: ParamRef): Bits {
  const s = opt.getState(p)!;
  const list = (a: FloatArray | null): number[] | null => (a === null ? null : Array.from(a));
  return { data: Array.from(p.data), squareAvg: Array.from(s.squareAvg), gradAvg: list(s.gradAvg), momentumBuffer: list(s.momentumBuffer), step: s.step };
}

/** Row r of `b` (without the update count). */
function row(b: Bits, r: number): Omit<Bits, 'step'> {
  const cut = (a: number[] | null): number[] | null => a?.slice(r * WIDTH, (r + 1) * WIDTH) ?? null;
  return { data: cut(b.data)!, squareAvg: cut(b.squareAvg)!, gradAvg: cut(b.gradAvg), momentumBuffer: cut(b.momentumBuffer) };
}

/** The rows of `n` random updates: subsets, sometimes with row 2 twice or not at all; every row in the last. */
function plan(random: () => number, n: number): number[][] {
  return Array.from({ length: n }, (_, t) => (t === n - 1 ? ALL : [...ALL.filter(() => random() < 0.4), ...(random() < 0.3 ? [2] : [])]));
}

/** The dense gradient of a sparse update: zero for the rows not given, repeated rows summed in float64. */
function scatter(T: Float, rows: readonly number[], grad: FloatArray): FloatArray {
  const sum = new Float64Array(ROWS * WIDTH);
  rows.forEach((r, k) => {
    for (let i = 0; i < WIDTH; i++) sum[r * WIDTH + i]! += grad[k * WIDTH + i]!;
  });
  return T.from(sum);
}

const exact = (rows: readonly number[], grad: FloatArray): SparseUpdate => ({ width: WIDTH, rows, grad, mode: 'exact' });

describe("SparseRows in mode 'exact'", () => {
  it.each([
    ['float32', Float32Array, {}],
    ['float64', Float64Array, {}],
    ['float32, a cosine schedule', Float32Array, { lr: cosineAnnealing(0.05, { tMax: 8 }) }],
    ['float64, a one-cycle schedule', Float64Array, { lr: oneCycle({ maxLr: 0.05, totalSteps: 8 }) }],
    ['float32, bias correction', Float32Array, { biasCorrection: true }],
    ['float64, bias correction', Float64Array, { biasCorrection: true }],
  ] as const)('equals the dense run with zero gradients for the rows not given, bit for bit (%s)', (_n, T, extra) => {
    const options = { ...OPTIONS, ...extra };
    const sparse = table(T);
    const dense = table(T);
    const optS = new RMSProp([sparse], options);
    const optD = new RMSProp([dense], options);
    const rows = new SparseRows(optS);
    const random = rng(9);
    for (const r of plan(random, 8)) {
      const grad = T.from(normals(random, r.length * WIDTH));
      expect(rows.step(sparse, exact(r, grad))).toBe(true);
      dense.grad = scatter(T, r, grad);
      optD.step();
    }
    expect(bits(optS, sparse)).toEqual(bits(optD, dense));
    expect(bits(optS, sparse).step).toBe(8);
  });

  it('makes every row current when the optimizer loads a state without SparseRows\' own, at an equal update count too', () => {
    // Run X leaves rows 1-3 three updates behind; it then loads run Y's optimizer state, saved at
    // the same update count, without the rows' bookkeeping: the rows must not replay X's misses.
    const make = () => {
      const p = table(Float32Array);
      const opt = new RMSProp([p], OPTIONS);
      return { p, opt, rows: new SparseRows(opt) };
    };
    const x = make();
    const y = make();
    const g = (n: number, rows: number) => Float32Array.from(normals(rng(n), rows * WIDTH, 1));
    for (let t = 0; t < 3; t++) {
      x.rows.step(x.p, exact([0], g(t, 1)));
      y.rows.step(y.p, exact([0, 1, 2, 3], g(t + 10, 4)));
    }
    const saved = y.opt.stateDict();
    const twin = make();
    twin.p.data.set(x.p.data);
    x.opt.loadStateDict(saved);
    twin.opt.loadStateDict(saved);
    const update = exact([0, 1, 2, 3], new Float32Array(4 * WIDTH).fill(0.5));
    x.rows.step(x.p, update);
    twin.rows.step(twin.p, update);
    expect(bits(x.opt, x.p)).toEqual(bits(twin.opt, twin.p));
  });

  it('keeps the rows\' bookkeeping when SparseRows\' state is loaded with the optimizer\'s, in either order', () => {
    const run = (order: 'rows first' | 'optimizer first') => {
      const p = table(Float32Array);
      const opt = new RMSProp([p], OPTIONS);
      const rows = new SparseRows(opt);
      for (let t = 0; t < 3; t++) rows.step(p, exact([t % 2], Float32Array.from(normals(rng(t), WIDTH, 1))));
      const saved = { optimizer: opt.stateDict(), rows: rows.stateDict(), data: p.data.slice() };
      const q = table(Float32Array);
      q.data.set(saved.data);
      const opt2 = new RMSProp([q], OPTIONS);
      const rows2 = new SparseRows(opt2);
      if (order === 'rows first') {
        rows2.loadStateDict(saved.rows);
        opt2.loadStateDict(saved.optimizer);
      } else {
        opt2.loadStateDict(saved.optimizer);
        rows2.loadStateDict(saved.rows);
      }
      const update = exact([0, 1, 2, 3], new Float32Array(4 * WIDTH).fill(0.25));
      rows.step(p, update);
      rows2.step(q, update);
      expect(bits(opt2, q)).toEqual(bits(opt, p));
    };
    run('rows first');
    run('optimizer first');
  });

  it('makes every row current at a dense step() of the parameter: what rows missed before it is never replayed', () => {
    // Rows 1-5 miss update 0, which comes before the dense step: exact mode must not replay it,
    // so it ends where lazy mode (which never replays) ends.
    const run = (mode: 'lazy' | 'exact'): { bits: Bits; rows: SparseRowsStateDict } => {
      const emb = table(Float64Array);
      const opt = new RMSProp([emb], OPTIONS);
      const sparse = new SparseRows(opt);
      sparse.step(emb, { width: WIDTH, rows: [0], grad: Float64Array.of(1, -1, 2, 0.5), mode }); // rows 1-5 miss update 0
      emb.grad = Float64Array.from(normals(rng(3), ROWS * WIDTH));
      opt.step(); // update 1, every row
      emb.grad = null;
      sparse.step(emb, { width: WIDTH, rows: [1, 0], grad: Float64Array.from(normals(rng(4), 2 * WIDTH)), mode }); // update 2
      return { bits: bits(opt, emb), rows: sparse.stateDict() };
    };
    const e = run('exact');
    expect(e.bits).toEqual(run('lazy').bits);
    expect(e.rows).toEqual({
      format: 'rmsprop-sparse-rows',
      version: 1,
      skippedSteps: 0,
      params: [{ group: 0, index: 0, name: 'emb', mode: 'exact', width: WIDTH, seen: 3, current: Float64Array.of(3, 3, 2, 2, 2, 2) }],
    });
  });
});

describe("SparseRows in mode 'lazy' (the default)", () => {
  it('leaves the rows not given alone, bit for bit, and steps the given ones as a dense step of just those rows', () => {
    const emb = table(Float32Array);
    const opt = new RMSProp([emb], OPTIONS);
    const sparse = new SparseRows(opt);
    // The reference: one parameter per row, stepped densely; a row not given has grad null.
    const perRow = ALL.map((r) => ({ data: emb.data.slice(r * WIDTH, (r + 1) * WIDTH), grad: null as FloatArray | null }));
    const ref = new RMSProp(perRow, OPTIONS);
    const random = rng(5);
    for (const rows of [[1, 4], [4], [0, 5, 1], [2]]) {
      const before = bits(opt, emb);
      const grad = Float32Array.from(normals(random, rows.length * WIDTH));
      expect(sparse.step(emb, { width: WIDTH, rows: Int32Array.from(rows), grad })).toBe(true);
      perRow.forEach((p, r) => (p.grad = rows.includes(r) ? grad.slice(rows.indexOf(r) * WIDTH, (rows.indexOf(r) + 1) * WIDTH) : null));
      ref.step();
      const after = bits(opt, emb);
      for (const r of ALL) {
        expect(row(after, r)).toEqual(row(bits(ref, perRow[r]!), 0));
        if (!rows.includes(r)) expect(row(after, r)).toEqual(row(before, r));
      }
    }
    expect(opt.getState(emb)!.step).toBe(4);
    expect(sparse.stateDict().params[0]).toMatchObject({ mode: 'lazy', width: WIDTH, seen: 4, current: null });
  });

  it('updates a subarray view of a larger buffer without touching its neighbours', () => {
    const buffer = Float32Array.from(normals(rng(6), ROWS * WIDTH + 8));
    const before = Array.from(buffer);
    const emb = { data: buffer.subarray(4, 4 + ROWS * WIDTH), grad: null };
    const opt = new RMSProp([emb], OPTIONS);
    const grads = new Float32Array(3 * WIDTH).fill(1);
    new SparseRows(opt).step(emb, { width: WIDTH, rows: [0, 5], grad: grads.subarray(WIDTH) });
    const changed = before.flatMap((x, i) => (Object.is(x, buffer[i]) ? [] : [i]));
    // Rows 0 and 5 of the table, elements 4-7 and 24-27 of the buffer, and nothing else.
    expect(changed).toEqual([4, 5, 6, 7, 24, 25, 26, 27]);
  });
});

describe('repeated rows', () => {
  it('have their gradients summed', () => {
    const a = table(Float64Array);
    const b = table(Float64Array);
    const optA = new RMSProp([a], OPTIONS);
    const optB = new RMSProp([b], OPTIONS);
    const [g1, g0, g2] = [Float64Array.of(0.5, -1, 2, 0.25), Float64Array.of(3, 0, -3, 1), Float64Array.of(1, 1, -1, 0.5)];
    new SparseRows(optA).step(a, { width: WIDTH, rows: Uint32Array.of(2, 0, 2), grad: Float64Array.from([...g1, ...g0, ...g2]) });
    new SparseRows(optB).step(b, { width: WIDTH, rows: [0, 2], grad: Float64Array.from([...g0, ...g1.map((x, i) => x + g2[i]!)]) });
    expect(bits(optA, a)).toEqual(bits(optB, b));
  });

  it('are summed in float64 and refused, writing nothing, when the sum is beyond float32 (two gradients of 3e38)', () => {
    for (const policy of ['throw', 'skip'] as const) {
      const emb = table(Float32Array);
      const opt = new RMSProp([emb], { nonFinite: policy });
      const sparse = new SparseRows(opt);
      const before = Array.from(emb.data);
      const call = (): boolean => sparse.step(emb, { width: WIDTH, rows: [1, 1], grad: new Float32Array(2 * WIDTH).fill(3e38) });
      if (policy === 'throw') {
        expectError(call, RangeError, 'SparseRows.step: the gradients given for row 1 sum beyond the float32 range (group 0, param 0); nothing was updated');
      } else {
        expect(call()).toBe(false);
        expect(sparse.skippedSteps).toBe(1);
      }
      expect(Array.from(emb.data)).toEqual(before);
      expect(opt.getState(emb)!.step).toBe(0);
    }
    // One of them alone is a float32 gradient like any other: each element moves by lr * 10.
    const emb = table(Float32Array);
    const before = Array.from(emb.data);
    expect(new SparseRows(new RMSProp([emb])).step(emb, { width: WIDTH, rows: [1], grad: new Float32Array(WIDTH).fill(3e38) })).toBe(true);
    Array.from(emb.data.subarray(WIDTH, 2 * WIDTH)).forEach((x, i) => expect(x).toBeCloseTo(before[WIDTH + i]! - 0.1, 5));
  });
});

/** A table at (group 1, param 1), beside other parameters. */
function inGroups(nonFinite: 'throw' | 'skip' = 'throw'): { emb: Param; opt: RMSProp; sparse: SparseRows } {
  const emb = table(Float32Array);
  const opt = new RMSProp([{ params: [{ data: new Float32Array(3), grad: null }] }, { params: [{ data: new Float32Array(2), grad: null, name: 'bias' }, emb] }], { ...OPTIONS, nonFinite });
  return { emb, opt, sparse: new SparseRows(opt) };
}

const S = 'SparseRows.step';
const AT = '(group 1, param 1)';
const g4 = new Float32Array(WIDTH);

describe('SparseRows.step with a structurally bad update', () => {
  it.each([
    ['a grad of the wrong length', () => ({ width: WIDTH, rows: [0, 1], grad: g4 }), RangeError, `${S}: grad length 4 does not match 2 rows of width 4 ${AT}`],
    ['a negative row', () => ({ width: WIDTH, rows: [0, -1], grad: new Float32Array(8) }), RangeError, `${S}: invalid row index -1 at position 1: expected a whole number in [0, 6) ${AT}`],
    ['a fractional row', () => ({ width: WIDTH, rows: [1.5], grad: g4 }), RangeError, `${S}: invalid row index 1.5 at position 0: expected a whole number in [0, 6) ${AT}`],
    ['a row out of range', () => ({ width: WIDTH, rows: [6], grad: g4 }), RangeError, `${S}: invalid row index 6 at position 0: expected a whole number in [0, 6) ${AT}`],
    ['a row given as a string', () => ({ width: WIDTH, rows: ['1'], grad: g4 }), RangeError, `${S}: invalid row index string "1" at position 0: expected a whole number in [0, 6) ${AT}`],
    ['width 0', () => ({ width: 0, rows: [], grad: new Float32Array(0) }), RangeError, `${S}: invalid width: expected a whole number >= 1, got 0 ${AT}`],
    ['width 2.5', () => ({ width: 2.5, rows: [0], grad: g4 }), RangeError, `${S}: invalid width: expected a whole number >= 1, got 2.5 ${AT}`],
    ['a width that does not divide the length', () => ({ width: 5, rows: [0], grad: new Float32Array(5) }), RangeError, `${S}: invalid width: expected a whole number >= 1 that divides the data length 24, got 5 ${AT}`],
    ['a grad that is an array', () => ({ width: WIDTH, rows: [0], grad: [0, 0, 0, 0] }), TypeError, `${S}: invalid grad: expected a Float32Array or Float64Array, got an array of length 4 ${AT}`],
    ['a Float64Array grad for float32 data', () => ({ width: WIDTH, rows: [0], grad: new Float64Array(WIDTH) }), TypeError, `${S}: invalid grad: expected a Float32Array like the data, got a Float64Array of length 4 ${AT}`],
    ['no grad', () => ({ width: WIDTH, rows: [0] }), TypeError, `${S}: invalid grad: expected a Float32Array or Float64Array, got undefined ${AT}`],
    ['a grad sharing memory with data', (p: Param) => ({ width: WIDTH, rows: [0], grad: p.data.subarray(8, 12) }), Error, `${S}: grad shares memory with data ${AT}`],
    ['a bad mode', () => ({ width: WIDTH, rows: [0], grad: g4, mode: 'eager' }), TypeError, `${S}: invalid mode: expected 'lazy' or 'exact', got string "eager" ${AT}`],
    ['rows that are not an array', () => ({ width: WIDTH, rows: '01', grad: new Float32Array(8) }), TypeError, `${S}: invalid rows: expected an array or typed array of row indices, got string "01" ${AT}`],
    ['an update that is null', () => null, TypeError, `${S}: invalid update: expected { width, rows, grad, mode? }, got null ${AT}`],
    ['an update that is a number', () => 3, TypeError, `${S}: invalid update: expected { width, rows, grad, mode? }, got 3 ${AT}`],
  ] as [string, (p: Param) => unknown, ErrorClass, string][])("throws for %s even under nonFinite 'skip', writing nothing", (_n, update, type, message) => {
    const { emb, opt, sparse } = inGroups('skip');
    const before = bits(opt, emb);
    expectError(() => sparse.step(emb, update(emb) as SparseUpdate), type, message);
    expect(bits(opt, emb)).toEqual(before);
    expect(sparse.skippedSteps).toBe(0);
    expect(sparse.stateDict().params).toEqual([]);
  });

  it("skips only a non-finite gradient under 'skip' (counted, nothing written), and throws for it under 'throw'", () => {
    const { emb, opt, sparse } = inGroups('skip');
    const update = exact([3, 1], Float32Array.of(1, 2, 3, 4, 0, NaN, 0, 0));
    const before = bits(opt, emb);
    expect(sparse.step(emb, update)).toBe(false);
    expect([sparse.skippedSteps, opt.skippedSteps]).toEqual([1, 0]);
    expect(bits(opt, emb)).toEqual(before);
    expect(sparse.stateDict().params).toEqual([]);
    opt.nonFinite = 'throw';
    expectError(() => sparse.step(emb, update), RangeError, `${S}: grad holds NaN at element 5 ${AT}; nothing was updated`);
    expect(sparse.skippedSteps).toBe(1);
    expect(bits(opt, emb)).toEqual(before);
  });
});

describe('SparseRows.step writes nothing when it throws', () => {
  it.each([
    ['throws', (): number => { throw new Error('the schedule broke'); }, Error, `${S}: the lr schedule of group 0 threw at update 1 (replayed): the schedule broke`],
    ['gives NaN', (): number => NaN, RangeError, `${S}: invalid lr in group 0: the schedule gave NaN for update 1 (replayed); expected a finite number >= 0`],
    ['gives -1', (): number => -1, RangeError, `${S}: invalid lr in group 0: the schedule gave -1 for update 1 (replayed); expected a finite number >= 0`],
  ] as const)('for a schedule that %s at a replayed update: a later call is as if it never happened', (_n, fail, type, message) => {
    let armed = false;
    const lr = (t: number): number => (armed && t === 1 ? fail() : 0.01 * (1 + t));
    const make = (): { emb: Param; opt: RMSProp; sparse: SparseRows } => {
      const emb = table(Float64Array);
      const opt = new RMSProp([emb], { ...OPTIONS, lr });
      const sparse = new SparseRows(opt);
      for (const t of [0, 1, 2]) sparse.step(emb, exact([t], Float64Array.from(normals(rng(t), WIDTH))));
      return { emb, opt, sparse };
    };
    const [a, twin] = [make(), make()];
    // Row 0 is current as of update 1: update 3 replays updates 1 and 2 for it.
    const update = exact([2, 0], Float64Array.from(normals(rng(7), 2 * WIDTH)));
    const before = { ...bits(a.opt, a.emb), rows: a.sparse.stateDict() };
    armed = true;
    expectError(() => a.sparse.step(a.emb, update), type, message);
    armed = false;
    expect({ ...bits(a.opt, a.emb), rows: a.sparse.stateDict() }).toEqual(before);
    for (const x of [a, twin]) x.sparse.step(x.emb, update);
    expect({ ...bits(a.opt, a.emb), rows: a.sparse.stateDict() }).toEqual({ ...bits(twin.opt, twin.emb), rows: twin.sparse.stateDict() });
  });

  it('for a row width or a mode other than the first sparse update gave', () => {
    const emb = table(Float32Array);
    const opt = new RMSProp([emb], OPTIONS);
    const sparse = new SparseRows(opt);
    sparse.step(emb, { width: WIDTH, rows: [1], grad: Float32Array.of(1, 2, 3, 4) });
    const before = { ...bits(opt, emb), rows: sparse.stateDict() };
    const first = `${S}: the parameter was stepped in mode 'lazy' with width 4; a parameter keeps the mode and width of its first sparse update`;
    expectError(() => sparse.step(emb, { width: 2, rows: [1], grad: new Float32Array(2) }), Error, `${first} (this one: 'lazy', width 2) (group 0, param 0)`);
    expectError(() => sparse.step(emb, exact([1], g4)), Error, `${first} (this one: 'exact', width 4) (group 0, param 0)`);
    expect({ ...bits(opt, emb), rows: sparse.stateDict() }).toEqual(before);
  });

  it('for a parameter not registered with the optimizer', () => {
    const sparse = new SparseRows(new RMSProp([table(Float32Array)], OPTIONS));
    const stranger = table(Float32Array, 'stranger');
    expectError(() => sparse.step(stranger, exact([1], g4)), Error, `${S}: the parameter is not registered with this optimizer`);
    expect(Array.from(stranger.data)).toEqual(Array.from(table(Float32Array).data));
  });

  it('and does nothing in a frozen group (returning false), whose frozen must be a boolean', () => {
    const emb = table(Float32Array);
    const opt = new RMSProp([{ params: [emb], frozen: true }], OPTIONS);
    const sparse = new SparseRows(opt);
    const before = bits(opt, emb);
    expect(sparse.step(emb, exact([1], Float32Array.of(1, 2, 3, 4)))).toBe(false);
    expect(bits(opt, emb)).toEqual(before);
    expect([sparse.skippedSteps, sparse.stateDict().params.length]).toEqual([0, 0]);
    (opt.paramGroups[0] as { frozen: unknown }).frozen = 'yes';
    expectError(() => sparse.step(emb, exact([1], Float32Array.of(1, 2, 3, 4))), TypeError, `${S}: invalid frozen in group 0: expected a boolean, got string "yes"`);
    expect(bits(opt, emb)).toEqual(before);
  });
});

/** An optimizer and SparseRows whose table has had `step` updates, row r current as of current[r] (set through loading states). */
function atCount(step: number, current: readonly number[], options: OptimizerOptions = OPTIONS, maxReplay?: number): { emb: Param; opt: RMSProp; sparse: SparseRows } {
  const emb = table(Float64Array);
  const opt = new RMSProp([emb], options);
  const saved = opt.stateDict();
  const group = saved.groups[0]!;
  opt.loadStateDict({ ...saved, updates: step, groups: [{ ...group, params: [{ ...group.params[0]!, step }] }] });
  const sparse = new SparseRows(opt, maxReplay === undefined ? {} : { maxReplay });
  const rows = { group: 0, index: 0, name: 'emb', mode: 'exact', width: WIDTH, seen: step, current: Float64Array.from(current) } as const;
  sparse.loadStateDict({ format: 'rmsprop-sparse-rows', version: 1, skippedSteps: 0, params: [rows] });
  return { emb, opt, sparse };
}

describe('huge update counts', () => {
  it('refuse promptly, writing nothing, an exact update that would replay more than maxReplay', () => {
    const { emb, opt, sparse } = atCount(2 ** 40, ALL.map(() => 0));
    const before = { ...bits(opt, emb), rows: sparse.stateDict() };
    const start = performance.now();
    expectError(
      () => sparse.step(emb, exact([3], new Float64Array(WIDTH))),
      RangeError,
      `${S}: this update would replay 1099511627776 missed row updates (from update 0), more than maxReplay 1000000; raise maxReplay, or use mode 'lazy' (group 0, param 0)`,
    );
    expect(performance.now() - start).toBeLessThan(250);
    expect({ ...bits(opt, emb), rows: sparse.stateDict() }).toEqual(before);
  });

  it('replay at most maxReplay missed row updates, summed over the rows given; the option lowers or raises the limit', () => {
    const t = 2 ** 40;
    const refused = (n: number, from: number, max: number): string =>
      `${S}: this update would replay ${n} missed row updates (from update ${from}), more than maxReplay ${max}; raise maxReplay, or use mode 'lazy' (group 0, param 0)`;
    const near = [t, t - 2, t, t, t - 1, t]; // rows 1 and 4: 3 replays
    const low = atCount(t, near, OPTIONS, 2);
    expectError(() => low.sparse.step(low.emb, exact([4, 1], new Float64Array(2 * WIDTH))), RangeError, refused(3, t - 2, 2));
    const enough = atCount(t, near, OPTIONS, 3);
    expect(enough.sparse.step(enough.emb, exact([4, 1], new Float64Array(2 * WIDTH)))).toBe(true);
    expect(Array.from(enough.sparse.stateDict().params[0]!.current!)).toEqual([t, t + 1, t, t, t + 1, t]);
    const far = [t - 1_000_001, t, t, t, t, t]; // row 0: one replay more than the default allows
    const byDefault = atCount(t, far);
    expect(byDefault.sparse.maxReplay).toBe(1_000_000);
    expectError(() => byDefault.sparse.step(byDefault.emb, exact([0], new Float64Array(WIDTH))), RangeError, refused(1_000_001, t - 1_000_001, 1_000_000));
    const raised = atCount(t, far, OPTIONS, 1_000_001);
    expect(raised.sparse.step(raised.emb, exact([0], new Float64Array(WIDTH)))).toBe(true);
  });

  it('do not wrap past 2**31: a row current as of 2**31 + 3 at update 2**31 + 5 replays exactly 2 updates', () => {
    const T0 = 2 ** 31;
    const calls: number[] = [];
    const lr = (t: number): number => (calls.push(t), 0.01 + (t - T0) * 1e-3);
    const current = [T0 + 5, T0 + 5, T0 + 3, T0 + 5, T0 + 5, T0 + 5];
    const { emb, opt, sparse } = atCount(T0 + 5, current, { ...OPTIONS, lr, biasCorrection: true });
    const grad = Float64Array.from(normals(rng(7), WIDTH));
    // The reference: row 2 stepped by the kernel at updates 2**31 + 3, + 4 (zero gradients) and + 5.
    const ref = emb.data.slice(2 * WIDTH, 3 * WIDTH);
    const state = { squareAvg: new Float64Array(WIDTH), gradAvg: new Float64Array(WIDTH), momentumBuffer: new Float64Array(WIDTH), step: 0 };
    for (const [u, g] of [[T0 + 3, new Float64Array(WIDTH)], [T0 + 4, new Float64Array(WIDTH)], [T0 + 5, grad]] as const) {
      state.step = u;
      rmspropStep(ref, g, state, { ...rmspropDefaults, ...OPTIONS, biasCorrection: true, lr: 0.01 + (u - T0) * 1e-3 });
    }
    const others = table(Float64Array).data;
    expect(sparse.step(emb, exact([2], grad))).toBe(true);
    expect(calls).toEqual([T0 + 5, T0 + 3, T0 + 4]);
    expect(Array.from(emb.data.subarray(2 * WIDTH, 3 * WIDTH))).toEqual(Array.from(ref));
    expect([...emb.data.subarray(0, 2 * WIDTH), ...emb.data.subarray(3 * WIDTH)]).toEqual([...others.subarray(0, 2 * WIDTH), ...others.subarray(3 * WIDTH)]);
    expect(opt.getState(emb)!.step).toBe(T0 + 6);
    expect(Array.from(sparse.stateDict().params[0]!.current!)).toEqual([T0 + 5, T0 + 5, T0 + 6, T0 + 5, T0 + 5, T0 + 5]);
  });
});

interface Checkpoint {
  optimizer: RMSPropStateDict;
  sparse: SparseRowsStateDict;
}

describe('SparseRows.stateDict and loadStateDict', () => {
  const same = (c: Checkpoint): Checkpoint => c;
  it.each([
    ['as they are', same, 0.02],
    ['through structuredClone', (c: Checkpoint) => structuredClone(c), 0.02],
    ['through stateToJSON and stateFromJSON', (c: Checkpoint) => stateFromJSON<Checkpoint>(stateToJSON(c)), 0.02],
    ['as they are, with a cosine schedule', same, cosineAnnealing(0.05, { tMax: 8 })],
  ] as const)('resume an exact run bit for bit, over copies in a new optimizer (%s)', (_n, carry, lr) => {
    const options = { ...OPTIONS, lr };
    const random = rng(11);
    const rows = plan(random, 8);
    const grads = rows.map((r) => Float32Array.from(normals(random, r.length * WIDTH)));
    const emb = table(Float32Array);
    const opt = new RMSProp([emb], options);
    const sparse = new SparseRows(opt);
    for (let t = 0; t < 4; t++) sparse.step(emb, exact(rows[t]!, grads[t]!));
    const saved = carry({ optimizer: opt.stateDict(), sparse: sparse.stateDict() });
    const copy = { ...emb, data: emb.data.slice() };
    const opt2 = new RMSProp([copy], options);
    opt2.loadStateDict(saved.optimizer);
    const sparse2 = new SparseRows(opt2);
    sparse2.loadStateDict(saved.sparse);
    for (let t = 4; t < 8; t++) {
      sparse.step(emb, exact(rows[t]!, grads[t]!));
      sparse2.step(copy, exact(rows[t]!, grads[t]!));
    }
    expect(bits(opt2, copy)).toEqual(bits(opt, emb));
    expect(sparse2.stateDict()).toEqual(sparse.stateDict());
  });

  const one = (patch: object) => (s: SparseRowsStateDict) => ({ ...s, params: [{ ...s.params[0]!, ...patch }] });
  const L = 'SparseRows.loadStateDict';
  const counts = `${L}: invalid params[0].current: expected a Float64Array of 6 update counts, got`;
  it.each([
    ['null', () => null, Error, `${L}: invalid state: expected a state from SparseRows.stateDict(), got null`],
    ['another format', (s) => ({ ...s, format: 'rmsprop-state' }), Error, `${L}: invalid format: expected "rmsprop-sparse-rows", got string "rmsprop-state"`],
    ['another version', (s) => ({ ...s, version: 2 }), Error, `${L}: invalid version: expected 1, got 2`],
    ['a negative skippedSteps', (s) => ({ ...s, skippedSteps: -1 }), RangeError, `${L}: invalid skippedSteps: expected a whole number from 0 to 2^52, got -1`],
    ['params that are not an array', (s) => ({ ...s, params: {} }), Error, `${L}: invalid params: expected an array, got an object`],
    ['an unknown parameter', one({ name: 'nope' }), Error, `${L}: invalid params[0]: expected a parameter of this optimizer (by name, or by group and index when it has none), got name string "nope", group 1, index 1`],
    ['a parameter twice', (s) => ({ ...s, params: [s.params[0], s.params[0]] }), Error, `${L}: invalid params[1]: expected each parameter once, got string "emb"`],
    ['a bad mode', one({ mode: 'eager' }), Error, `${L}: invalid params[0].mode: expected 'lazy' or 'exact', got string "eager"`],
    ['width 0', one({ width: 0 }), RangeError, `${L}: invalid params[0].width: expected a whole number >= 1, got 0`],
    ['a width that does not divide the length', one({ width: 5 }), Error, `${L}: invalid params[0].width: expected a whole number that divides the length 24, got 5`],
    ['a negative seen', one({ seen: -1 }), RangeError, `${L}: invalid params[0].seen: expected a whole number from 0 to 2^52, got -1`],
    ['current of the wrong length', one({ current: new Float64Array(5) }), Error, `${counts} a Float64Array of length 5`],
    ['current of the wrong type', one({ current: new Float32Array(6) }), Error, `${counts} a Float32Array of length 6`],
    ['current above seen', one({ current: Float64Array.of(0, 0, 0, 2, 0, 0) }), Error, `${L}: invalid params[0].current[3]: expected a whole number from 0 to 1 (seen), got 2`],
    ['current fractional', one({ current: Float64Array.of(0, 0.5, 0, 0, 0, 0) }), Error, `${L}: invalid params[0].current[1]: expected a whole number from 0 to 1 (seen), got 0.5`],
    ['current NaN', one({ current: Float64Array.of(0, 0, NaN, 0, 0, 0) }), Error, `${L}: invalid params[0].current[2]: expected a whole number from 0 to 1 (seen), got NaN`],
    ['lazy with a current', one({ mode: 'lazy' }), Error, `${L}: invalid params[0].current: expected null, got a Float64Array of length 6`],
  ] as [string, (s: SparseRowsStateDict) => unknown, ErrorClass, string][])('refuses %s, and the bookkeeping stays as it was', (_n, spoil, type, message) => {
    // An exact run of three updates at (group 1, param 1) and one skipped, and the rows saved after the first (seen 1).
    const make = (): { emb: Param; opt: RMSProp; sparse: SparseRows; saved: SparseRowsStateDict } => {
      const x = inGroups('skip');
      const saved = [0, 1, 2].map((t) => (x.sparse.step(x.emb, exact([t * 2], Float32Array.from(normals(rng(t), WIDTH)))), x.sparse.stateDict()))[0]!;
      x.sparse.step(x.emb, exact([1], Float32Array.of(NaN, 0, 0, 0)));
      return { ...x, saved };
    };
    const [a, twin] = [make(), make()];
    expectError(() => a.sparse.loadStateDict(spoil(a.saved) as SparseRowsStateDict), type, message);
    expect(a.sparse.stateDict()).toEqual(twin.sparse.stateDict());
    for (const x of [a, twin]) x.sparse.step(x.emb, exact(ALL, Float32Array.from(normals(rng(8), ROWS * WIDTH))));
    expect(bits(a.opt, a.emb)).toEqual(bits(twin.opt, twin.emb));
  });
});

describe('new SparseRows', () => {
  const opt = new RMSProp([table(Float32Array)]);
  it.each([
    ['maxReplay 0', () => new SparseRows(opt, { maxReplay: 0 }), RangeError, 'SparseRows: invalid maxReplay: expected a whole number >= 1, got 0'],
    ['maxReplay 1.5', () => new SparseRows(opt, { maxReplay: 1.5 }), RangeError, 'SparseRows: invalid maxReplay: expected a whole number >= 1, got 1.5'],
    ['maxReplay "3"', () => new SparseRows(opt, { maxReplay: '3' as never }), TypeError, 'SparseRows: invalid maxReplay: expected a whole number >= 1, got string "3"'],
    ['no optimizer', () => new SparseRows(undefined as never), TypeError, 'SparseRows: invalid optimizer: expected an RMSProp, got undefined'],
    ['a plain object', () => new SparseRows({} as never), TypeError, 'SparseRows: invalid optimizer: expected an RMSProp, got an object'],
    ['an object with a getState method', () => new SparseRows({ getState: () => undefined } as never), TypeError, 'SparseRows: invalid optimizer: expected an RMSProp, got an object'],
    ['options that are null', () => new SparseRows(opt, null as never), TypeError, 'SparseRows: invalid options: expected an object with maxReplay, got null'],
    ['an unknown option', () => new SparseRows(opt, { maxReplays: 3 } as never), TypeError, 'SparseRows: unknown option "maxReplays"; the options are maxReplay'],
  ] as const)('rejects %s', (_n, make, type, message) => {
    expectError(make, type, message);
  });
});

describe('SparseRows against misuse', () => {
  it('refuses to be stepped again from a schedule while a step is under way, writing nothing', () => {
    const emb = table(Float32Array);
    let sparse: SparseRows | null = null;
    let armed = false;
    const opt = new RMSProp([emb], { lr: () => (armed ? void sparse!.step(emb, exact([1], g4)) : undefined, 0.01) });
    sparse = new SparseRows(opt);
    armed = true;
    const before = Array.from(emb.data);
    expectError(
      () => sparse!.step(emb, exact([0], g4)),
      Error,
      'SparseRows.step: the lr schedule of group 0 threw at update 0: SparseRows.step: called from a schedule or a getter while a step is under way',
    );
    expect(Array.from(emb.data)).toEqual(before);
    expect(opt.getState(emb)!.step).toBe(0);
  });

  it("refuses to run from the optimizer's schedule, and keeps the optimizer from stepping or loading from its own", () => {
    const emb = table(Float32Array);
    const dense = { data: new Float32Array(4).fill(1), grad: new Float32Array(4).fill(0.5) };
    let call: (() => unknown) | null = null;
    const lr = (): number => (call?.(), 0.01);
    const opt = new RMSProp([{ params: [dense] }, { params: [emb], lr }], OPTIONS);
    const sparse = new SparseRows(opt);
    const before = { ...bits(opt, emb), dense: Array.from(dense.data) };
    // The optimizer's step calls the schedule, which calls SparseRows.step: refused.
    call = () => sparse.step(emb, exact([1], g4));
    expectError(() => opt.step(), Error, `RMSProp.step: the lr schedule of group 1 threw at update 0: ${S}: called from a schedule or a getter while a step reads its parameters`);
    // SparseRows.step calls the schedule, which steps or loads the optimizer: refused.
    const saved = opt.stateDict();
    for (const [inner, name] of [[() => opt.step(), 'RMSProp.step'], [() => opt.loadStateDict(saved), 'RMSProp.loadStateDict']] as const) {
      call = inner;
      expectError(() => sparse.step(emb, exact([1], g4)), Error, `${S}: the lr schedule of group 1 threw at update 0: ${name}: called from a schedule or a getter while a step reads its parameters`);
    }
    call = null;
    expect({ ...bits(opt, emb), dense: Array.from(dense.data) }).toEqual(before);
  });

  it.each([
    ["another parameter's data", (_o: RMSProp, d: Param) => d.data, '(group 0, param 0)', 'the data of (group 0, param 1)'],
    ["another parameter's state", (o: RMSProp, d: Param) => o.getState(d)!.squareAvg, '(group 0, param 0)', 'the state of (group 0, param 1)'],
    ["another parameter's gradient", (_o: RMSProp, d: Param) => d.grad!, '(group 0, param 0)', 'the grad of (group 0, param 1)'],
  ] as const)('refuses a data swapped for %s, writing nothing', (_n, target, at, hit) => {
    const emb = table(Float32Array);
    const dense = { data: Float32Array.from(normals(rng(3), ROWS * WIDTH)), grad: new Float32Array(ROWS * WIDTH).fill(0.5) };
    const opt = new RMSProp([emb, dense], OPTIONS);
    const sparse = new SparseRows(opt);
    opt.step();
    const before = { ...bits(opt, dense), grad: Array.from(dense.grad) };
    (emb as { data: FloatArray }).data = target(opt, dense);
    expectError(() => sparse.step(emb, exact([1], g4)), Error, `${S}: data ${at} shares memory with ${hit}`);
    expect({ ...bits(opt, dense), grad: Array.from(dense.grad) }).toEqual(before);
  });

  it("names the parameter whose data getter throws", () => {
    const emb = table(Float32Array);
    const sparse = new SparseRows(new RMSProp([emb]));
    Object.defineProperty(emb, 'data', { get: () => { throw new Error('boom'); } });
    expectError(() => sparse.step(emb, exact([1], g4)), Error, `${S}: reading its data threw (group 0, param 0): boom`);
  });

  it('checks an update to a frozen group as any other before returning false', () => {
    const emb = table(Float32Array);
    const opt = new RMSProp([{ params: [emb], frozen: true }], OPTIONS);
    const sparse = new SparseRows(opt);
    expectError(() => sparse.step(emb, { width: 5, rows: [99], grad: new Float64Array(1) }), RangeError, `${S}: invalid width: expected a whole number >= 1 that divides the data length 24, got 5 (group 0, param 0)`);
    expectError(() => sparse.step(emb, { width: WIDTH, rows: [99], grad: g4 }), RangeError, `${S}: invalid row index 99 at position 0: expected a whole number in [0, 6) (group 0, param 0)`);
    expect(sparse.step(emb, exact([1], g4))).toBe(false);
  });

  it('takes rows as any array-like of indices', () => {
    const [a, b] = [table(Float64Array), table(Float64Array)];
    const grad = Float64Array.from(normals(rng(9), WIDTH));
    new SparseRows(new RMSProp([a])).step(a, { width: WIDTH, rows: { length: 1, 0: 2 }, grad });
    new SparseRows(new RMSProp([b])).step(b, { width: WIDTH, rows: [2], grad });
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
  });

  it('keeps optimizer and maxReplay as they were built', () => {
    const sparse = new SparseRows(new RMSProp([table(Float32Array)]));
    expect(() => ((sparse as { maxReplay: unknown }).maxReplay = NaN)).toThrow(TypeError);
    expect(sparse.maxReplay).toBe(1_000_000);
  });
});
