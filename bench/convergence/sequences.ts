// The study's recurrent problems: the adding problem and row-by-row digits, each with an Elman
// RNN and an LSTM (bench/convergence/recurrent.ts), trained with backpropagation through time.
import { add, backward, constant, matmul, meanSquaredError, param, softmaxCrossEntropy } from './autodiff.js';
import type { Alloc, Tensor } from './autodiff.js';
import { accuracy, miniBatches } from './problems.js';
import type { Dataset, Instance, Problem, Split } from './problems.js';
import { rng } from './random.js';
import { lstm, recurrentWeights, rnn } from './recurrent.js';
import type { Sequence } from './recurrent.js';

/** Which recurrent layer a problem uses. */
export type Cell = 'rnn' | 'lstm';

const CELL_NAMES: Record<Cell, string> = { rnn: 'Elman RNN', lstm: 'LSTM' };

/** A recurrent layer followed by a linear readout of its last hidden state. */
interface Model {
  readonly params: readonly Tensor[];
  /** The readout's outputs for a time-major (T·batch) x inputs sequence, and the layer's record. */
  forward(x: Tensor, batch: number): { out: Tensor; seq: Sequence };
}

function model(cell: Cell, inputs: number, hidden: number, outputs: number, random: () => number, alloc: Alloc): Model {
  const w = recurrentWeights(cell, cell === 'rnn' ? 1 : 4, inputs, hidden, random, alloc);
  // The readout as nn.Linear(hidden, outputs): U(-1/sqrt(hidden), 1/sqrt(hidden)), stored in x W layout.
  const bound = 1 / Math.sqrt(hidden);
  const init = (): number => (2 * random() - 1) * bound;
  const readW = param('readout.weight', hidden, outputs, init, alloc);
  const readB = param('readout.bias', 1, outputs, init, alloc);
  const layer = cell === 'rnn' ? rnn : lstm;
  return {
    params: [w.wIh, w.wHh, w.bIh, w.bHh, readW, readB],
    forward(x, batch) {
      const seq = layer(x, batch, w);
      return { out: add(matmul(seq.last, readW), readB), seq };
    },
  };
}

/** Trained values of a layer (torch's two biases) and its readout. */
function weightCount(cell: Cell, inputs: number, hidden: number, outputs: number): number {
  const gates = cell === 'rnn' ? 1 : 4;
  return gates * hidden * (inputs + hidden + 2) + hidden * outputs + outputs;
}

// ---------------------------------------------------------------------------------------------
// The adding problem (Hochreiter & Schmidhuber 1997), in the form used since Le et al. 2015
// ("A simple way to initialize recurrent networks of rectified linear units") and Arjovsky et
// al. 2016 ("Unitary evolution recurrent neural networks"): values U[0, 1), one marker in each
// half, the target their sum; predicting the mean scores 1/6.

/** Sequence length of the adding problem. */
export const ADDING_STEPS = 50;
const ADDING_HIDDEN = 8;
const ADDING_BATCH = 16;
const ADDING_HELD_OUT = 256;

/**
 * `count` adding-problem sequences of `steps` (value, marker) pairs, time-major, and their
 * targets: values U[0, 1); one marker in the first half, one in the second; the target is the
 * sum of the two marked values.
 */
export function addingBatch(count: number, steps: number, random: () => number): { x: Float32Array; y: Float32Array } {
  const x = new Float32Array(steps * count * 2);
  const y = new Float32Array(count);
  const half = Math.floor(steps / 2);
  for (let b = 0; b < count; b++) {
    const first = Math.floor(random() * half);
    const second = half + Math.floor(random() * (steps - half));
    let sum = 0;
    for (let t = 0; t < steps; t++) {
      const at = (t * count + b) * 2;
      const v = Math.fround(random());
      x[at] = v;
      if (t === first || t === second) {
        x[at + 1] = 1;
        sum += v;
      }
    }
    y[b] = sum;
  }
  return { x, y };
}

