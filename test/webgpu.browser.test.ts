/// <reference lib="dom" />
// Runs in Chromium only (WebGPU on SwiftShader): the GPU optimizer against the float32 reference
// that rounds every operation, bit for bit; its state moved to and from RMSProp; its checks.
import { describe, expect, it } from 'vitest';
import { RMSProp, cosineAnnealing, rmspropDefaults } from '../src/index.js';
import type { RMSPropHyper } from '../src/index.js';
import { GPURMSProp } from '../src/webgpu.js';
import { setBindingLimit } from '../src/webgpu-limits.js';
import type { GPURange } from '../src/webgpu.js';
import { trajectoryError } from './support/compare.js';
import { expectError } from './support/expect-error.js';
import { loadTorchFixture } from './support/torch-fixture.js';
import type { FixtureCase } from './support/torch-fixture.js';
import { f32Step } from './support/f32-reference.js';
import { normals, rng } from './support/random.js';

const adapter = await navigator.gpu?.requestAdapter();
const device = (await adapter?.requestDevice())!;
const USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

function upload(values: Float32Array): GPUBuffer {
  const b = device.createBuffer({ size: values.byteLength, usage: USAGE });
  device.queue.writeBuffer(b, 0, values);
  return b;
}

async function download(b: GPUBuffer): Promise<Float32Array> {
  const staging = device.createBuffer({ size: b.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(b, 0, staging, 0, b.size);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(staging.getMappedRange().slice(0));
  staging.destroy();
  return out;
}

const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

describe('GPURMSProp', () => {
  it('steps parameters packed at odd offsets of one buffer (data and grad in it too), in two groups, bit for bit, and nothing outside their ranges', async () => {
    // One buffer: [guard 3][w: 5][guard 2][b: 3][guard 1][b's grad: 3][guard 4]; w's grad apart.
    const random = rng(5);
    const packed = Float32Array.from(normals(random, 21));
    const wGrad = new Float32Array(5);
    const buffer = upload(packed);
    const gradBuffer = upload(wGrad);
    const w = { data: { buffer, offset: 3, length: 5 }, grad: gradBuffer, name: 'w' };
    const b = { data: { buffer, offset: 10, length: 3 }, grad: { buffer, offset: 14, length: 3 }, name: 'b' };
    const schedule = cosineAnnealing(0.05, { tMax: 10 });
    const groups = [
      { params: [w], momentum: 0.9, centered: true, nesterov: true, lrInMomentum: true },
      { params: [b], lr: schedule, biasCorrection: true, decoupledWeightDecay: true, weightDecay: 0.1, epsInSqrt: true },
    ];
    const opt = new GPURMSProp(device, groups, { alpha: 0.9 });
    const refs = {
      w: { p: packed.slice(3, 8), sq: new Float32Array(5), ga: new Float32Array(5), mb: new Float32Array(5) },
      b: { p: packed.slice(10, 13), sq: new Float32Array(3), ga: null, mb: null },
    };
    const hyper = (gi: number, t: number): RMSPropHyper => {
      const g = opt.paramGroups[gi]!;
      const { params: _p, frozen: _f, lr, ...h } = g;
      return { ...h, lr: typeof lr === 'function' ? lr(t) : lr };
    };
    for (let t = 0; t < 4; t++) {
      const gw = Float32Array.from(normals(random, 5));
      const gb = Float32Array.from(normals(random, 3));
      device.queue.writeBuffer(gradBuffer, 0, gw);
      device.queue.writeBuffer(buffer, 14 * 4, gb);
      if (t === 2) opt.paramGroups[1]!.frozen = true; // group 1 sits out step 2
      if (t === 3) opt.paramGroups[1]!.frozen = false;
      const frozen = opt.paramGroups[1]!.frozen;
      f32Step(refs.w.p, gw, refs.w.sq, refs.w.ga, refs.w.mb, hyper(0, t), t + 1);
      if (!frozen) f32Step(refs.b.p, gb, refs.b.sq, null, null, hyper(1, t), t === 3 ? 3 : t + 1);
      opt.step();
    }
    const after = await download(buffer);
    expect(bits(after.slice(3, 8))).toEqual(bits(refs.w.p));
    expect(bits(after.slice(10, 13))).toEqual(bits(refs.b.p));
    for (const i of [0, 1, 2, 8, 9, 13, 17, 18, 19, 20]) expect(after[i], `guard element ${i}`).toBe(packed[i]);
    const state = await opt.stateDict();
    expect(bits(state.groups[0]!.params[0]!.momentumBuffer as Float32Array)).toEqual(bits(refs.w.mb));
    expect(state.groups[1]!.params[0]!.step).toBe(3);
    expect(state.groups[1]!.hyper.lr).toBe('schedule');
  });

  it('moves a run CPU -> GPU -> CPU: the state loaded each way, the continuations agree to float32 rounding', async () => {
    const random = rng(8);
    const init = Float32Array.from(normals(random, 700));
    const grads = Array.from({ length: 10 }, () => Float32Array.from(normals(random, 700)));
    const options = { lr: 0.01, momentum: 0.9, centered: true };
    const cpu = { data: init.slice(), grad: new Float32Array(700), name: 'w' };
    const cpuOpt = new RMSProp([cpu], options);
    for (const g of grads.slice(0, 5)) {
      cpu.grad.set(g);
      cpuOpt.step();
    }
    const data = upload(cpu.data);
    const grad = upload(new Float32Array(700));
    const gpuOpt = new GPURMSProp(device, [{ data, grad, name: 'w' }], options);
    gpuOpt.loadStateDict(cpuOpt.stateDict());
    for (const g of grads.slice(5)) {
      cpu.grad.set(g);
      cpuOpt.step();
      device.queue.writeBuffer(grad, 0, g);
      gpuOpt.step();
    }
    const onGpu = await download(data);
    let worst = 0;
    onGpu.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - cpu.data[i]!) / Math.max(1, Math.abs(cpu.data[i]!)))));
    expect(worst).toBeLessThan(1e-5);
    const back = new RMSProp([{ data: onGpu, grad: null, name: 'w' }], options);
    const saved = await gpuOpt.stateDict();
    back.loadStateDict(saved);
    expect(back.getState(back.paramGroups[0]!.params[0]!)!.step).toBe(10);
    expect(bits(back.getState(back.paramGroups[0]!.params[0]!)!.squareAvg as Float32Array)).toEqual(bits(saved.groups[0]!.params[0]!.squareAvg as Float32Array));
  });

  it('refuses what does not fit, with RMSProp\'s messages and its own, and registers nothing', () => {
    const fitsState = () => new RMSProp([{ data: new Float32Array(2), grad: null, name: 'a' }]).stateDict();
    const small = device.createBuffer({ size: 16, usage: USAGE });
    const unusable = device.createBuffer({ size: 16, usage: GPUBufferUsage.COPY_DST });
    const grad = device.createBuffer({ size: 16, usage: USAGE });
    const range = (offset: number, length: number): GPURange => ({ buffer: small, offset, length });
    expectError(() => new GPURMSProp(device, [{ data: small, grad }], { lr: -1 }), RangeError, 'GPURMSProp: invalid lr: expected a finite number >= 0, got -1');
    expectError(() => new GPURMSProp(device, [{ data: new Float32Array(4) as unknown as GPUBuffer, grad }]), TypeError, 'GPURMSProp: invalid data: expected a GPUBuffer or { buffer, offset, length }, got a Float32Array of length 4 (group 0, param 0)');
    expectError(() => new GPURMSProp(device, [{ data: range(2, 3), grad }]), RangeError, 'GPURMSProp: invalid data: elements 2 to 4 are not all in the buffer of 4 float32 values (group 0, param 0)');
    expectError(() => new GPURMSProp(device, [{ data: unusable, grad }]), TypeError, `GPURMSProp: invalid data: expected a buffer with STORAGE usage, got usage ${GPUBufferUsage.COPY_DST} (group 0, param 0)`);
    expectError(() => new GPURMSProp(device, [{ data: range(0, 2), grad: range(1, 2) }]), Error, 'GPURMSProp: grad shares memory with data (group 0, param 0): elements 1 to 2 and 0 to 1 of one buffer');
    expectError(() => new GPURMSProp(device, [{ data: small, grad: range(0, 3) }]), RangeError, 'GPURMSProp: invalid grad: expected 4 elements (as data), got 3 (group 0, param 0)');
    const opt = new GPURMSProp(device, [{ data: range(0, 2), grad: range(2, 2), name: 'a' }]);
    expectError(() => opt.addParamGroup({ params: [{ data: grad, grad: small, name: 'a' }] }), Error, 'GPURMSProp.addParamGroup: duplicate parameter name "a": (group 0, param 0) and (group 1, param 0)');
    expect(opt.paramGroups.length).toBe(1);
    opt.paramGroups[0]!.eps = 1e-40;
    const EPS = 'expected at least 2^-63 (about 1.1e-19: a GPU may flush a square average below 2^-126 to 0, and a smaller eps would then make a step larger than lr), got 1e-40';
    expectError(() => opt.step(), RangeError, `GPURMSProp.step: invalid eps in group 0: ${EPS}`);
    opt.paramGroups[0]!.eps = 1e-8;
    expectError(() => new GPURMSProp(device, [{ data: grad, grad: small }], { eps: 1e-40 }), RangeError, `GPURMSProp: invalid eps in group 0: ${EPS}`);
    expectError(() => opt.loadStateDict({ ...fitsState(), groups: [{ ...fitsState().groups[0]!, hyper: { ...fitsState().groups[0]!.hyper, eps: 1e-40 } }] }), RangeError, `GPURMSProp.loadStateDict: invalid eps in group 0: ${EPS}`);
    expect(opt.paramGroups[0]!.eps).toBe(1e-8);
    expectError(() => new GPURMSProp(device, [{ data: device.createBuffer({ size: 0, usage: USAGE }), grad }]), RangeError, 'GPURMSProp: invalid data: expected a buffer of at least one float32 value (4 bytes), got one of 0 bytes (group 0, param 0)');
  });

  it('refuses parameters whose updates would touch the same memory, as RMSProp does, and lets gradients share', () => {
    const buffer = device.createBuffer({ size: 64, usage: USAGE });
    const grads = device.createBuffer({ size: 64, usage: USAGE });
    const r = (b: GPUBuffer, offset: number, length: number): GPURange => ({ buffer: b, offset, length });
    expectError(() => new GPURMSProp(device, [{ data: r(buffer, 0, 4), grad: r(grads, 0, 4) }, { data: r(buffer, 3, 4), grad: r(grads, 4, 4) }]), Error, 'GPURMSProp: data (group 0, param 1) shares memory with the data of (group 0, param 0)');
    expectError(() => new GPURMSProp(device, [{ data: r(buffer, 0, 4), grad: r(grads, 0, 4) }, { data: r(grads, 2, 4), grad: r(buffer, 8, 4) }]), Error, 'GPURMSProp: data (group 0, param 1) shares memory with the grad of (group 0, param 0)');
    const opt = new GPURMSProp(device, [{ data: r(buffer, 0, 4), grad: r(grads, 0, 4) }, { data: r(buffer, 4, 4), grad: r(grads, 0, 4) }]);
    expectError(() => opt.addParamGroup({ params: [{ data: r(buffer, 7, 2), grad: r(grads, 8, 2) }] }), Error, 'GPURMSProp.addParamGroup: data (group 1, param 0) shares memory with the data of (group 0, param 1)');
    expect(opt.paramGroups.length).toBe(1);
  });

  it('records nothing when a step throws (a schedule that throws, a hyperparameter out of range), naming the group', async () => {
    const data = upload(new Float32Array([1, 2, 3, 4]));
    const grad = upload(new Float32Array([0.5, 0.5, 0.5, 0.5]));
    const r = (offset: number): GPURange => ({ buffer: data, offset, length: 2 });
    const g = (offset: number): GPURange => ({ buffer: grad, offset, length: 2 });
    const opt = new GPURMSProp(device, [{ params: [{ data: r(0), grad: g(0) }] }, { params: [{ data: r(2), grad: g(2) }], lr: (t: number) => (t === 1 ? Number.NaN : 0.1) }]);
    opt.step();
    const before = [await download(data), await opt.stateDict()] as const;
    expectError(() => opt.step(), RangeError, "GPURMSProp.step: invalid lr in group 1: the schedule's value for update 1: expected a finite number >= 0, got NaN");
    opt.paramGroups[0]!.momentum = 1.5;
    expectError(() => opt.step(), RangeError, 'GPURMSProp.step: invalid momentum in group 0: expected a number in [0, 1), got 1.5');
    expect(await download(data)).toEqual(before[0]);
    await expect(opt.stateDict()).rejects.toThrow(new RangeError('GPURMSProp.stateDict: invalid momentum in group 0: expected a number in [0, 1), got 1.5'));
    opt.paramGroups[0]!.momentum = 0;
    expect(await opt.stateDict()).toEqual(before[1]);
  });

  it('gives each step recorded before a submit its own hyperparameters (two steps in one encoder, a schedule)', async () => {
    const run = async (together: boolean) => {
      const data = upload(new Float32Array([1, 2, 3, 4]));
      const grad = upload(new Float32Array([0.5, -0.5, 1, 2]));
      const opt = new GPURMSProp(device, [{ data, grad }], { lr: (t: number) => (t === 0 ? 0.1 : 0.001), biasCorrection: true });
      if (together) {
        const encoder = device.createCommandEncoder();
        opt.step(encoder);
        opt.step(encoder);
        device.queue.submit([encoder.finish()]);
      } else {
        opt.step();
        opt.step();
      }
      return download(data);
    };
    expect(bits(await run(true))).toEqual(bits(await run(false)));
  });

  it('saves zeros for a buffer switched on since the last step, and drops the ones a loaded state has not', async () => {
    const data = upload(new Float32Array([1, 2]));
    const grad = upload(new Float32Array([0.5, 0.5]));
    const opt = new GPURMSProp(device, [{ data, grad, name: 'w' }], { momentum: 0.9, centered: true });
    opt.step();
    const plain = new RMSProp([{ data: new Float32Array(2), grad: null, name: 'w' }]);
    opt.loadStateDict(plain.stateDict()); // momentum 0, not centered: no such buffers
    opt.paramGroups[0]!.momentum = 0.9;
    opt.paramGroups[0]!.centered = true;
    const saved = await opt.stateDict();
    expect(saved.groups[0]!.params[0]!.momentumBuffer).toEqual(new Float32Array(2));
    expect(saved.groups[0]!.params[0]!.gradAvg).toEqual(new Float32Array(2));
    new RMSProp([{ data: new Float32Array(2), grad: null, name: 'w' }]).loadStateDict(saved); // loadable
    // Stepped on, it starts the switched-on buffers from zero, as RMSProp does.
    const cpu = { data: await download(data), grad: new Float32Array([0.5, 0.5]), name: 'w' };
    const cpuOpt = new RMSProp([cpu]);
    cpuOpt.loadStateDict(saved);
    opt.step();
    cpuOpt.step();
    const after = await download(data);
    after.forEach((x, i) => expect(Math.abs(x - cpu.data[i]!)).toBeLessThan(1e-6));
  });

  it('saves the state as it was at the call, while steps go on being submitted', async () => {
    const data = upload(new Float32Array([1, 2]));
    const grad = upload(new Float32Array([Number.NaN, 1]));
    const opt = new GPURMSProp(device, [{ data, grad, name: 'w' }], { nonFinite: 'skip' });
    opt.step();
    opt.step();
    const pending = opt.stateDict();
    opt.step();
    opt.step();
    const saved = await pending;
    expect([saved.updates, saved.skippedSteps, saved.groups[0]!.params[0]!.step]).toEqual([2, 2, 0]);
    new RMSProp([{ data: new Float32Array(2), grad: null, name: 'w' }]).loadStateDict(saved);
    const plain = new GPURMSProp(device, [{ data: upload(new Float32Array([1, 2])), grad: upload(new Float32Array([0.5, 0.5])), name: 'w' }]);
    plain.step();
    const first = plain.stateDict();
    plain.step();
    plain.step();
    const cpu = new RMSProp([{ data: new Float32Array([1, 2]), grad: new Float32Array([0.5, 0.5]), name: 'w' }]);
    cpu.step();
    expect((await first).groups[0]!.params[0]!.squareAvg).toEqual(cpu.getState(cpu.paramGroups[0]!.params[0]!)!.squareAvg);
  });

  it('loads hyperparameters with the state, and refuses a state that does not fit with RMSProp\'s checks, writing nothing', async () => {
    const make = () => ({ data: upload(new Float32Array([1, 2, 3])), grad: upload(new Float32Array([0.5, -0.5, 1])), name: 'w' });
    const gpu = new GPURMSProp(device, [make()], { momentum: 0.5 });
    gpu.step();
    const before = await gpu.stateDict();
    const cpu = new RMSProp([{ data: new Float64Array(3), grad: null, name: 'w' }], { lr: 0.2 });
    expectError(() => gpu.loadStateDict(cpu.stateDict()), Error, 'GPURMSProp.loadStateDict: invalid groups[0].params[0].squareAvg: expected a Float32Array of length 3 (every state needs it), got a Float64Array of length 3');
    const other = new RMSProp([{ data: new Float32Array(3), grad: null, name: 'v' }]);
    expectError(() => gpu.loadStateDict(other.stateDict()), Error, 'GPURMSProp.loadStateDict: invalid groups: expected a state named "w" for (group 0, param 0), got the names "v"');
    Object.freeze(gpu.paramGroups[0]);
    const fits = new RMSProp([{ data: new Float32Array(3), grad: null, name: 'w' }], { lr: 0.2, momentum: 0.5 });
    expectError(() => gpu.loadStateDict(fits.stateDict()), Error, 'GPURMSProp.loadStateDict: cannot write lr in group 0: the group object is frozen or lr is not a plain writable field; nothing was loaded');
    const after = await gpu.stateDict();
    expect(after).toEqual(before);
    const fresh = new GPURMSProp(device, [make()], { momentum: 0.5 });
    fresh.loadStateDict(fits.stateDict());
    expect(fresh.paramGroups[0]!.lr).toBe(0.2);
    expect((await fresh.stateDict()).groups[0]!.params[0]!.step).toBe(0);
  });

  it("skips a whole step on the device when a gradient has a NaN or Infinity (nonFinite: 'skip'), and counts it", async () => {
    const random = rng(11);
    const init = [Float32Array.from(normals(random, 300)), Float32Array.from(normals(random, 5))];
    const data = init.map(upload);
    const grads = init.map((x) => upload(new Float32Array(x.length)));
    const options = { lr: 0.02, momentum: 0.9, centered: true };
    const opt = new GPURMSProp(device, data.map((d, i) => ({ data: d, grad: grads[i]!, name: `p${i}` })), { ...options, nonFinite: 'skip' });
    const refs = init.map((x) => ({ p: x.slice(), sq: new Float32Array(x.length), ga: new Float32Array(x.length), mb: new Float32Array(x.length) }));
    const hyper = { ...opt.paramGroups[0]!, lr: 0.02 } as unknown as RMSPropHyper;
    let applied = 0;
    for (let t = 0; t < 5; t++) {
      const gs = init.map((x) => Float32Array.from(normals(random, x.length)));
      if (t === 1) gs[1]![3] = Number.NaN; // one element of the small parameter: the whole step goes
      if (t === 3) gs[0]![299] = Number.POSITIVE_INFINITY;
      gs.forEach((g, i) => device.queue.writeBuffer(grads[i]!, 0, g));
      opt.step();
      if (t !== 1 && t !== 3) {
        applied++;
        refs.forEach((r, i) => f32Step(r.p, gs[i]!, r.sq, r.ga, r.mb, hyper, applied));
      }
    }
    for (let i = 0; i < 2; i++) expect(bits(await download(data[i]!))).toEqual(bits(refs[i]!.p));
    expect(await opt.skippedSteps()).toBe(2);
    const state = await opt.stateDict();
    expect(state.nonFinite).toBe('skip');
    expect(state.skippedSteps).toBe(2);
    expect(state.groups[0]!.params.map((p) => p.step)).toEqual([3, 3]);
    // The state moves to the CPU optimizer, which takes it as its own.
    const cpu = new RMSProp([{ data: new Float32Array(300), grad: null, name: 'p0' }, { data: new Float32Array(5), grad: null, name: 'p1' }], options);
    cpu.loadStateDict(state);
    expect(cpu.skippedSteps).toBe(2);
  });

  it("lets a NaN through with nonFinite: 'apply' (PyTorch's), and refuses 'throw' and bias correction with 'skip', saying why", async () => {
    const data = upload(new Float32Array([1, 2]));
    const grad = upload(new Float32Array([Number.NaN, 1]));
    new GPURMSProp(device, [{ data, grad }]).step();
    const after = await download(data);
    expect(Number.isNaN(after[0])).toBe(true);
    expect(after[1]).not.toBe(2);
    expectError(() => new GPURMSProp(device, [{ data, grad }], { nonFinite: 'throw' as 'skip' }), TypeError, "GPURMSProp: invalid nonFinite: expected 'apply' or 'skip' ('throw' cannot be synchronous: the gradients are on the device), got string \"throw\"");
    expectError(() => new GPURMSProp(device, [{ data, grad }], { nonFinite: 'skip', biasCorrection: true }), Error, "GPURMSProp: biasCorrection in group 0 cannot be used with nonFinite 'skip' here: it needs each parameter's update count, which only the device knows once a step may be skipped");
    const opt = new GPURMSProp(device, [{ data, grad }], { nonFinite: 'skip' });
    opt.paramGroups[0]!.biasCorrection = true;
    expectError(() => opt.step(), Error, "GPURMSProp.step: biasCorrection in group 0 cannot be used with nonFinite 'skip' here: it needs each parameter's update count, which only the device knows once a step may be skipped");
    opt.paramGroups[0]!.biasCorrection = false;
    const mapped = device.createBuffer({ size: 8, usage: USAGE, mappedAtCreation: true }); // mapped until unmap()
    const waiting = new GPURMSProp(device, [{ data: mapped, grad: upload(new Float32Array(2)) }]);
    expectError(() => waiting.step(), Error, 'GPURMSProp.step: the data buffer of (group 0, param 0) is mapped: unmap it before the step');
    mapped.unmap();
    waiting.step();
    await waiting.checked();
  });

  it('reports a buffer of another device, naming the parameter, through checked() and every later call', async () => {
    const other = (await (await navigator.gpu.requestAdapter())!.requestDevice())!;
    const foreign = other.createBuffer({ size: 16, usage: USAGE });
    const grad = device.createBuffer({ size: 16, usage: USAGE });
    const opt = new GPURMSProp(device, [{ data: upload(new Float32Array(4)), grad }, { data: foreign, grad: upload(new Float32Array(4)) }]);
    let message = '';
    await opt.checked().catch((error: unknown) => (message = (error as Error).message));
    expect(message).toMatch(/^GPURMSProp: binding the buffers of \(group 0, param 1\) failed on the device: /);
    expect(() => opt.step()).toThrow(/^GPURMSProp\.step: GPURMSProp: binding the buffers of \(group 0, param 1\) failed on the device/);
    await expect(opt.stateDict()).rejects.toThrow(/^GPURMSProp\.stateDict: GPURMSProp: binding the buffers of \(group 0, param 1\)/);
    other.destroy();
  });

  it('reports a lost device at the next call', async () => {
    const own = (await (await navigator.gpu.requestAdapter())!.requestDevice())!;
    const data = own.createBuffer({ size: 16, usage: USAGE });
    const grad = own.createBuffer({ size: 16, usage: USAGE });
    const opt = new GPURMSProp(own, [{ data, grad }]);
    own.destroy();
    await own.lost;
    expect(() => opt.step()).toThrow(/^GPURMSProp\.step: GPURMSProp: the device was lost \(destroyed\): /);
  });
});

