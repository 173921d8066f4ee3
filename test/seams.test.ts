// Where features meet: buffers that move between steps, through the optimizer and through the
// features beside it (SparseRows, MultiSteps, loading), as an engine with a buffer pool, or one
// with tensor classes of its own, moves them. Each case here was found by a hostile review.
import { describe, expect, it } from 'vitest';
import { MultiSteps, RMSProp, SparseRows, createArena } from '../src/index.js';
import type { FloatArray } from '../src/index.js';
import { expectError } from './support/expect-error.js';

interface Param {
  data: FloatArray;
  grad: FloatArray | null;
  readonly name?: string;
}

const f32 = (...values: number[]): Float32Array => Float32Array.from(values);

describe('buffers moved in the same step', () => {
  it('refuses two parameters given one new buffer (or overlapping views of one) in the same step, writing nothing', () => {
    for (const [first, second] of [
      [0, 0],
      [0, 1],
    ] as const) {
      const a: Param = { data: f32(1, 1), grad: f32(0.5, 0.5) };
      const b: Param = { data: f32(2, 2), grad: f32(0.5, 0.5) };
      const opt = new RMSProp([a, b]);
      opt.step();
      const x = new Float32Array(3).fill(9);
      [a.data, b.data] = [x.subarray(first, first + 2), x.subarray(second, second + 2)];
      expectError(() => opt.step(), Error, 'RMSProp.step: data (group 0, param 1) shares memory with the data of (group 0, param 0)');
      expect(Array.from(x)).toEqual([9, 9, 9]);
      expect([opt.getState(a)!.step, opt.getState(b)!.step]).toEqual([1, 1]);
    }
  });

  it("accepts a pool's rotation: A moves to a new buffer and B takes A's old one, in either order", () => {
    for (const order of ['a first', 'b first'] as const) {
      const a: Param = { data: f32(1, 1), grad: f32(0.5, 0.5) };
      const b: Param = { data: f32(2, 2), grad: f32(0.5, 0.5) };
      const opt = new RMSProp([a, b]);
      opt.step();
      const old = a.data;
      const moved = Float32Array.from(a.data);
      const values = Array.from(b.data);
      if (order === 'a first') a.data = moved;
      old.set(values);
      b.data = old;
      if (order === 'b first') a.data = moved;
      opt.step();
      expect([opt.getState(a)!.step, opt.getState(b)!.step]).toEqual([2, 2]);
    }
  });
});

describe('buffers moved where no step saw them', () => {
  it("SparseRows records the table's new buffer: a new parameter over it is refused, its old buffer is free again", () => {
    const table: Param = { name: 'table', data: new Float32Array(8).fill(1), grad: null };
    const dense: Param = { name: 'dense', data: f32(1, 1), grad: f32(0.5, 0.5) };
    const opt = new RMSProp([table, dense], { lr: 0.1 });
    const sparse = new SparseRows(opt);
    const old = table.data;
    table.data = new Float32Array(8).fill(2);
    sparse.step(table, { width: 2, rows: [0], grad: f32(1, 1) });
    expectError(
      () => opt.addParamGroup({ params: [{ data: table.data.subarray(4, 8), grad: null }] }),
      Error,
      'RMSProp.addParamGroup: data (group 1, param 0) shares memory with the data of (group 0, param 0)',
    );
    opt.addParamGroup({ params: [{ data: old.subarray(0, 2), grad: f32(1, 1) }] });
    expect(opt.paramGroups.length).toBe(2);
  });

  it("SparseRows refuses a table moved onto a parameter's gradient that no step has read yet", () => {
    const table: Param = { name: 'table', data: new Float32Array(4).fill(1), grad: null };
    const dense: Param = { name: 'dense', data: f32(1, 1, 1, 1), grad: f32(0.5, 0.5, 0.5, 0.5) };
    const opt = new RMSProp([table, dense]);
    table.data = dense.grad!;
    expectError(() => new SparseRows(opt).step(table, { width: 2, rows: [1], grad: f32(1, 1) }), Error, 'SparseRows.step: data (group 0, param 0) shares memory with the grad of (group 0, param 1)');
    expect(Array.from(dense.grad!)).toEqual([0.5, 0.5, 0.5, 0.5]);
  });

  it('addParamGroup checks the current data of a parameter that had no gradient when its data moved', () => {
    const w: Param = { name: 'w', data: f32(5, 5, 5, 5), grad: f32(1, 1, 1, 1) };
    const opt = new RMSProp([w]);
    opt.step();
    w.grad = null;
    w.data = f32(5, 5, 5, 5); // moved while it has no gradient: no step looks at it
    opt.step();
    expectError(
      () => opt.addParamGroup({ params: [{ data: w.data.subarray(0, 2), grad: f32(1, 1) }] }),
      Error,
      'RMSProp.addParamGroup: data (group 1, param 0) shares memory with the data of (group 0, param 0)',
    );
  });

  it("refuses a gradient that is a view of arena memory the arena did not hand out (a state buffer allocated later would land on it)", () => {
    const arena = createArena(64);
    const w: Param = { data: arena.alloc(4).fill(1), grad: arena.alloc(4).fill(0.5) };
    const opt = new RMSProp([w], { arena });
    opt.step();
    w.grad = new Float32Array(arena.memory.buffer, w.grad!.byteOffset + 64, 4);
    expectError(
      () => opt.step(),
      Error,
      "RMSProp.step: grad (group 0, param 0) is a view of the arena's memory that arena.alloc did not hand out: the arena would hand the same memory out again",
    );
    expect(opt.getState(w)!.step).toBe(1);
  });
});

