import { describe, expect, it } from 'vitest';
import { add, backward, constant, matmul, meanSquaredError, softmaxCrossEntropy, Tensor } from '../bench/convergence/autodiff.js';
import { lstm, recurrentWeights, rnn } from '../bench/convergence/recurrent.js';
import type { RecurrentWeights } from '../bench/convergence/recurrent.js';
import { rng } from '../bench/convergence/random.js';
import { leaf, relativeError } from './support/engine-fixture.js';
import type { Leaf } from './support/engine-fixture.js';
import fixture from './fixtures/torch-recurrent.json' with { type: 'json' };

type Case = (typeof fixture.cases)[number];



/** The case's graph in the engine, with torch's weights; returns the tensors and the loss. */
function build(c: Case): { t: Record<string, Tensor>; x: Tensor; loss: Tensor; gradNorms: Float64Array } {
  const tensors = c.tensors as Record<string, Leaf>;
  const t = Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k, leaf(v)]));
  const x = leaf(c.x);
  const w: RecurrentWeights = { wIh: t['weight_ih']!, wHh: t['weight_hh']!, bIh: t['bias_ih']!, bHh: t['bias_hh']! };
  // Stacked: an RNN below feeds the layer, whose input is then an op's output, not data.
  const below = c.below ? rnn(x, c.batch, { wIh: t['below_weight_ih']!, wHh: t['below_weight_hh']!, bIh: t['below_bias_ih']!, bHh: t['below_bias_hh']! }).outputs : x;
  const seq = (c.kind === 'rnn' ? rnn : lstm)(below, c.batch, w);
  const hidden = w.wHh.cols;
  let loss: Tensor;
  if (c.loss_kind === 'every step') {
    loss = meanSquaredError(seq.outputs, constant(c.steps * c.batch, hidden, c.target_all));
  } else {
    const logits = add(matmul(seq.last, t['readout_w']!), t['readout_b']!);
    loss = c.loss_kind === 'cross-entropy' ? softmaxCrossEntropy(logits, c.labels) : meanSquaredError(logits, constant(c.batch, 1, c.target_last));
  }
  return { t, x, loss, gradNorms: seq.gradNorms };
}

describe('the recurrent layers reproduce torch.nn.RNN and torch.nn.LSTM', () => {
  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const { t, x, loss, gradNorms } = build(c);
    backward(loss);
    expect(Math.abs(loss.data[0]! - c.loss) / Math.abs(c.loss)).toBeLessThan(1e-6);
    for (const [k, spec] of Object.entries(c.tensors as Record<string, Leaf>)) {
      if (spec.grad === null) expect(t[k]!.requiresGrad, k).toBe(false); // frozen
      else expect(relativeError(t[k]!.grad, spec.grad), k).toBeLessThan(1e-5);
    }
    if (c.x.grad !== null) expect(relativeError(x.grad, c.x.grad), 'x').toBeLessThan(1e-5);
    // The gradient reaching each step, step by step (each to its own scale: they span decades).
    expect(gradNorms.length).toBe(c.steps);
    c.grad_norms.forEach((n, step) => expect(Math.abs(gradNorms[step]! - n) / n, `step ${step}`).toBeLessThan(1e-5));
  });

  it('the fixtures show what the norms are for: vanishing over 50 steps, growth with large recurrent weights', () => {
    const byName = (s: string): Case => fixture.cases.find((c) => c.name.startsWith(s))!;
    for (const c of [byName('rnn, 50 steps'), byName('lstm, 50 steps')]) {
      expect(c.grad_norms[0]! / c.grad_norms[c.steps - 1]!).toBeLessThan(1e-6);
    }
    const exploding = byName('rnn, 30 steps');
    expect(exploding.grad_norms[0]!).toBeGreaterThan(exploding.grad_norms[exploding.steps - 1]!);
  });
});

describe('recurrent layer details', () => {
  const weights = (kind: 'rnn' | 'lstm', inputs: number, hidden: number): RecurrentWeights =>
    recurrentWeights(kind, kind === 'rnn' ? 1 : 4, inputs, hidden, rng(3));

  it("initialises every weight U(-1/sqrt(hidden), 1/sqrt(hidden)) in torch's shapes", () => {
    const w = weights('lstm', 3, 16);
    expect([w.wIh.rows, w.wIh.cols, w.wHh.rows, w.wHh.cols, w.bIh.cols, w.bHh.cols]).toEqual([64, 3, 64, 16, 64, 64]);
    for (const t of [w.wIh, w.wHh, w.bIh, w.bHh]) {
      const values = Array.from(t.data);
      expect(Math.max(...values.map(Math.abs))).toBeLessThanOrEqual(0.25);
      expect(Math.max(...values.map(Math.abs))).toBeGreaterThan(0.2);
    }
  });

  it('the last step is the outputs\' last rows, and its gradient flows back through time', () => {
    const w = weights('rnn', 2, 3);
    const x = constant(4 * 2, 2, Array.from({ length: 16 }, (_, i) => Math.sin(i)));
    const seq = rnn(x, 2, w);
    expect(Array.from(seq.last.data)).toEqual(Array.from(seq.outputs.data.subarray(3 * 2 * 3)));
    backward(meanSquaredError(seq.last, constant(2, 3, [1, 0, 0, 0, 1, 0])));
    expect([...seq.gradNorms].every((n) => n > 0)).toBe(true);
    expect(seq.gradNorms[0]!).toBeLessThan(seq.gradNorms[3]!);
  });

  it('refuses shapes that do not fit, naming them', () => {
    const w = weights('lstm', 2, 3);
    expect(() => lstm(constant(5, 2, new Float32Array(10)), 2, w)).toThrow('lstm: input 5x2 in batches of 2, weights 12x2, 12x3, biases 12 and 12');
    expect(() => rnn(constant(4, 2, new Float32Array(8)), 2, w)).toThrow('rnn: input 4x2 in batches of 2');
    expect(() => lstm(constant(4, 3, new Float32Array(12)), 2, w)).toThrow('lstm: input 4x3');
  });
});