describe('GPURMSProp and the device\'s binding limits', () => {
  it('binds the part of a buffer larger than one binding that holds the parameter, and binds a parameter larger than one binding in parts', async () => {
    const max = device.limits.maxStorageBufferBindingSize;
    const n = max / 4 + 1024; // elements: a buffer past one binding
    const big = device.createBuffer({ size: 4 * n, usage: USAGE });
    const at = n - 700; // beyond the first binding's reach
    const init = new Float32Array([0.5, -1, 2]);
    const gInit = new Float32Array([0.25, 0.5, -0.75]);
    device.queue.writeBuffer(big, 4 * at, init);
    device.queue.writeBuffer(big, 4 * (at + 5), gInit); // its gradient, in the same buffer
    const opt = new GPURMSProp(device, [{ data: { buffer: big, offset: at, length: 3 }, grad: { buffer: big, offset: at + 5, length: 3 } }], { momentum: 0.9 });
    opt.step();
    await opt.checked();
    const staging = device.createBuffer({ size: 12, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(big, 4 * at, staging, 0, 12);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const got = new Float32Array(staging.getMappedRange().slice(0));
    const ref = init.slice();
    f32Step(ref, gInit, new Float32Array(3), null, new Float32Array(3), { ...rmspropDefaults, momentum: 0.9 }, 1);
    expect(bits(got)).toEqual(bits(ref));
    expectError(
      () => new GPURMSProp(device, [{ data: { buffer: big, offset: 0, length: n - 8 }, grad: { buffer: big, offset: n - 4, length: 4 } }]),
      RangeError,
      `GPURMSProp: invalid grad: expected ${n - 8} elements (as data), got 4 (group 0, param 0)`,
    );
    // Larger than one binding: split into parts (bound, not stepped here: SwiftShader takes minutes).
    const huge = device.createBuffer({ size: 4 * n, usage: USAGE });
    const split = new GPURMSProp(device, [{ data: big, grad: huge }, { data: { buffer: huge, offset: 0, length: 1 }, grad: { buffer: huge, offset: 1, length: 1 } }].slice(0, 1));
    await split.checked();
    big.destroy();
    huge.destroy();
  }, 60_000);
});

describe('GPURMSProp with parameters larger than one binding (the binding size lowered to 1 KiB for the test)', () => {
  it('steps them in parts, bit for bit, counting a skipped update once per parameter', async () => {
    setBindingLimit(1024); // parts of 193 elements (1 024 - 256 + 4 bytes, at 256-byte alignment)
    try {
      const random = rng(21);
      const n = 1000;
      const packed = Float32Array.from(normals(random, 2 * n + 40)); // [w: 1000][gap 7][b: 10][gap 3][b's grad: 10]...
      const buffer = upload(packed);
      const wGrad = upload(new Float32Array(n));
      const w = { data: { buffer, offset: 0, length: n }, grad: wGrad, name: 'w' };
      const b = { data: { buffer, offset: n + 7, length: 10 }, grad: { buffer, offset: n + 20, length: 10 }, name: 'b' };
      const opt = new GPURMSProp(device, [{ params: [w], momentum: 0.9, centered: true }, { params: [b] }], { nonFinite: 'skip' });
      const refs = { w: { p: packed.slice(0, n), sq: new Float32Array(n), ga: new Float32Array(n), mb: new Float32Array(n) }, b: { p: packed.slice(n + 7, n + 17), sq: new Float32Array(10) } };
      let applied = 0;
      for (let t = 0; t < 4; t++) {
        const gw = Float32Array.from(normals(random, n));
        const gb = Float32Array.from(normals(random, 10));
        if (t === 2) gw[777] = Number.NaN; // in the fifth part of w: the whole step goes
        device.queue.writeBuffer(wGrad, 0, gw);
        device.queue.writeBuffer(buffer, 4 * (n + 20), gb);
        opt.step();
        if (t !== 2) {
          applied++;
          f32Step(refs.w.p, gw, refs.w.sq, refs.w.ga, refs.w.mb, { ...rmspropDefaults, momentum: 0.9, centered: true }, applied);
          f32Step(refs.b.p, gb, refs.b.sq, null, null, rmspropDefaults, applied);
        }
      }
      await opt.checked();
      const after = await download(buffer);
      expect(bits(after.slice(0, n))).toEqual(bits(refs.w.p));
      expect(bits(after.slice(n + 7, n + 17))).toEqual(bits(refs.b.p));
      const state = await opt.stateDict();
      expect(state.skippedSteps).toBe(1);
      expect(state.groups.map((g) => g.params[0]!.step)).toEqual([3, 3]);
      expect(bits(state.groups[0]!.params[0]!.momentumBuffer as Float32Array)).toEqual(bits(refs.w.mb));
    } finally {
      setBindingLimit(undefined);
    }
  });
});

describe('GPURMSProp replays PyTorch', () => {
  // Every float32 case of test/fixtures/torch-rmsprop.json whose gradients are never None (a GPU
  // parameter always has its gradient buffer), all parameters packed in one buffer at odd
  // offsets, within the SIMD path's tolerance.
  const cases = loadTorchFixture().cases.filter((c) => c.dtype === 'float32' && c.steps.every((s) => s.grads.every((g) => g !== null)));

  it('has cases to replay', () => expect(cases.length).toBeGreaterThanOrEqual(10));

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_n, c: FixtureCase) => {
    const offsets: number[] = [];
    let end = 1;
    for (const v of c.init) {
      offsets.push(end);
      end += v.length + 3; // three guard elements after each
    }
    const packed = new Float32Array(end);
    c.init.forEach((v, i) => packed.set(v, offsets[i]));
    const data = upload(packed);
    const grads = upload(new Float32Array(end));
    const params = c.init.map((v, i) => ({ data: { buffer: data, offset: offsets[i]!, length: v.length }, grad: { buffer: grads, offset: offsets[i]!, length: v.length }, name: `p${i}` }));
    const options = c.options as GPUOptions;
    const opt = c.groups === null ? new GPURMSProp(device, params, options) : new GPURMSProp(device, c.groups.map((g) => ({ params: g.params.map((i) => params[i]!), ...(g.options as GPUOptions) })), options);
    const trajectory: number[][][] = [];
    for (const s of c.steps) {
      for (const { group, ...values } of s.set) Object.assign(opt.paramGroups[group]!, values);
      const g = new Float32Array(end);
      s.grads.forEach((v, i) => g.set(v!, offsets[i]));
      device.queue.writeBuffer(grads, 0, g);
      opt.step();
      const now = await download(data);
      trajectory.push(c.init.map((v, i) => Array.from(now.subarray(offsets[i]!, offsets[i]! + v.length))));
      for (const i of offsets.map((o) => o - 1)) expect(now[i], 'a guard element').toBe(packed[i]);
    }
    expect(trajectoryError(trajectory, c.steps.map((s) => s.params), 'float32')).toBeLessThanOrEqual(1e-5);
  });
});

type GPUOptions = ConstructorParameters<typeof GPURMSProp>[2];