describe('loading a state built from the optimizer’s own buffers', () => {
  it('swaps two parameters’ states given as their live getState() buffers', () => {
    const a: Param = { name: 'a', data: f32(1, 1), grad: f32(1, 1) };
    const b: Param = { name: 'b', data: f32(1, 1), grad: f32(3, 3) };
    const opt = new RMSProp([a, b]);
    opt.step();
    const [sa, sb] = [Array.from(opt.getState(a)!.squareAvg), Array.from(opt.getState(b)!.squareAvg)];
    const saved = opt.stateDict();
    const [pa, pb] = saved.groups[0]!.params;
    const swapped = { ...saved, groups: [{ ...saved.groups[0]!, params: [{ ...pa!, squareAvg: opt.getState(b)!.squareAvg }, { ...pb!, squareAvg: opt.getState(a)!.squareAvg }] }] };
    opt.loadStateDict(swapped);
    expect([Array.from(opt.getState(a)!.squareAvg), Array.from(opt.getState(b)!.squareAvg)]).toEqual([sb, sa]);
  });
});

describe('group objects whose fields are getters that throw', () => {
  it.each([
    ['step, a hyperparameter', 'momentum', (o: RMSProp) => o.step(), 'RMSProp.step: reading a hyperparameter threw in group 1: boom'],
    ['step, frozen', 'frozen', (o: RMSProp) => o.step(), 'RMSProp.step: reading frozen threw in group 1: boom'],
    ['stateDict', 'momentum', (o: RMSProp) => o.stateDict(), 'RMSProp.stateDict: reading an option threw in group 1: boom'],
    ['MultiSteps.step, frozen', 'frozen', (o: RMSProp) => new MultiSteps(o, 1).step(), 'MultiSteps.step: reading frozen threw in group 1: boom'],
  ] as const)('%s: names the group', (_n, field, call, message) => {
    const opt = new RMSProp([{ params: [{ data: f32(1), grad: f32(1) }] }, { params: [{ data: f32(1), grad: f32(1) }] }]);
    Object.defineProperty(opt.paramGroups[1]!, field, { get: () => { throw new Error('boom'); } });
    expectError(() => call(opt), Error, message);
  });
});

describe('tensor classes of an engine (Float32Array subclasses with constructors of their own)', () => {
  class Tensor extends Float32Array {
    readonly shape: readonly number[];
    constructor(shape: readonly number[]) {
      super(shape.reduce((x, y) => x * y, 1));
      this.shape = shape;
    }
  }

  it('SparseRows updates the rows of a tensor as of a plain Float32Array, calling no constructor of the tensor class', () => {
    const table = { data: new Tensor([4, 2]).fill(1), grad: null };
    const plain = { data: new Float32Array(8).fill(1), grad: null };
    for (const p of [table, plain]) new SparseRows(new RMSProp([p], { lr: 0.1 })).step(p, { width: 2, rows: [1], grad: f32(1, 1) });
    expect(Array.from(table.data)).toEqual(Array.from(plain.data));
    expect(Array.from(table.data).slice(4)).toEqual([1, 1, 1, 1]);
  });

  it('steps a flat group of tensor views as one span, calling no constructor of the tensor class', () => {
    let made = 0;
    class Counted extends Float32Array {
      constructor(...args: [ArrayBuffer, number, number] | [number]) {
        super(...(args as [ArrayBuffer, number, number]));
        made++;
      }
    }
    const data = new Counted(6).fill(1);
    const grad = new Counted(6).fill(0.5);
    const params = [[0, 2], [2, 6]].map(([from, to]) => ({ data: data.subarray(from, to), grad: grad.subarray(from, to) }));
    expect(params[0]!.data).toBeInstanceOf(Counted);
    const opt = new RMSProp(params);
    made = 0;
    for (let t = 0; t < 3; t++) opt.step();
    expect(made).toBe(0);
    expect(opt.getState(params[1]!)!.step).toBe(3);
    expect(data[5]).toBeLessThan(1);
  });
});

describe('MultiSteps after the policy changed', () => {
  it("says a window holds NaN (added under 'apply'), not that it overflowed", () => {
    const w: Param = { data: f32(1), grad: f32(NaN) };
    const opt = new RMSProp([w], { nonFinite: 'apply' });
    const ms = new MultiSteps(opt, 2);
    ms.step();
    opt.nonFinite = 'throw';
    w.grad = f32(1);
    expectError(() => ms.step(), RangeError, "MultiSteps.step: the window's mean for (group 0, param 0) holds NaN, from a gradient added under nonFinite 'apply'; nothing was updated (reset() drops the window)");
  });
});
