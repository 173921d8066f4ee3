import { RMSProp } from 'rmsprop';

// A micrograd-style engine: every tensor is an object with `data` and `grad` buffers, and
// backward() fills the grads. The optimizer takes those objects as they are.
class Tensor {
  readonly grad: Float32Array;
  constructor(readonly data: Float32Array, readonly name: string) {
    this.grad = new Float32Array(data.length);
  }
}

// y = w · x + b, fitted to y = 2 x0 - 3 x1 + 0.5 by mean squared error.
const w = new Tensor(new Float32Array([0, 0]), 'w');
const b = new Tensor(new Float32Array([0]), 'b');
const xs = [[1, 2], [-1, 0.5], [0.3, -2], [2, 1], [-0.7, -0.4]] as const;
const target = (x: readonly number[]): number => 2 * x[0]! - 3 * x[1]! + 0.5;

function forwardBackward(): number {
  let loss = 0;
  for (const x of xs) {
    const err = w.data[0]! * x[0] + w.data[1]! * x[1] + b.data[0]! - target(x);
    loss += (err * err) / xs.length;
    const d = (2 * err) / xs.length; // d loss / d prediction
    w.grad[0]! += d * x[0];
    w.grad[1]! += d * x[1];
    b.grad[0]! += d;
  }
  return loss;
}

const opt = new RMSProp([w, b], { lr: 0.05, momentum: 0.9 });
let loss = Infinity;
for (let step = 0; step < 300; step++) {
  opt.zeroGrad();
  loss = forwardBackward();
  opt.step();
}
console.log(`loss ${loss.toExponential(2)}, w = [${Array.from(w.data)}], b = ${b.data[0]}`);
// (end of the README snippet)
export { loss, w, b };
