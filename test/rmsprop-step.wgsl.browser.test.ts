/// <reference lib="dom" />
// Runs in Chromium only (WebGPU on SwiftShader): the WGSL kernel against the float32 reference
// that rounds every operation (test/support/f32-reference.ts), bit for bit, for every switch.
import { describe, expect, it } from 'vitest';
import { HYPER_BYTES, rmspropWGSL, writeHyper } from '../src/rmsprop-step.wgsl.js';
import type { GPUHyper } from '../src/rmsprop-step.wgsl.js';
import { rmspropDefaults } from '../src/index.js';
import { f32Step } from './support/f32-reference.js';
import { normals, rng } from './support/random.js';

const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
const adapter = await gpu?.requestAdapter();
const device = await adapter?.requestDevice();

const usage = (GPUBufferUsage?.STORAGE ?? 0) | (GPUBufferUsage?.COPY_SRC ?? 0) | (GPUBufferUsage?.COPY_DST ?? 0);

function buffer(d: GPUDevice, values: Float32Array): GPUBuffer {
  const b = d.createBuffer({ size: Math.max(4, values.byteLength), usage });
  d.queue.writeBuffer(b, 0, values);
  return b;
}

async function read(d: GPUDevice, b: GPUBuffer, n: number): Promise<Float32Array> {
  const staging = d.createBuffer({ size: Math.max(4, 4 * n), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = d.createCommandEncoder();
  encoder.copyBufferToBuffer(b, 0, staging, 0, Math.max(4, 4 * n));
  d.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(staging.getMappedRange().slice(0, 4 * n));
  staging.destroy();
  return out;
}

/** Runs `steps` updates of one parameter on the GPU and in the reference; returns both. */
async function run(d: GPUDevice, hyper: GPUHyper, n: number, steps: number, seed: number, maxX = 65_535) {
  const random = rng(seed);
  const init = Float32Array.from(normals(random, n));
  const grads = Array.from({ length: steps }, () => Float32Array.from(normals(random, n, 2)));
  const ref = { p: init.slice(), sq: new Float32Array(n), ga: new Float32Array(n), mb: new Float32Array(n) };
  const p = buffer(d, init);
  const [sq, ga, mb] = [0, 1, 2].map(() => buffer(d, new Float32Array(n)));
  const g = d.createBuffer({ size: 4 * n, usage });
  const status = buffer(d, new Float32Array(1));
  const uniform = d.createBuffer({ size: HYPER_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  const module = d.createShaderModule({ code: rmspropWGSL(false) });
  const pipeline = d.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'update' } });
  const bind = d.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [p, g, sq!, ga!, mb!, uniform, status].map((b, binding) => ({ binding, resource: { buffer: b } })),
  });
  const words = new ArrayBuffer(HYPER_BYTES);
  const groups = Math.ceil(n / 256);
  d.pushErrorScope('validation');
  for (let t = 1; t <= steps; t++) {
    d.queue.writeBuffer(g, 0, grads[t - 1]!);
    writeHyper(words, 0, hyper, t, { param: 0, grad: 0, state: 0, first: 0, count: n, xCount: Math.min(groups, maxX) }, false);
    d.queue.writeBuffer(uniform, 0, words);
    const encoder = d.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(Math.min(groups, maxX), Math.ceil(groups / maxX));
    pass.end();
    d.queue.submit([encoder.finish()]);
    f32Step(ref.p, grads[t - 1]!, ref.sq, hyper.centered ? ref.ga : null, hyper.momentum > 0 ? ref.mb : null, hyper, t);
  }
  const error = await d.popErrorScope();
  expect(error?.message).toBeUndefined();
  const got = { p: await read(d, p, n), sq: await read(d, sq!, n), ga: await read(d, ga!, n), mb: await read(d, mb!, n) };
  for (const b of [p, g, sq!, ga!, mb!, status, uniform]) b.destroy();
  return { got, ref };
}

// SwiftShader rounds division and sqrt correctly: there the kernel must equal the reference to the
// bit. A real GPU may be a few ulps off in those (WGSL allows it): there, within 1e-6 relative.
const exact = (adapter?.info?.architecture ?? '') === 'swiftshader';
console.log(`WGSL kernel tests on ${[adapter?.info?.vendor, adapter?.info?.architecture].join(' / ')}: ${exact ? 'bit for bit' : 'within 1e-6 (a GPU other than SwiftShader)'}`);
const bits = (a: Float32Array): Uint32Array | number[] => (exact ? new Uint32Array(a.buffer, a.byteOffset, a.length) : Array.from(a, (x) => Number(x.toPrecision(6))));

const SWITCHES = ['centered', 'maximize', 'epsInSqrt', 'lrInMomentum', 'nesterov', 'biasCorrection', 'decoupledWeightDecay'] as const;
const CONFIGS: [string, GPUHyper][] = [];
for (let mask = 0; mask < 2 ** SWITCHES.length; mask++) {
  for (const momentum of [0, 0.9]) {
    const on = SWITCHES.filter((_, i) => mask & (1 << i));
    if (momentum === 0 && (on.includes('nesterov') || on.includes('lrInMomentum'))) continue; // no effect without momentum
    const hyper = { ...rmspropDefaults, lr: 0.01, alpha: 0.9, eps: 1e-6, weightDecay: 0.01, momentum, ...Object.fromEntries(on.map((k) => [k, true])) };
    CONFIGS.push([`${on.join('+') || 'plain'}${momentum ? ', momentum' : ''}`, hyper]);
  }
}

describe('WebGPU in the test browser', () => {
  it('has an adapter and a device (Chromium runs with --enable-unsafe-webgpu: without them every test below fails, none is skipped)', () => {
    expect(device).toBeDefined();
  });
});

describe('the WGSL kernel on WebGPU (SwiftShader), bit for bit against the float32 reference', () => {
  it.each(CONFIGS)('%s', async (_, hyper) => {
    for (const n of [1, 3, 1000]) {
      const { got, ref } = await run(device!, hyper, n, 3, n);
      expect(bits(got.p)).toEqual(bits(ref.p));
      expect(bits(got.sq)).toEqual(bits(ref.sq));
      if (hyper.centered) expect(bits(got.ga)).toEqual(bits(ref.ga));
      if (hyper.momentum > 0) expect(bits(got.mb)).toEqual(bits(ref.mb));
    }
  });
});

describe('the WGSL kernel over rows of workgroups', () => {
  // A parameter past 65 535 workgroups of 256 (2^24 elements) is dispatched in rows (x, y). On
  // SwiftShader such a size takes minutes a step, so the rows are made here with fewer workgroups
  // to a row: the kernel's indexing is the same.
  it.each([
    ['plain', { ...rmspropDefaults }],
    ['centered, nesterov momentum, bias correction, decoupled decay', { ...rmspropDefaults, centered: true, momentum: 0.9, nesterov: true, biasCorrection: true, decoupledWeightDecay: true, weightDecay: 0.1, epsInSqrt: true, lrInMomentum: true }],
  ] as [string, GPUHyper][])('%s: 65 537 elements in rows of 1, 7 and 65 535 workgroups', async (_, hyper) => {
    for (const maxX of [1, 7, 65_535]) {
      const { got, ref } = await run(device!, hyper, 65_537, 2, 7, maxX);
      expect(bits(got.p)).toEqual(bits(ref.p));
      expect(bits(got.sq)).toEqual(bits(ref.sq));
      if (hyper.momentum > 0) expect(bits(got.mb)).toEqual(bits(ref.mb));
    }
  }, 60_000);
});
