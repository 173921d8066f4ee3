/// <reference lib="dom" />
// Runs in Chromium only: the README's WebGPU quickstart (examples/webgpu.ts, verbatim up to its
// "(end of the README snippet)" line) trains on the device.
import { describe, expect, it } from 'vitest';
import readme from '../README.md?raw';
import source from '../examples/webgpu.ts?raw';
import { decodeState } from 'rmsprop';

describe("the README's WebGPU quickstart (examples/webgpu.ts)", () => {
  it('is in the README verbatim', () => {
    const body = source.slice(source.indexOf('\n') + 1, source.indexOf('// (end of the README snippet)')).trim();
    expect(readme).toContain('```ts\n' + body + '\n```');
  });

  it('trains every parameter towards zero on the GPU, and saves its state', async () => {
    const { checkpoint, device, params } = await import('../examples/webgpu.js');
    const staging = device.createBuffer({ size: 4 * 1010, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(params, 0, staging, 0, 4 * 1010);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const after = new Float32Array(staging.getMappedRange().slice(0));
    let norm = 0;
    let start = 0;
    after.forEach((x, i) => ((norm += x * x), (start += Math.sin(i) ** 2)));
    expect(Math.sqrt(norm)).toBeLessThan(0.2 * Math.sqrt(start));
    const state = decodeState(checkpoint);
    expect(state.groups.map((g) => g.params.map((p) => [p.name, p.step]))).toEqual([[['w', 100]], [['b', 100]]]);
  });
});
