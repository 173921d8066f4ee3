// Recurrent layers for the autodiff engine: an Elman (tanh) RNN and an LSTM, each one op over a
// whole sequence (as torch.nn.RNN and torch.nn.LSTM are), with backpropagation through time in
// its backward. The weights are laid out as PyTorch's (weight_ih_l0, weight_hh_l0, bias_ih_l0,
// bias_hh_l0; the LSTM's gates in the order input, forget, cell, output), so a torch model's
// weights load as they are, and the initial state is zero, as torch's default.
//
// A sequence of T steps of a batch of B is one (T·B) x inputs tensor, time-major: rows t·B to
// t·B + B - 1 are step t. The output has the hidden state of every step in the same layout.
// Arithmetic is done in doubles; the outputs h_t are rounded to float32 when stored (and the
// next step reads them back, as the engine's other ops would), the LSTM's cell state and gates
// are kept in doubles for the backward pass.
import { param, result, sliceRows } from './autodiff.js';
import type { Alloc, Tensor } from './autodiff.js';

/** The four trained tensors of one recurrent layer, in PyTorch's layout. */
export interface RecurrentWeights {
  /** gates·hidden x inputs (weight_ih_l0). */
  readonly wIh: Tensor;
  /** gates·hidden x hidden (weight_hh_l0). */
  readonly wHh: Tensor;
  /** 1 x gates·hidden (bias_ih_l0). */
  readonly bIh: Tensor;
  /** 1 x gates·hidden (bias_hh_l0). */
  readonly bHh: Tensor;
}

/** What a recurrent layer returns. */
export interface Sequence {
  /** (T·B) x hidden: h_t of every step, time-major. */
  readonly outputs: Tensor;
  /** The last step's hidden state, B x hidden (the outputs' last B rows, as an op). */
  readonly last: Tensor;
  /**
   * After `backward`: ‖d loss / d h_t‖ for t = 0 … T-1, the gradient reaching each step's hidden
   * state through every later step (Frobenius norm over the batch). Zero before, and zero when
   * nothing the layer reads is trained (then no gradient is computed through it, as in torch).
   */
  readonly gradNorms: Float64Array;
}

/** A recurrent layer's weights with torch's initialisation: every value U(-1/√hidden, 1/√hidden). */
export function recurrentWeights(name: string, gates: number, inputs: number, hidden: number, random: () => number, alloc?: Alloc): RecurrentWeights {
  const bound = 1 / Math.sqrt(hidden);
  const init = (): number => (2 * random() - 1) * bound;
  const rows = gates * hidden;
  return {
    wIh: param(`${name}.weight_ih`, rows, inputs, init, alloc),
    wHh: param(`${name}.weight_hh`, rows, hidden, init, alloc),
    bIh: param(`${name}.bias_ih`, 1, rows, init, alloc),
    bHh: param(`${name}.bias_hh`, 1, rows, init, alloc),
  };
}

/** Shapes of a layer on an input, checked; returns T, inputs, hidden. */
function shapes(kind: string, x: Tensor, batch: number, w: RecurrentWeights, gates: number): { steps: number; inputs: number; hidden: number } {
  const hidden = w.wHh.cols;
  const inputs = x.cols;
  const ok =
    Number.isInteger(batch) && batch >= 1 && x.rows % batch === 0 &&
    w.wIh.rows === gates * hidden && w.wIh.cols === inputs && w.wHh.rows === gates * hidden &&
    w.bIh.rows === 1 && w.bIh.cols === gates * hidden && w.bHh.rows === 1 && w.bHh.cols === gates * hidden;
  if (!ok) {
    throw new RangeError(
      `${kind}: input ${x.rows}x${x.cols} in batches of ${batch}, weights ${w.wIh.rows}x${w.wIh.cols}, ${w.wHh.rows}x${w.wHh.cols}, biases ${w.bIh.cols} and ${w.bHh.cols}`,
    );
  }
  return { steps: x.rows / batch, inputs, hidden };
}

/**
 * The input's share of every step's pre-activations at once: zx[r][j] = bIh[j] + bHh[j] +
 * Σ_k x[r][k] wIh[j][k] for every row r of the sequence (R x rows, doubles).
 */
function inputProjection(x: Float32Array, R: number, w: RecurrentWeights, inputs: number): Float64Array {
  const rows = w.wIh.rows;
  const Wi = w.wIh.data, bi = w.bIh.data, bh = w.bHh.data;
  const zx = new Float64Array(R * rows);
  for (let r = 0; r < R; r++) {
    const xr = r * inputs;
    for (let j = 0; j < rows; j++) {
      let s = bi[j]! + bh[j]!;
      const wi = j * inputs;
      for (let k = 0; k < inputs; k++) s += x[xr + k]! * Wi[wi + k]!;
      zx[r * rows + j] = s;
    }
  }
  return zx;
}

