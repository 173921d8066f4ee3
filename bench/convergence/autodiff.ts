// A small reverse-mode autodiff engine over Float32Array matrices, written the way a user of
// `rmsprop` would write one: every tensor is an object with `data` and `grad` buffers, and the
// parameters are handed to the optimizer as they are (`new RMSProp(model.params)`).
//
// Tensors are 2-D (rows x cols, row-major); a row vector is 1 x n and a scalar 1 x 1. Each op
// returns a new tensor that remembers its inputs and how to push its gradient back into theirs;
// `backward(loss)` walks that graph in reverse topological order. Gradients accumulate (+=), so
// the training loop calls `opt.zeroGrad()` before each forward pass, as with PyTorch.
//
// Arithmetic is done in JS doubles per element and rounded when stored, as in the optimizer.

/** Where a tensor's buffers come from: a plain `Float32Array`, or an arena's `alloc`. */
export type Alloc = (length: number) => Float32Array;

const heap: Alloc = (length) => new Float32Array(length);

/**
 * A rows x cols float32 matrix with its gradient. Leaves are made with {@link param} (trained,
 * `requiresGrad`) or {@link constant} (data); every other tensor is the output of an op.
 */
export class Tensor {
  /** The values, row-major. */
  readonly data: Float32Array;
  /** d loss / d data, filled by {@link backward}; same layout as `data`. */
  readonly grad: Float32Array;
  /** The tensors this one was computed from (empty for leaves). */
  readonly inputs: readonly Tensor[];
  /** Sends `this.grad` back into the inputs' grads; null for leaves. */
  readonly backwardFn: (() => void) | null;

  constructor(
    readonly rows: number,
    readonly cols: number,
    readonly requiresGrad: boolean,
    inputs: readonly Tensor[] = [],
    backwardFn: (() => void) | null = null,
    readonly name = '',
    alloc: Alloc = heap,
  ) {
    this.data = alloc(rows * cols);
    this.grad = requiresGrad ? alloc(rows * cols) : EMPTY;
    this.inputs = inputs;
    this.backwardFn = backwardFn;
  }
}

const EMPTY = new Float32Array(0);

/** A trained parameter, filled by `init()` element by element. */
export function param(name: string, rows: number, cols: number, init: () => number, alloc: Alloc = heap): Tensor {
  const t = new Tensor(rows, cols, true, [], null, name, alloc);
  for (let i = 0; i < t.data.length; i++) t.data[i] = init();
  return t;
}

/** Data that is not trained (inputs, targets): no gradient buffer. */
export function constant(rows: number, cols: number, values: ArrayLike<number>): Tensor {
  if (values.length !== rows * cols) throw new RangeError(`constant: ${values.length} values for a ${rows}x${cols} tensor`);
  const t = new Tensor(rows, cols, false);
  t.data.set(values);
  return t;
}

/**
 * Output of an op on `inputs` (rows x cols, data to be filled by the caller): needs a gradient
 * when any input does, and then `backwardFn(out)` sends `out.grad` back into the inputs' grads.
 */
export function result(rows: number, cols: number, inputs: readonly Tensor[], backwardFn: (out: Tensor) => void): Tensor {
  const requiresGrad = inputs.some((t) => t.requiresGrad);
  let out: Tensor | null = null;
  out = new Tensor(rows, cols, requiresGrad, inputs, requiresGrad ? () => backwardFn(out!) : null);
  return out;
}

