// A seeded training run whose every bit must be the same in Node and in Chromium: two groups,
// every variant loop of the TS kernel, float32 and float64, and the SIMD path.
import { RMSProp, createArena } from '../../src/index.js';
import type { FloatArray } from '../../src/index.js';
import { rng } from './random.js';

/** The parameters' bytes, as hex, after 20 seeded steps. */
export function seededRun(seed: number): string[] {
  const random = rng(seed);
  // Uniform values only: Math.log and Math.cos (a Gaussian generator's) are not required to give
  // the same last bit in every engine, and are not the library's to answer for.
  const normals = (_r: unknown, n: number, scale = 1): number[] => Array.from({ length: n }, () => (2 * random() - 1) * scale);
  const arena = createArena(4096);
  const inArena = (n: number): Float32Array => arena.alloc(n).fill(0);
  const make = <T extends FloatArray>(data: T, grad: T): { data: T; grad: T } => {
    data.set(normals(random, data.length));
    return { data, grad };
  };
  const params = [
    make(new Float32Array(33), new Float32Array(33)),
    make(new Float64Array(17), new Float64Array(17)),
    make(new Float32Array(8), new Float32Array(8)),
    make(inArena(21), inArena(21)),
    make(new Float32Array(5), new Float32Array(5)),
    make(new Float64Array(9), new Float64Array(9)),
  ];
  const opt = new RMSProp(
    [
      { params: [params[0]!, params[1]!], momentum: 0.9 },
      { params: [params[2]!], centered: true, epsInSqrt: true, lrInMomentum: true, momentum: 0.5, nesterov: true, biasCorrection: true },
      { params: [params[3]!], momentum: 0.8, weightDecay: 0.01, decoupledWeightDecay: true },
      { params: [params[4]!], centered: true },
      { params: [params[5]!], centered: true, biasCorrection: true, epsInSqrt: true, momentum: 0.9, nesterov: true, lrInMomentum: true },
    ],
    { lr: 0.01, arena },
  );
  for (let t = 0; t < 20; t++) {
    for (const p of params) p.grad.set(normals(random, p.grad.length, 1 + t));
    opt.step();
  }
  return params.map((p) => Array.from(new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength), (b) => b.toString(16).padStart(2, '0')).join(''));
}
