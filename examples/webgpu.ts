/// <reference lib="dom" />
import { encodeState } from 'rmsprop';
import { GPURMSProp } from 'rmsprop/webgpu';

const device = await (await navigator.gpu.requestAdapter())!.requestDevice();
const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
// One buffer of parameters and one of gradients, as an engine keeps them: w has 1 000 values, b 10.
const params = device.createBuffer({ size: 4 * 1010, usage });
const grads = device.createBuffer({ size: 4 * 1010, usage });
device.queue.writeBuffer(params, 0, Float32Array.from({ length: 1010 }, (_, i) => Math.sin(i)));
const w = { name: 'w', data: { buffer: params, offset: 0, length: 1000 }, grad: { buffer: grads, offset: 0, length: 1000 } };
const b = { name: 'b', data: { buffer: params, offset: 1000, length: 10 }, grad: { buffer: grads, offset: 1000, length: 10 } };
const opt = new GPURMSProp(device, [{ params: [w] }, { params: [b], lr: 0.02 }], { lr: 0.01, momentum: 0.9, nonFinite: 'skip' });

for (let step = 0; step < 100; step++) {
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(params, 0, grads, 0, 4 * 1010); // the backward pass of sum(p^2) / 2
  opt.step(encoder); // one compute pass, nothing read back
  device.queue.submit([encoder.finish()]);
}
await opt.checked(); // the device's verdict on the optimizer's own work, naming the parameter if it failed
const checkpoint = encodeState(await opt.stateDict()); // RMSProp's state dict: a safetensors file
// (end of the README snippet)
export { checkpoint, device, opt, params };
