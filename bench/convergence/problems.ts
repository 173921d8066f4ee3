// The problems of the convergence study. Each one makes, for a seed, a fresh set of parameters
// (`{ data, grad }` tensors from the autodiff engine, allocated where the caller says: a plain
// Float32Array or an arena) and the functions a training loop needs.
import { add, backward, constant, matmul, param, relu, sigmoidCrossEntropy, softmaxCrossEntropy, tanh } from './autodiff.js';
import type { Alloc, Tensor } from './autodiff.js';
import { gaussian, permutation, rng } from './random.js';

/** One problem instance, for one seed: parameters at their starting point. */
export interface Instance {
  readonly params: readonly Tensor[];
  /**
   * The training loss of step `step`'s batch (the whole training set for full-batch problems),
   * with its gradient added into every parameter's `grad`.
   */
  lossAndGrad(step: number): number;
  /** The loss over the whole training set, no gradient. */
  trainLoss(): number;
  /** Share of the held-out split classified correctly; absent for problems without data. */
  heldOutAccuracy?(): number;
  /**
   * Recurrent problems: ‖d loss / d h_t‖ for every time step t of the last `lossAndGrad`'s
   * backward pass (see recurrent.ts).
   */
  gradNorms?(): Float64Array;
}

export interface Problem {
  readonly id: string;
  readonly title: string;
  /** One line on what it is and why it is here. */
  readonly description: string;
  /** Updates per run. */
  readonly steps: number;
  /** The training loss is recorded every `evalEvery` updates (and before the first). */
  readonly evalEvery: number;
  /** The loss a run must reach to count as converged; steps to target are counted to it. */
  readonly target: number;
  /** Whole training set each step (then every step's loss is exact and oscillation is per step). */
  readonly fullBatch: boolean;
  /**
   * Recurrent problems: the loss of the best constant prediction, against which runs are counted
   * as stalled or thrown off (study.ts, `STALLED` and `THROWN_OFF`).
   */
  readonly plateau?: number;
  /** What the recorded loss is, for plot axes. @defaultValue 'training loss' */
  readonly lossName?: string;
  create(seed: number, alloc: Alloc): Instance;
}

/** A classification dataset: `rows` examples of `features` values, row-major, and a label each. */
export interface Dataset {
  readonly rows: number;
  readonly features: number;
  readonly x: Float32Array;
  readonly labels: Uint8Array;
}

/** Parses a CSV of numeric rows whose last column is the label; skips `header` lines. */
export function parseCsv(text: string, header: number): Dataset {
  const lines = text.split('\n').slice(header).filter((line) => line.trim() !== '');
  const features = lines[0]!.split(',').length - 1;
  const x = new Float32Array(lines.length * features);
  const labels = new Uint8Array(lines.length);
  lines.forEach((line, i) => {
    const cells = line.split(',').map(Number);
    if (cells.length !== features + 1 || cells.some((v) => !Number.isFinite(v))) throw new Error(`parseCsv: bad row ${i + header + 1}`);
    x.set(cells.slice(0, features), i * features);
    labels[i] = cells[features]!;
  });
  return { rows: lines.length, features, x, labels };
}

/** The two real datasets (bench/data/). */
export interface Datasets {
  readonly digits: Dataset;
  readonly breastCancer: Dataset;
}

// ---------------------------------------------------------------------------------------------
// Ill-conditioned quadratics

const QUAD_DIM = 100;
const QUAD_CONDITION = 1e3;

/** d orthonormal rows from Gram-Schmidt on seeded Gaussian vectors: a fixed random rotation. */
function rotation(d: number, seed: number): Float64Array {
  const normal = gaussian(rng(seed));
  const q = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    const row = q.subarray(i * d, (i + 1) * d);
    for (let j = 0; j < d; j++) row[j] = normal();
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < i; k++) {
        const prev = q.subarray(k * d, (k + 1) * d);
        let dot = 0;
        for (let j = 0; j < d; j++) dot += row[j]! * prev[j]!;
        for (let j = 0; j < d; j++) row[j] = row[j]! - dot * prev[j]!;
      }
    }
    let norm = 0;
    for (let j = 0; j < d; j++) norm += row[j]! * row[j]!;
    norm = Math.sqrt(norm);
    for (let j = 0; j < d; j++) row[j] = row[j]! / norm;
  }
  return q;
}