/** z[b][j] = zx[at + b][j] + Σ_k h[hAt + b][k] wHh[j][k] for one step of `batch` rows (h null: the zero state). */
function preActivations(z: Float64Array, zx: Float64Array, at: number, h: Float32Array | null, hAt: number, Wh: Float32Array, batch: number, rows: number, hidden: number): void {
  for (let b = 0; b < batch; b++) {
    const hb = hAt + b * hidden;
    const zb = (at + b) * rows;
    for (let j = 0; j < rows; j++) {
      let s = zx[zb + j]!;
      if (h !== null) {
        const wh = j * hidden;
        for (let k = 0; k < hidden; k++) s += h[hb + k]! * Wh[wh + k]!;
      }
      z[b * rows + j] = s;
    }
  }
}

/**
 * The backward pass through time shared by both layers. `local(t, dh, dz)` turns the gradient
 * reaching step t's hidden state (dh, batch x hidden) into the gradient of its pre-activations
 * (dz, batch x rows). Records ‖dh‖ per step, sends dz back into h_{t-1} (and x when it is
 * trained), then adds the weight and bias gradients, each a dot product over all T·batch rows.
 */
function throughTime(
  o: Tensor, x: Tensor, w: RecurrentWeights, batch: number, gradNorms: Float64Array,
  local: (t: number, dh: Float64Array, dz: Float64Array) => void,
): void {
  const H = o.cols, R = o.rows, T = R / batch, inputs = x.cols, rows = w.wIh.rows, BH = batch * H;
  // wHh and wIh transposed, so that every sum below runs over contiguous memory.
  const WhT = new Float64Array(H * rows);
  for (let j = 0; j < rows; j++) for (let k = 0; k < H; k++) WhT[k * rows + j] = w.wHh.data[j * H + k]!;
  const dzAll = new Float64Array(R * rows);
  let dh = new Float64Array(BH);
  let dhPrev = new Float64Array(BH);
  for (let t = T - 1; t >= 0; t--) {
    const at = t * BH;
    for (let i = 0; i < BH; i++) dh[i] = dh[i]! + o.grad[at + i]!;
    gradNorms[t] = norm(dh, BH);
    const dz = dzAll.subarray(t * batch * rows, (t + 1) * batch * rows);
    local(t, dh, dz);
    if (t > 0) {
      for (let b = 0; b < batch; b++) {
        for (let k = 0; k < H; k++) {
          let s = 0;
          const zb = b * rows, wk = k * rows;
          for (let j = 0; j < rows; j++) s += dz[zb + j]! * WhT[wk + j]!;
          dhPrev[b * H + k] = s;
        }
      }
    }
    [dh, dhPrev] = [dhPrev, dh];
  }
  if (x.requiresGrad) {
    const Wi = w.wIh.data;
    for (let r = 0; r < R; r++) {
      for (let k = 0; k < inputs; k++) {
        let s = 0;
        for (let j = 0; j < rows; j++) s += dzAll[r * rows + j]! * Wi[j * inputs + k]!;
        x.grad[r * inputs + k] = x.grad[r * inputs + k]! + s;
      }
    }
  }
  // dz^T, the input and the previous hidden state (zero at t = 0) column by column.
  const dzT = new Float64Array(rows * R);
  for (let r = 0; r < R; r++) for (let j = 0; j < rows; j++) dzT[j * R + r] = dzAll[r * rows + j]!;
  const xT = new Float64Array(inputs * R);
  for (let r = 0; r < R; r++) for (let k = 0; k < inputs; k++) xT[k * R + r] = x.data[r * inputs + k]!;
  const hT = new Float64Array(H * R);
  for (let r = batch; r < R; r++) for (let k = 0; k < H; k++) hT[k * R + r] = o.data[(r - batch) * H + k]!;
  const dot = (a: Float64Array, aAt: number, b: Float64Array, bAt: number): number => {
    let s = 0;
    for (let r = 0; r < R; r++) s += a[aAt + r]! * b[bAt + r]!;
    return s;
  };
  for (let j = 0; j < rows; j++) {
    const at = j * R;
    if (w.wIh.requiresGrad) for (let k = 0; k < inputs; k++) w.wIh.grad[j * inputs + k] = w.wIh.grad[j * inputs + k]! + dot(dzT, at, xT, k * R);
    if (w.wHh.requiresGrad) for (let k = 0; k < H; k++) w.wHh.grad[j * H + k] = w.wHh.grad[j * H + k]! + dot(dzT, at, hT, k * R);
    let s = 0;
    for (let r = 0; r < R; r++) s += dzT[at + r]!;
    if (w.bIh.requiresGrad) w.bIh.grad[j] = w.bIh.grad[j]! + s;
    if (w.bHh.requiresGrad) w.bHh.grad[j] = w.bHh.grad[j]! + s;
  }
}