/**
 * a (m x k) times b (k x n). Sums are taken in doubles, row by row (i-p-j order, so every inner
 * loop runs over contiguous memory), and rounded once when stored.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.cols !== b.rows) throw new RangeError(`matmul: ${a.rows}x${a.cols} times ${b.rows}x${b.cols}`);
  const m = a.rows;
  const k = a.cols;
  const n = b.cols;
  const A = a.data;
  const B = b.data;
  const out = result(m, n, [a, b], (o) => {
    const G = o.grad;
    if (a.requiresGrad) {
      // dA = dC B^T: each element a dot product of two contiguous rows.
      const dA = a.grad;
      for (let i = 0; i < m; i++) {
        for (let p = 0; p < k; p++) {
          let s = 0;
          for (let j = 0; j < n; j++) s += G[i * n + j]! * B[p * n + j]!;
          dA[i * k + p] = dA[i * k + p]! + s;
        }
      }
    }
    if (b.requiresGrad) {
      // dB = A^T dC, accumulated over the rows of A.
      const acc = new Float64Array(k * n);
      for (let i = 0; i < m; i++) {
        for (let p = 0; p < k; p++) {
          const x = A[i * k + p]!;
          if (x === 0) continue; // ReLU zeros
          const row = p * n;
          for (let j = 0; j < n; j++) acc[row + j] = acc[row + j]! + x * G[i * n + j]!;
        }
      }
      const dB = b.grad;
      for (let q = 0; q < k * n; q++) dB[q] = dB[q]! + acc[q]!;
    }
  });
  const C = out.data;
  const acc = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    acc.fill(0);
    for (let p = 0; p < k; p++) {
      const x = A[i * k + p]!;
      if (x === 0) continue;
      const row = p * n;
      for (let j = 0; j < n; j++) acc[j] = acc[j]! + x * B[row + j]!;
    }
    for (let j = 0; j < n; j++) C[i * n + j] = acc[j]!;
  }
  return out;
}

/** a + b, where b has a's shape or is one row (a bias, broadcast over a's rows). */
export function add(a: Tensor, b: Tensor): Tensor {
  const broadcast = b.rows === 1 && a.rows !== 1;
  if (b.cols !== a.cols || (!broadcast && b.rows !== a.rows)) {
    throw new RangeError(`add: ${a.rows}x${a.cols} plus ${b.rows}x${b.cols}`);
  }
  const n = a.cols;
  const out = result(a.rows, n, [a, b], (o) => {
    const g = o.grad;
    if (a.requiresGrad) for (let i = 0; i < g.length; i++) a.grad[i] = a.grad[i]! + g[i]!;
    if (b.requiresGrad && !broadcast) for (let i = 0; i < g.length; i++) b.grad[i] = b.grad[i]! + g[i]!;
    if (b.requiresGrad && broadcast) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let i = j; i < g.length; i += n) s += g[i]!;
        b.grad[j] = b.grad[j]! + s;
      }
    }
  });
  for (let i = 0; i < out.data.length; i++) out.data[i] = a.data[i]! + b.data[broadcast ? i % n : i]!;
  return out;
}

/** Rows `start` to `start + count - 1` of `a` (the last time step of a sequence, say). */
export function sliceRows(a: Tensor, start: number, count: number): Tensor {
  if (!(Number.isInteger(start) && Number.isInteger(count) && start >= 0 && count >= 1 && start + count <= a.rows)) {
    throw new RangeError(`sliceRows: rows ${start} to ${start + count - 1} of a ${a.rows}x${a.cols} tensor`);
  }
  const from = start * a.cols;
  const out = result(count, a.cols, [a], (o) => {
    for (let i = 0; i < o.grad.length; i++) a.grad[from + i] = a.grad[from + i]! + o.grad[i]!;
  });
  out.data.set(a.data.subarray(from, from + count * a.cols));
  return out;
}

/** Elementwise tanh. */
export function tanh(a: Tensor): Tensor {
  const out = result(a.rows, a.cols, [a], (o) => {
    for (let i = 0; i < o.grad.length; i++) {
      const y = o.data[i]!;
      a.grad[i] = a.grad[i]! + o.grad[i]! * (1 - y * y);
    }
  });
  for (let i = 0; i < out.data.length; i++) out.data[i] = Math.tanh(a.data[i]!);
  return out;
}

/** Elementwise max(0, x); the gradient at 0 is 0, as in PyTorch. */
export function relu(a: Tensor): Tensor {
  const out = result(a.rows, a.cols, [a], (o) => {
    for (let i = 0; i < o.grad.length; i++) if (a.data[i]! > 0) a.grad[i] = a.grad[i]! + o.grad[i]!;
  });
  for (let i = 0; i < out.data.length; i++) out.data[i] = Math.max(0, a.data[i]!);
  return out;
}

/**
 * Mean over rows of the cross-entropy between softmax(logits row) and the row's class label
 * (PyTorch's `F.cross_entropy(logits, labels)`). Returns a 1 x 1 tensor.
 */
