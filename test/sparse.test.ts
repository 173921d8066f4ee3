import { describe, expect, it } from 'vitest';
import { RMSProp } from '../src/index.js';
import type { FloatArray, OptimizerOptions, RMSPropStateDict } from '../src/index.js';
import { normals, rng } from './support/random.js';

const ROWS = 6;
const WIDTH = 4;

function table<T extends FloatArray>(T: { from(v: number[]): T }, name: string): { data: T; grad: T | null; name: string } {
  return { data: T.from(normals(rng(1), ROWS * WIDTH)), grad: null, name };
}

describe('sparseStep', () => {
  it.each([
    ['float32', Float32Array],
    ['float64', Float64Array],
  ] as const)("in 'exact' mode equals the dense run with zero gradients for the rows not given (%s)", (_n, T) => {
    const options: OptimizerOptions = { lr: 0.02, momentum: 0.9, centered: true, weightDecay: 0.01 };
    const sparse = table(T as never, 'emb') as { data: FloatArray; grad: FloatArray | null; name: string };
    const dense = { ...table(T as never, 'emb'), grad: new T(ROWS * WIDTH) as FloatArray };
    const optS = new RMSProp([sparse], options);
    const optD = new RMSProp([dense], options);
    const random = rng(9);
    for (let t = 0; t < 8; t++) {
      // a random subset of rows, all of them on the last update
      const rows = t === 7 ? [0, 1, 2, 3, 4, 5] : [0, 1, 2, 3, 4, 5].filter(() => random() < 0.4);
      const g = T.from(normals(random, rows.length * WIDTH));
      optS.sparseStep(sparse, { width: WIDTH, rows, grad: g, mode: 'exact' });
      dense.grad.fill(0);
      rows.forEach((r, k) => dense.grad.set(g.subarray(k * WIDTH, (k + 1) * WIDTH), r * WIDTH));
      optD.step();
    }
    expect(Array.from(sparse.data)).toEqual(Array.from(dense.data));
    expect(Array.from(optS.getState(sparse)!.squareAvg)).toEqual(Array.from(optD.getState(dense)!.squareAvg));
    expect(Array.from(optS.getState(sparse)!.momentumBuffer!)).toEqual(Array.from(optD.getState(dense)!.momentumBuffer!));
    expect(optS.getState(sparse)!.step).toBe(8);
  });

  it("in 'lazy' mode (TensorFlow's) leaves other rows alone and steps the given ones as a dense step would", () => {
    const options: OptimizerOptions = { momentum: 0.5 };
    const sparse = table(Float32Array, 'emb');
    const optS = new RMSProp([sparse], options);
    const before = Array.from(sparse.data);
    const g = Float32Array.from(normals(rng(2), 2 * WIDTH));
    optS.sparseStep(sparse, { width: WIDTH, rows: [4, 1], grad: g });
    // The same two rows as a dense parameter of their own, one step.
    const two = { data: Float32Array.from([...before.slice(4 * WIDTH, 5 * WIDTH), ...before.slice(1 * WIDTH, 2 * WIDTH)]), grad: g.slice() };
    new RMSProp([two], options).step();
    expect(Array.from(sparse.data.subarray(4 * WIDTH, 5 * WIDTH))).toEqual(Array.from(two.data.subarray(0, WIDTH)));
    expect(Array.from(sparse.data.subarray(1 * WIDTH, 2 * WIDTH))).toEqual(Array.from(two.data.subarray(WIDTH)));
    for (const r of [0, 2, 3, 5]) {
      expect(Array.from(sparse.data.subarray(r * WIDTH, (r + 1) * WIDTH))).toEqual(before.slice(r * WIDTH, (r + 1) * WIDTH));
      expect(Array.from(optS.getState(sparse)!.squareAvg.subarray(r * WIDTH, (r + 1) * WIDTH))).toEqual([0, 0, 0, 0]);
    }
  });

  it('sums repeated rows', () => {
    const a = table(Float64Array, 'a');
    const b = table(Float64Array, 'b');
    const optA = new RMSProp([a]);
    const optB = new RMSProp([b]);
    const g1 = Float64Array.of(0.5, -1, 2, 0.25);
    const g2 = Float64Array.of(1, 1, -1, 0.5);
    optA.sparseStep(a, { width: WIDTH, rows: [2, 2], grad: Float64Array.from([...g1, ...g2]) });
    optB.sparseStep(b, { width: WIDTH, rows: [2], grad: g1.map((x, i) => x + g2[i]!) });
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
  });

  it.each([
    [{ width: 5, rows: [0], grad: new Float32Array(5) }, RangeError, 'RMSProp.sparseStep: invalid width: expected a whole number >= 1 that divides the data length 24, got 5 (group 0, param 0)'],
    [{ width: WIDTH, rows: [6], grad: new Float32Array(4) }, RangeError, 'RMSProp.sparseStep: invalid row index 6 at position 0: expected a whole number in [0, 6) (group 0, param 0)'],
    [{ width: WIDTH, rows: [0, 1], grad: new Float32Array(4) }, RangeError, 'RMSProp.sparseStep: grad length 4 does not match 2 rows of width 4 (group 0, param 0)'],
    [{ width: WIDTH, rows: [0], grad: new Float64Array(4) }, TypeError, 'RMSProp.sparseStep: invalid grad: expected a Float32Array like the data, got a Float64Array of length 4 (group 0, param 0)'],
    [{ width: WIDTH, rows: [0], grad: Float32Array.of(1, NaN, 0, 0) }, RangeError, 'RMSProp.sparseStep: grad holds a non-finite value (group 0, param 0); nothing was updated'],
    [{ width: WIDTH, rows: [0], grad: new Float32Array(4), mode: 'eager' }, TypeError, "RMSProp.sparseStep: invalid mode: expected 'lazy' or 'exact', got string \"eager\" (group 0, param 0)"],
  ] as const)('rejects bad input and writes nothing (%#)', (update, type, message) => {
    const p = table(Float32Array, 'emb');
    const opt = new RMSProp([p]);
    const before = Array.from(p.data);
    expect(() => opt.sparseStep(p, update as never)).toThrow(new type(message));
    expect(Array.from(p.data)).toEqual(before);
    expect(opt.getState(p)!.step).toBe(0);
  });

  it("saves which update each row is current as of, so an 'exact' run resumes bit for bit", () => {
    const a = table(Float32Array, 'emb');
    const opt = new RMSProp([a], { momentum: 0.9 });
    const random = rng(4);
    const call = (o: RMSProp, p: { data: FloatArray }, rows: number[], g: Float32Array): void =>
      o.sparseStep(p as never, { width: WIDTH, rows, grad: g, mode: 'exact' });
    const plan = Array.from({ length: 8 }, (_, t) => (t === 7 ? [0, 1, 2, 3, 4, 5] : [0, 1, 2, 3, 4, 5].filter(() => random() < 0.4)));
    const grads = plan.map((rows) => Float32Array.from(normals(random, rows.length * WIDTH)));
    for (let t = 0; t < 4; t++) call(opt, a, plan[t]!, grads[t]!);
    const saved = JSON.parse(JSON.stringify(opt.stateDict())) as RMSPropStateDict;
    expect(saved.groups[0]!.params[0]!.rowsCurrent).not.toBeNull();
    const b = { ...table(Float32Array, 'emb'), data: a.data.slice() };
    const resumed = new RMSProp([b], { momentum: 0.9 });
    resumed.loadStateDict(saved);
    for (let t = 4; t < 8; t++) {
      call(opt, a, plan[t]!, grads[t]!);
      call(resumed, b, plan[t]!, grads[t]!);
    }
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
  });

  it('needs a registered parameter and skips a frozen group', () => {
    const p = table(Float32Array, 'emb');
    const opt = new RMSProp([{ params: [p], frozen: true }]);
    expect(() => opt.sparseStep(table(Float32Array, 'x'), { width: WIDTH, rows: [], grad: new Float32Array(0) })).toThrow(
      'RMSProp.sparseStep: the parameter is not registered with this optimizer',
    );
    const before = Array.from(p.data);
    opt.sparseStep(p, { width: WIDTH, rows: [1], grad: Float32Array.of(1, 1, 1, 1) });
    expect(Array.from(p.data)).toEqual(before);
  });
});

describe('a dense step of a sparse parameter', () => {
  it("makes every row current for 'exact' mode: no update is replayed twice", () => {
    const a = { data: Float64Array.from(normals(rng(3), ROWS * WIDTH)), grad: null as Float64Array | null, name: 'emb' };
    const b = { data: a.data.slice(), grad: new Float64Array(ROWS * WIDTH), name: 'emb' };
    const optA = new RMSProp([a], { momentum: 0.9 });
    const optB = new RMSProp([b], { momentum: 0.9 });
    const g = Float64Array.from(normals(rng(4), WIDTH));
    optA.sparseStep(a, { width: WIDTH, rows: [2], grad: g, mode: 'exact' });
    b.grad.fill(0);
    b.grad.set(g, 2 * WIDTH);
    optB.step();
    // a dense step on both: every row moves
    a.grad = Float64Array.from(normals(rng(5), ROWS * WIDTH));
    b.grad.set(a.grad);
    optA.step();
    optB.step();
    a.grad = null;
    optA.sparseStep(a, { width: WIDTH, rows: [0, 1, 2, 3, 4, 5], grad: new Float64Array(ROWS * WIDTH), mode: 'exact' });
    b.grad.fill(0);
    optB.step();
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
  });
});