/** ‖v‖ over the first n values of v. */
function norm(v: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

function sequence(outputs: Tensor, batch: number, gradNorms: Float64Array): Sequence {
  return { outputs, last: sliceRows(outputs, outputs.rows - batch, batch), gradNorms };
}

/**
 * An Elman RNN (torch.nn.RNN with tanh): h_t = tanh(x_t wIh^T + bIh + h_{t-1} wHh^T + bHh), h_{-1} = 0.
 * `x` is (T·batch) x inputs, time-major.
 */
export function rnn(x: Tensor, batch: number, w: RecurrentWeights): Sequence {
  const { steps: T, inputs, hidden: H } = shapes('rnn', x, batch, w, 1);
  const B = batch;
  const gradNorms = new Float64Array(T);
  const out = result(T * B, H, [x, w.wIh, w.wHh, w.bIh, w.bHh], (o) =>
    throughTime(o, x, w, B, gradNorms, (t, dh, dz) => {
      const at = t * B * H;
      for (let i = 0; i < B * H; i++) {
        const h = o.data[at + i]!;
        dz[i] = dh[i]! * (1 - h * h);
      }
    }),
  );
  const zx = inputProjection(x.data, T * B, w, inputs);
  const z = new Float64Array(B * H);
  for (let t = 0; t < T; t++) {
    const at = t * B * H;
    preActivations(z, zx, t * B, t > 0 ? out.data : null, at - B * H, w.wHh.data, B, H, H);
    for (let i = 0; i < B * H; i++) out.data[at + i] = Math.tanh(z[i]!);
  }
  return sequence(out, B, gradNorms);
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

/**
 * An LSTM (torch.nn.LSTM): gates i, f, g, o = σ, σ, tanh, σ of x_t wIh^T + bIh + h_{t-1} wHh^T + bHh
 * (in that order along the rows of the weights), c_t = f c_{t-1} + i g, h_t = o tanh(c_t);
 * h_{-1} = c_{-1} = 0. `x` is (T·batch) x inputs, time-major.
 */
export function lstm(x: Tensor, batch: number, w: RecurrentWeights): Sequence {
  const { steps: T, inputs, hidden: H } = shapes('lstm', x, batch, w, 4);
  const B = batch;
  const G = 4 * H;
  const gradNorms = new Float64Array(T);
  // Per step, kept for the backward pass: the four gates (B x 4H) and c_t, tanh(c_t) (B x H).
  const gates = new Float64Array(T * B * G);
  const cells = new Float64Array(T * B * H);
  const tanhC = new Float64Array(T * B * H);
  const out = result(T * B, H, [x, w.wIh, w.wHh, w.bIh, w.bHh], (o) => {
    const dc = new Float64Array(B * H);
    throughTime(o, x, w, B, gradNorms, (t, dh, dz) => {
      const at = t * B * H;
      for (let b = 0; b < B; b++) {
        const g0 = t * B * G + b * G;
        for (let k = 0; k < H; k++) {
          const n = b * H + k;
          const ig = gates[g0 + k]!, fg = gates[g0 + H + k]!, gg = gates[g0 + 2 * H + k]!, og = gates[g0 + 3 * H + k]!;
          const tc = tanhC[at + n]!;
          const cPrev = t > 0 ? cells[at - B * H + n]! : 0;
          const d = dh[n]!;
          const dcn = dc[n]! + d * og * (1 - tc * tc);
          dz[b * G + k] = dcn * gg * ig * (1 - ig);
          dz[b * G + H + k] = dcn * cPrev * fg * (1 - fg);
          dz[b * G + 2 * H + k] = dcn * ig * (1 - gg * gg);
          dz[b * G + 3 * H + k] = d * tc * og * (1 - og);
          dc[n] = dcn * fg;
        }
      }
    });
  });
  const zx = inputProjection(x.data, T * B, w, inputs);
  const z = new Float64Array(B * G);
  for (let t = 0; t < T; t++) {
    const at = t * B * H;
    preActivations(z, zx, t * B, t > 0 ? out.data : null, at - B * H, w.wHh.data, B, G, H);
    for (let b = 0; b < B; b++) {
      const g0 = t * B * G + b * G;
      for (let k = 0; k < H; k++) {
        const n = b * H + k;
        const ig = (gates[g0 + k] = sigmoid(z[b * G + k]!));
        const fg = (gates[g0 + H + k] = sigmoid(z[b * G + H + k]!));
        const gg = (gates[g0 + 2 * H + k] = Math.tanh(z[b * G + 2 * H + k]!));
        const og = (gates[g0 + 3 * H + k] = sigmoid(z[b * G + 3 * H + k]!));
        const c = (cells[at + n] = fg * (t > 0 ? cells[at - B * H + n]! : 0) + ig * gg);
        const tc = (tanhC[at + n] = Math.tanh(c));
        out.data[at + n] = og * tc;
      }
    }
  }
  return sequence(out, B, gradNorms);
}
