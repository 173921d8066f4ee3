import { RMSProp } from 'rmsprop';

// All parameters in one flat buffer, all gradients in another: each parameter is a pair of
// subarray views. The optimizer touches only the elements of each view.
const params = new Float32Array(12);
const grads = new Float32Array(12);
const layer1 = { name: 'layer1', data: params.subarray(0, 8), grad: grads.subarray(0, 8) };
const layer2 = { name: 'layer2', data: params.subarray(8, 12), grad: grads.subarray(8, 12) };
params.set([0.5, -0.5, 1, -1, 2, -2, 0.25, -0.25, 3, -3, 1.5, -1.5]);

const opt = new RMSProp([{ params: [layer1] }, { params: [layer2], lr: 0.02 }], { lr: 0.01 });
for (let step = 0; step < 200; step++) {
  // loss = sum(p^2) / 2: the gradient is the parameter itself, written straight into the flat buffer
  grads.set(params);
  opt.step();
}
console.log(`largest |p| after 200 steps: ${Math.max(...params.map(Math.abs)).toFixed(4)}`);
// (end of the README snippet)
export { params };