function adding(cell: Cell): Problem {
  const T = ADDING_STEPS;
  const held = addingBatch(ADDING_HELD_OUT, T, rng(19_970_101));
  const heldX = constant(T * ADDING_HELD_OUT, 2, held.x);
  const heldY = constant(ADDING_HELD_OUT, 1, held.y);
  // The best constant prediction's mean squared error on the held-out set (about 1/6).
  let mean = 0;
  for (const v of held.y) mean += v / held.y.length;
  let constantLoss = 0;
  for (const v of held.y) constantLoss += (v - mean) ** 2 / held.y.length;
  return {
    id: `adding-${cell}`,
    title: `Adding problem, T = ${T}, ${CELL_NAMES[cell]} ${ADDING_HIDDEN}`,
    description: `Sequences of ${T} (value, marker) pairs, values U[0, 1), one marker in each half; the target is the sum of the two marked values (the adding problem of Hochreiter & Schmidhuber 1997, in the form of Le et al. 2015 and Arjovsky et al. 2016). An ${CELL_NAMES[cell]} with ${ADDING_HIDDEN} hidden units (${weightCount(cell, 2, ADDING_HIDDEN, 1)} weights with the readout) reads the sequence, a linear readout of its last state predicts the sum; mean squared error, fresh mini-batches of ${ADDING_BATCH} every step, the loss measured on ${ADDING_HELD_OUT} held-out sequences. Predicting the mean gives ${constantLoss.toFixed(3)} on these sequences (1/6 in expectation); solved is below 0.01.`,
    steps: 3000,
    evalEvery: 100,
    target: 0.01,
    fullBatch: false,
    plateau: constantLoss,
    lossName: 'held-out MSE',
    create(seed, alloc): Instance {
      const random = rng(seed);
      const m = model(cell, 2, ADDING_HIDDEN, 1, random, alloc);
      const data = rng(seed + 1_000_003);
      let norms: Float64Array = new Float64Array(T);
      return {
        params: m.params,
        lossAndGrad() {
          const b = addingBatch(ADDING_BATCH, T, data);
          const { out, seq } = m.forward(constant(T * ADDING_BATCH, 2, b.x), ADDING_BATCH);
          const loss = meanSquaredError(out, constant(ADDING_BATCH, 1, b.y));
          backward(loss);
          norms = seq.gradNorms;
          return loss.data[0]!;
        },
        trainLoss: () => meanSquaredError(m.forward(heldX, ADDING_HELD_OUT).out, heldY).data[0]!,
        gradNorms: () => norms,
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Row-by-row digits

/** Hidden units: fewer for the LSTM, so that both layers have about the same number of weights. */
const DIGITS_HIDDEN: Record<Cell, number> = { rnn: 32, lstm: 16 };
const DIGITS_BATCH = 32;

/** Rows `rows` of an 8x8-image dataset as a time-major sequence: step t is pixel row t of every image. */
function rowsAsSequence(data: Dataset, rows: ArrayLike<number>): Tensor {
  const n = rows.length;
  const x = new Float32Array(8 * n * 8);
  for (let b = 0; b < n; b++) {
    const image = data.x.subarray(rows[b]! * 64, rows[b]! * 64 + 64);
    for (let t = 0; t < 8; t++) x.set(image.subarray(t * 8, t * 8 + 8), (t * n + b) * 8);
  }
  return constant(8 * n, 8, x);
}

function rowDigits(cell: Cell, train: Dataset, test: Dataset): Problem {
  const all = (d: Dataset): Int32Array => Int32Array.from({ length: d.rows }, (_, i) => i);
  const trainX = rowsAsSequence(train, all(train));
  const testX = rowsAsSequence(test, all(test));
  return {
    id: `digits-${cell}`,
    title: `Digits row by row, ${CELL_NAMES[cell]} ${DIGITS_HIDDEN[cell]}`,
    description: `The UCI digits read one pixel row at a time: 8 steps of 8 pixels (${train.rows} training images, ${test.rows} held out); an ${CELL_NAMES[cell]} with ${DIGITS_HIDDEN[cell]} hidden units (${weightCount(cell, 8, DIGITS_HIDDEN[cell], 10)} weights with the readout), a linear readout of its last state, softmax cross-entropy, mini-batches of ${DIGITS_BATCH}. Guessing gives ln 10 = 2.30.`,
    steps: 600,
    evalEvery: 50,
    target: 0.1,
    fullBatch: false,
    plateau: Math.log(10),
    create(seed, alloc): Instance {
      const random = rng(seed);
      const m = model(cell, 8, DIGITS_HIDDEN[cell], 10, random, alloc);
      const rowsOf = miniBatches(train.rows, DIGITS_BATCH, random);
      let norms: Float64Array = new Float64Array(8);
      return {
        params: m.params,
        lossAndGrad(step) {
          const rows = rowsOf(step);
          const labels = Uint8Array.from(rows, (r) => train.labels[r]!);
          const { out, seq } = m.forward(rowsAsSequence(train, rows), DIGITS_BATCH);
          const loss = softmaxCrossEntropy(out, labels);
          backward(loss);
          norms = seq.gradNorms;
          return loss.data[0]!;
        },
        trainLoss: () => softmaxCrossEntropy(m.forward(trainX, train.rows).out, train.labels).data[0]!,
        heldOutAccuracy: () => accuracy(m.forward(testX, test.rows).out, test.labels),
        gradNorms: () => norms,
      };
    },
  };
}

/** The recurrent problems, in report order; `digits` is the 80/20 split of the UCI digits, scaled to [0, 1]. */
export function recurrentProblems(digits: Split): Problem[] {
  return [adding('rnn'), adding('lstm'), rowDigits('rnn', digits.train, digits.test), rowDigits('lstm', digits.train, digits.test)];
}
