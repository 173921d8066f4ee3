import { describe, expect, it } from 'vitest';
import {
  add,
  backward,
  constant,
  matmul,
  meanSquaredError,
  param,
  relu,
  sigmoidCrossEntropy,
  sliceRows,
  softmaxCrossEntropy,
  tanh,
  Tensor,
} from '../bench/convergence/autodiff.js';
import { leaf, relativeError } from './support/engine-fixture.js';
import type { Leaf } from './support/engine-fixture.js';
import fixture from './fixtures/torch-autodiff.json' with { type: 'json' };

type Case = (typeof fixture.cases)[number];


/** Rebuilds the case's graph (the same ops as the Python script) and returns the loss. */
function build(c: Case, t: Record<string, Tensor>): Tensor {
  const labels = c.labels ?? [];
  const v = (name: string): Tensor => {
    const found = t[name];
    if (found === undefined) throw new Error(`${c.name}: no leaf ${name}`);
    return found;
  };
  switch (c.name) {
    case 'tanh MLP, cross-entropy':
      return softmaxCrossEntropy(add(matmul(tanh(add(matmul(v('x'), v('w1')), v('b1'))), v('w2')), v('b2')), labels);
    case 'relu MLP, cross-entropy':
      return softmaxCrossEntropy(add(matmul(relu(add(matmul(v('x'), v('w1')), v('b1'))), v('w2')), v('b2')), labels);
    case 'relu then tanh MLP, mean squared error':
      return meanSquaredError(add(matmul(tanh(relu(add(matmul(v('x'), v('w1')), v('b1')))), v('w2')), v('b2')), v('target'));
    case 'logistic regression':
      return sigmoidCrossEntropy(add(matmul(v('x'), v('w')), v('b')), labels);
    case 'a weight used twice': {
      const h = tanh(matmul(v('x'), v('w')));
      return meanSquaredError(add(matmul(h, v('w')), h), constant(4, 4, new Float32Array(16)));
    }
    case 'large logits':
      return softmaxCrossEntropy(add(matmul(v('x'), v('w')), v('b')), labels);
    default:
      throw new Error(`no graph for ${c.name}`);
  }
}


describe('the autodiff engine reproduces torch.autograd', () => {
  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const leaves = c.leaves as Record<string, Leaf>;
    const tensors = Object.fromEntries(Object.entries(leaves).map(([k, v]) => [k, leaf(v)]));
    const loss = build(c, tensors);
    backward(loss);
    // float32 storage, double arithmetic inside each op: agreement to float32 rounding.
    expect(Math.abs(loss.data[0]! - c.loss) / Math.abs(c.loss)).toBeLessThan(1e-6);
    let checked = 0;
    for (const [k, spec] of Object.entries(leaves)) {
      if (spec.grad === null) continue;
      expect(relativeError(tensors[k]!.grad, spec.grad), k).toBeLessThan(1e-5);
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });
});

describe('autodiff engine details', () => {
  it('accumulates gradients across backward passes, as the training loop expects before zeroGrad', () => {
    const w = param('w', 1, 2, () => 1);
    const x = constant(1, 2, [3, 4]);
    backward(meanSquaredError(add(x, w), constant(1, 2, [0, 0])));
    expect(Array.from(w.grad)).toEqual([4, 5]); // 2 (x + w) / 2
    backward(meanSquaredError(add(x, w), constant(1, 2, [0, 0])));
    expect(Array.from(w.grad)).toEqual([8, 10]);
  });

  it('keeps no gradient for data, and matmul skips the gradient nobody needs', () => {
    const x = constant(2, 2, [1, 2, 3, 4]);
    const w = param('w', 2, 1, () => 0.5);
    const y = matmul(x, w);
    expect(x.grad.length).toBe(0);
    expect(y.requiresGrad).toBe(true);
    expect(matmul(x, x).requiresGrad).toBe(false);
    backward(sigmoidCrossEntropy(y, [1, 0]));
    expect(w.grad.length).toBe(2);
  });

  it('relu passes no gradient at 0 (as PyTorch)', () => {
    const w = param('w', 1, 3, (() => { const v = [-1, 0, 2]; let i = 0; return () => v[i++]!; })());
    backward(meanSquaredError(relu(w), constant(1, 3, [1, 1, 1])));
    expect(Array.from(w.grad)).toEqual([0, 0, Math.fround(2 / 3)]);
  });

  it('sliceRows takes rows and sends their gradient back to those rows only', () => {
    const a = param('a', 3, 2, (() => { let i = 0; return () => ++i; })());
    const rows = sliceRows(a, 1, 2);
    expect(Array.from(rows.data)).toEqual([3, 4, 5, 6]);
    backward(meanSquaredError(rows, constant(2, 2, [0, 0, 0, 0])));
    expect(Array.from(a.grad)).toEqual([0, 0, 1.5, 2, 2.5, 3]); // 2 x / 4
    expect(() => sliceRows(a, 2, 2)).toThrow('sliceRows: rows 2 to 3 of a 3x2 tensor');
    expect(() => sliceRows(a, 0.5, 1)).toThrow('sliceRows: rows 0.5 to 0.5 of a 3x2 tensor');
  });

  it('refuses mismatched shapes with the shapes in the message', () => {
    const a = constant(2, 3, new Float32Array(6));
    expect(() => matmul(a, a)).toThrow('matmul: 2x3 times 2x3');
    expect(() => add(a, constant(2, 2, new Float32Array(4)))).toThrow('add: 2x3 plus 2x2');
    expect(() => softmaxCrossEntropy(a, [0])).toThrow('softmaxCrossEntropy: 1 labels for 2 rows');
    expect(() => backward(a)).toThrow('backward: the loss must be 1x1, got 2x3');
  });

  it('allocates parameters with the allocator it is given (an arena, for the SIMD path)', () => {
    const pool = new Float32Array(16);
    let used = 0;
    const alloc = (n: number): Float32Array => pool.subarray(used, (used += n));
    const w = param('w', 2, 2, () => 1, alloc);
    expect(w.data.buffer).toBe(pool.buffer);
    expect(w.grad.byteOffset).toBe(16);
  });
});
