// `npm start`: trains a small network with RMSProp and prints the loss as it goes.
//
// A 1-16-1 tanh network fits y = sin(x) on 64 points, full batch. Its tensors are plain
// `{ data, grad }` objects, as an autodiff engine would hold them; the gradients are written by
// hand-coded backpropagation, and RMSProp updates the weights in place.
import { RMSProp } from '../src/index.js';

const HIDDEN = 16;
const POINTS = 64;
const STEPS = 600;

/** Seeded uniform numbers in [0, 1) (mulberry32), so every run prints the same losses. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Tensor {
  readonly name: string;
  readonly data: Float32Array;
  readonly grad: Float32Array;
}

function tensor(name: string, n: number, init: () => number): Tensor {
  return { name, data: Float32Array.from({ length: n }, init), grad: new Float32Array(n) };
}

const random = rng(1);
const w1 = tensor('w1', HIDDEN, () => (random() * 2 - 1) * 1.5);
const b1 = tensor('b1', HIDDEN, () => (random() * 2 - 1) * 1.5);
const w2 = tensor('w2', HIDDEN, () => (random() * 2 - 1) / Math.sqrt(HIDDEN));
const b2 = tensor('b2', 1, () => 0);

const xs = Float32Array.from({ length: POINTS }, (_, i) => -Math.PI + (2 * Math.PI * i) / (POINTS - 1));
const ys = xs.map(Math.sin);
const h = new Float32Array(HIDDEN);

/** Mean squared error over the data set; accumulates gradients into every `.grad`. */
function lossAndGrad(): number {
  let loss = 0;
  for (let k = 0; k < POINTS; k++) {
    const x = xs[k]!;
    let out = b2.data[0]!;
    for (let j = 0; j < HIDDEN; j++) {
      h[j] = Math.tanh(w1.data[j]! * x + b1.data[j]!);
      out += w2.data[j]! * h[j]!;
    }
    const err = out - ys[k]!;
    loss += (err * err) / POINTS;
    const dOut = (2 * err) / POINTS;
    b2.grad[0] = b2.grad[0]! + dOut;
    for (let j = 0; j < HIDDEN; j++) {
      w2.grad[j] = w2.grad[j]! + dOut * h[j]!;
      const dPre = dOut * w2.data[j]! * (1 - h[j]! * h[j]!);
      w1.grad[j] = w1.grad[j]! + dPre * x;
      b1.grad[j] = b1.grad[j]! + dPre;
    }
  }
  return loss;
}

const opt = new RMSProp([w1, b1, w2, b2], { lr: 0.003, momentum: 0.9 });
const { lr, alpha, momentum } = opt.defaults;
console.log(`RMSProp (lr ${lr}, alpha ${alpha}, momentum ${momentum}) fitting sin(x) with a 1-${HIDDEN}-1 tanh network`);
console.log('step      loss');
let loss = 0;
for (let step = 0; step <= STEPS; step++) {
  opt.zeroGrad();
  loss = lossAndGrad();
  if (step % 50 === 0) console.log(`${String(step).padStart(4)}  ${loss.toExponential(3)}  ${'#'.repeat(Math.max(0, Math.round(40 + 4 * Math.log10(loss))))}`);
  if (step < STEPS) opt.step();
}
console.log(`final loss ${loss.toExponential(3)}`);