/**
 * f(x) = 1/2 sum_i lambda_i (Q x)_i^2 with lambda log-spaced from 1 down to 1/condition; Q is the
 * identity (axis-aligned: a per-coordinate step size can undo the conditioning exactly) or a
 * fixed random rotation (it cannot). The start is a seeded standard normal point.
 */
function quadratic(rotated: boolean): Problem {
  const d = QUAD_DIM;
  const lambda = Float64Array.from({ length: d }, (_, i) => QUAD_CONDITION ** (-i / (d - 1)));
  let q: Float64Array | null = null;
  const u = new Float64Array(d);
  return {
    id: rotated ? 'quadratic-rotated' : 'quadratic',
    title: rotated ? 'Rotated quadratic (condition 1e3)' : 'Axis-aligned quadratic (condition 1e3)',
    description: rotated
      ? `1/2 x^T A x in ${d} dimensions, A = Q diag(lambda) Q^T with a random rotation Q and eigenvalues from 1 to 1e-3: the curvature is not aligned with the coordinates.`
      : `1/2 sum lambda_i x_i^2 in ${d} dimensions, lambda from 1 to 1e-3: the curvature is aligned with the coordinates.`,
    steps: 2000,
    evalEvery: 10,
    target: 1e-3,
    fullBatch: true,
    create(seed, alloc) {
      if (rotated) q ??= rotation(d, 7);
      const normal = gaussian(rng(seed));
      const x = param('x', 1, d, normal, alloc);
      /** u = Q x (or x); returns the loss. */
      const project = (): number => {
        let loss = 0;
        for (let i = 0; i < d; i++) {
          let s = 0;
          if (q === null) s = x.data[i]!;
          else for (let j = 0; j < d; j++) s += q[i * d + j]! * x.data[j]!;
          u[i] = s;
          loss += 0.5 * lambda[i]! * s * s;
        }
        return loss;
      };
      return {
        params: [x],
        trainLoss: project,
        lossAndGrad() {
          const loss = project();
          // grad = Q^T diag(lambda) u
          for (let i = 0; i < d; i++) u[i] = lambda[i]! * u[i]!;
          for (let j = 0; j < d; j++) {
            let s = 0;
            if (q === null) s = u[j]!;
            else for (let i = 0; i < d; i++) s += q[i * d + j]! * u[i]!;
            x.grad[j] = x.grad[j]! + s;
          }
          return loss;
        },
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Rosenbrock

const rosenbrock: Problem = {
  id: 'rosenbrock',
  title: 'Rosenbrock',
  description: '(1 - x)^2 + 100 (y - x^2)^2 from near the classic start (-1.2, 1): a curved, narrow valley with its minimum 0 at (1, 1).',
  steps: 3000,
  evalEvery: 10,
  target: 1e-4,
  fullBatch: true,
  create(seed, alloc) {
    const normal = gaussian(rng(seed));
    const start = [-1.2 + 0.1 * normal(), 1 + 0.1 * normal()];
    let i = 0;
    const p = param('xy', 1, 2, () => start[i++]!, alloc);
    const loss = (): number => {
      const x = p.data[0]!;
      const y = p.data[1]!;
      return (1 - x) ** 2 + 100 * (y - x * x) ** 2;
    };
    return {
      params: [p],
      trainLoss: loss,
      lossAndGrad() {
        const x = p.data[0]!;
        const y = p.data[1]!;
        p.grad[0] = p.grad[0]! - 2 * (1 - x) - 400 * x * (y - x * x);
        p.grad[1] = p.grad[1]! + 200 * (y - x * x);
        return loss();
      },
    };
  },
};

// ---------------------------------------------------------------------------------------------
// Classifiers

/** A dense layer with PyTorch's nn.Linear initialisation: weights and bias U(-1/sqrt(in), 1/sqrt(in)). */
interface Layer {
  readonly w: Tensor;
  readonly b: Tensor;
}

function layer(name: string, inputs: number, outputs: number, random: () => number, alloc: Alloc): Layer {
  const bound = 1 / Math.sqrt(inputs);
  const init = (): number => (2 * random() - 1) * bound;
  return { w: param(`${name}.weight`, inputs, outputs, init, alloc), b: param(`${name}.bias`, 1, outputs, init, alloc) };
}

type Activation = (t: Tensor) => Tensor;

/** An MLP's logits for a batch `x` (rows x features). */
function forward(layers: readonly Layer[], x: Tensor, activation: Activation): Tensor {
  let h = x;
  layers.forEach((l, i) => {
    h = add(matmul(h, l.w), l.b);
    if (i < layers.length - 1) h = activation(h);
  });
  return h;
}

/** Argmax of each row of `logits` (or the sign of a single logit) against the labels. */
export function accuracy(logits: Tensor, labels: Uint8Array): number {
  let right = 0;
  for (let i = 0; i < logits.rows; i++) {
    let best = 0;
    if (logits.cols === 1) best = logits.data[i]! > 0 ? 1 : 0;
    else for (let j = 1; j < logits.cols; j++) if (logits.data[i * logits.cols + j]! > logits.data[i * logits.cols + best]!) best = j;
    if (best === labels[i]) right++;
  }
  return right / logits.rows;
}

/**
 * Mini-batches of `batch` of `rows` training rows: a new seeded shuffle each epoch (the first one
 * drawn now, from `random`), the tail that does not fill a batch dropped. Returns step's rows.
 */
export function miniBatches(rows: number, batch: number, random: () => number): (step: number) => Int32Array {
  const perEpoch = Math.floor(rows / batch);
  let order = permutation(rows, random);
  let epoch = 0;
  return (step) => {
    for (const e = Math.floor(step / perEpoch); epoch < e; epoch++) order = permutation(rows, random);
    return order.subarray((step % perEpoch) * batch, (step % perEpoch + 1) * batch);
  };
}

/** A dataset's training and held-out parts. */
export interface Split {
  readonly train: Dataset;
  readonly test: Dataset;
}

/** Rows `rows` of `data`, in that order. */
function take(data: Dataset, rows: ArrayLike<number>): Dataset {
  const f = data.features;
  const x = new Float32Array(rows.length * f);
  const labels = new Uint8Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    x.set(data.x.subarray(rows[i]! * f, (rows[i]! + 1) * f), i * f);
    labels[i] = data.labels[rows[i]!]!;
  }
  return { rows: rows.length, features: f, x, labels };
}

/** A fixed 80/20 split (the same for every seed: seeds vary the model, not the data). */
function split(data: Dataset): Split {
  const order = permutation(data.rows, rng(20_240_601));
  const cut = Math.round(data.rows * 0.8);
  return { train: take(data, order.subarray(0, cut)), test: take(data, order.subarray(cut)) };
}

interface ClassifierSpec {
  readonly sizes: readonly number[];
  readonly activation: Activation;
  /** Rows per step; 0 = the whole training set. */
  readonly batch: number;
}

/** Softmax cross-entropy (or logistic loss with one output) of an MLP on a dataset split. */
function classifier(data: Split, spec: ClassifierSpec, seed: number, alloc: Alloc): Instance {
  const random = rng(seed);
  const { sizes, activation, batch } = spec;
  const layers = sizes.slice(1).map((n, i) => layer(`layer${i}`, sizes[i]!, n, random, alloc));
  const lossOf = (logits: Tensor, labels: Uint8Array): Tensor =>
    logits.cols === 1 ? sigmoidCrossEntropy(logits, labels) : softmaxCrossEntropy(logits, labels);
  const trainX = constant(data.train.rows, data.train.features, data.train.x);
  const testX = constant(data.test.rows, data.test.features, data.test.x);
  const rowsOf = miniBatches(data.train.rows, Math.max(batch, 1), random);
  const batchOf = (step: number): { x: Tensor; labels: Uint8Array } => {
    if (batch === 0) return { x: trainX, labels: data.train.labels };
    const b = take(data.train, rowsOf(step));
    return { x: constant(b.rows, b.features, b.x), labels: b.labels };
  };
  return {
    params: layers.flatMap((l) => [l.w, l.b]),
    lossAndGrad(step) {
      const { x, labels } = batchOf(step);
      const loss = lossOf(forward(layers, x, activation), labels);
      backward(loss);
      return loss.data[0]!;
    },
    trainLoss: () => lossOf(forward(layers, trainX, activation), data.train.labels).data[0]!,
    heldOutAccuracy: () => accuracy(forward(layers, testX, activation), data.test.labels),
  };
}

/** Two interleaved spirals, `n` points each, 1.5 turns, Gaussian noise; labels 0 and 1. */
function spiralPoints(n: number, seed: number): Dataset {
  const normal = gaussian(rng(seed));
  const x = new Float32Array(4 * n);
  const labels = new Uint8Array(2 * n);
  for (let i = 0; i < n; i++) {
    const t = (i + 0.5) / n;
    const r = 0.1 + 0.9 * t;
    const angle = 3 * Math.PI * t;
    for (let c = 0; c < 2; c++) {
      const sign = c === 0 ? 1 : -1;
      const k = 2 * i + c;
      x[2 * k] = sign * r * Math.cos(angle) + 0.03 * normal();
      x[2 * k + 1] = sign * r * Math.sin(angle) + 0.03 * normal();
      labels[k] = c;
    }
  }
  return { rows: 2 * n, features: 2, x, labels };
}

const spiralData: Split = { train: spiralPoints(50, 1), test: spiralPoints(100, 2) };

const spirals: Problem = {
  id: 'spirals',
  title: 'Two spirals, MLP 2-16-16-2',
  description: 'Two interleaved spirals (1.5 turns, 50 training and 100 held-out points per class), a tanh MLP 2-16-16-2, softmax cross-entropy, full batch: a small non-convex problem.',
  steps: 1000,
  evalEvery: 10,
  target: 0.05,
  fullBatch: true,
  create: (seed, alloc) => classifier(spiralData, { sizes: [2, 16, 16, 2], activation: tanh, batch: 0 }, seed, alloc),
};

/** Features scaled to zero mean and unit variance with the training split's statistics. */
function standardize(data: Split): Split {
  const f = data.train.features;
  const mean = new Float64Array(f);
  const sd = new Float64Array(f);
  const n = data.train.rows;
  for (let i = 0; i < n * f; i++) mean[i % f] = mean[i % f]! + data.train.x[i]! / n;
  for (let i = 0; i < n * f; i++) sd[i % f] = sd[i % f]! + (data.train.x[i]! - mean[i % f]!) ** 2 / n;
  const scale = (d: Dataset): Dataset => ({
    ...d,
    x: d.x.map((v, i) => (v - mean[i % f]!) / Math.sqrt(sd[i % f]! || 1)),
  });
  return { train: scale(data.train), test: scale(data.test) };
}

/** The digits' fixed 80/20 split, pixels scaled to [0, 1]. */
export function digitsSplit(data: Datasets): Split {
  return split({ ...data.digits, x: data.digits.x.map((v) => v / 16) });
}

/** The study's feed-forward problems, in report order (the recurrent ones: sequences.ts). */
export function problems(data: Datasets): Problem[] {
  const digits = digitsSplit(data);
  const cancer = standardize(split(data.breastCancer));
  return [
    quadratic(false),
    quadratic(true),
    rosenbrock,
    spirals,
    {
      id: 'digits',
      title: 'Handwritten digits, MLP 64-32-10',
      description: `UCI handwritten digits (8x8 images, 10 classes; ${digits.train.rows} training, ${digits.test.rows} held out), a ReLU MLP 64-32-10, softmax cross-entropy, mini-batches of 32.`,
      steps: 600,
      evalEvery: 30,
      target: 0.05,
      fullBatch: false,
      create: (seed, alloc) => classifier(digits, { sizes: [64, 32, 10], activation: relu, batch: 32 }, seed, alloc),
    },
    {
      id: 'breast-cancer',
      title: 'Breast cancer, logistic regression',
      description: `UCI breast cancer Wisconsin (30 standardised features, 2 classes; ${cancer.train.rows} training, ${cancer.test.rows} held out), logistic regression, full batch.`,
      steps: 500,
      evalEvery: 5,
      target: 0.08,
      fullBatch: true,
      // No hidden layer: one linear layer into the logistic loss (the activation is never applied).
      create: (seed, alloc) => classifier(cancer, { sizes: [30, 1], activation: relu, batch: 0 }, seed, alloc),
    },
  ];
}