export function softmaxCrossEntropy(logits: Tensor, labels: ArrayLike<number>): Tensor {
  const m = logits.rows;
  const c = logits.cols;
  if (labels.length !== m) throw new RangeError(`softmaxCrossEntropy: ${labels.length} labels for ${m} rows`);
  const probs = new Float64Array(m * c);
  let loss = 0;
  for (let i = 0; i < m; i++) {
    let max = -Infinity;
    for (let j = 0; j < c; j++) max = Math.max(max, logits.data[i * c + j]!);
    let sum = 0;
    for (let j = 0; j < c; j++) sum += probs[i * c + j] = Math.exp(logits.data[i * c + j]! - max);
    for (let j = 0; j < c; j++) probs[i * c + j] = probs[i * c + j]! / sum;
    loss += Math.log(sum) + max - logits.data[i * c + labels[i]!]!;
  }
  const out = result(1, 1, [logits], (o) => {
    const g = o.grad[0]! / m;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < c; j++) {
        const d = probs[i * c + j]! - (j === labels[i] ? 1 : 0);
        logits.grad[i * c + j] = logits.grad[i * c + j]! + g * d;
      }
    }
  });
  out.data[0] = loss / m;
  return out;
}

/**
 * Mean over rows of the logistic loss of one logit per row against a 0/1 label (PyTorch's
 * `F.binary_cross_entropy_with_logits`). Returns a 1 x 1 tensor.
 */
export function sigmoidCrossEntropy(logits: Tensor, labels: ArrayLike<number>): Tensor {
  const m = logits.rows;
  if (logits.cols !== 1 || labels.length !== m) throw new RangeError(`sigmoidCrossEntropy: ${m}x${logits.cols} logits, ${labels.length} labels`);
  let loss = 0;
  for (let i = 0; i < m; i++) {
    const z = logits.data[i]!;
    loss += Math.max(z, 0) - z * labels[i]! + Math.log1p(Math.exp(-Math.abs(z)));
  }
  const out = result(1, 1, [logits], (o) => {
    const g = o.grad[0]! / m;
    for (let i = 0; i < m; i++) {
      const p = 1 / (1 + Math.exp(-logits.data[i]!));
      logits.grad[i] = logits.grad[i]! + g * (p - labels[i]!);
    }
  });
  out.data[0] = loss / m;
  return out;
}

/** Mean over every element of (prediction - target)^2. Returns a 1 x 1 tensor. */
export function meanSquaredError(prediction: Tensor, target: Tensor): Tensor {
  const n = prediction.data.length;
  if (prediction.rows !== target.rows || prediction.cols !== target.cols) {
    throw new RangeError(`meanSquaredError: ${prediction.rows}x${prediction.cols} against ${target.rows}x${target.cols}`);
  }
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const e = prediction.data[i]! - target.data[i]!;
    loss += e * e;
  }
  const out = result(1, 1, [prediction, target], (o) => {
    const g = (2 * o.grad[0]!) / n;
    for (let i = 0; i < n; i++) {
      const d = g * (prediction.data[i]! - target.data[i]!);
      if (prediction.requiresGrad) prediction.grad[i] = prediction.grad[i]! + d;
      if (target.requiresGrad) target.grad[i] = target.grad[i]! - d;
    }
  });
  out.data[0] = loss / n;
  return out;
}

/**
 * Back-propagates from a 1 x 1 `loss`: sets d loss / d loss = 1 and runs every op's backward in
 * reverse topological order, accumulating into the grads of every tensor that requires one.
 */
export function backward(loss: Tensor): void {
  if (loss.data.length !== 1) throw new RangeError(`backward: the loss must be 1x1, got ${loss.rows}x${loss.cols}`);
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative depth-first post-order, so deep graphs cannot overflow the stack.
  const stack: [Tensor, number][] = [[loss, 0]];
  seen.add(loss);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const [t, next] = top;
    if (next < t.inputs.length) {
      top[1] = next + 1;
      const input = t.inputs[next]!;
      if (input.requiresGrad && !seen.has(input)) {
        seen.add(input);
        stack.push([input, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  loss.grad[0] = 1;
  for (let i = order.length - 1; i >= 0; i--) order[i]!.backwardFn?.();
}
