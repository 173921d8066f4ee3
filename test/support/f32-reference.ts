// The WGSL kernel's update (src/rmsprop-step.wgsl.ts) in JavaScript, every operation rounded to
// float32 in the kernel's order, from the very coefficients the uniform holds: what a GPU with
// correctly rounded division and square root (SwiftShader) computes, bit for bit.
import { FLAGS, HYPER, HYPER_BYTES, writeHyper } from '../../src/rmsprop-step.wgsl.js';
import type { GPUHyper } from '../../src/rmsprop-step.wgsl.js';

const r = Math.fround;
const MAX = 3.4028234663852886e38;

/** One update of `param` and its state (float32 arrays), as the kernel makes it at update `t`. */
export function f32Step(param: Float32Array, grad: Float32Array, sq: Float32Array, ga: Float32Array | null, mb: Float32Array | null, hyper: GPUHyper, t: number): void {
  const words = new ArrayBuffer(HYPER_BYTES);
  writeHyper(words, 0, hyper, t, { param: 0, grad: 0, state: 0, first: 0, count: param.length, xCount: 1 }, false);
  const f = new Float32Array(words);
  const flags = new Uint32Array(words)[HYPER.flags]!;
  const [lr, alpha, beta, sign, wd, decay, momentum, correction, epsIn, epsOut, lrIn, lrOut] = [
    f[HYPER.lr]!, f[HYPER.alpha]!, f[HYPER.beta]!, f[HYPER.sign]!, f[HYPER.wd]!, f[HYPER.decay]!,
    f[HYPER.momentum]!, f[HYPER.correction]!, f[HYPER.epsIn]!, f[HYPER.epsOut]!, f[HYPER.lrIn]!, f[HYPER.lrOut]!,
  ];
  const biased = (flags & FLAGS.biasCorrection) !== 0;
  for (let i = 0; i < param.length; i++) {
    let p = param[i]!;
    if (flags & FLAGS.decoupled) p = r(p - r(decay * p));
    const g = r(r(sign * grad[i]!) + r(wd * p));
    const v = r(r(alpha * sq[i]!) + r(r(beta * g) * g));
    sq[i] = v;
    let s = biased ? r(v / correction) : v;
    if (flags & FLAGS.centered) {
      const m = r(r(alpha * ga![i]!) + r(beta * g));
      ga![i] = m;
      const mc = biased ? r(m / correction) : m;
      s = r(s - Math.min(r(mc * mc), MAX));
      if (r(s + epsIn) <= 0) s = 0;
    }
    const d = r(r(Math.sqrt(r(s + epsIn))) + epsOut);
    if (flags & FLAGS.momentum) {
      const u = r(g / d);
      const b = r(r(momentum * mb![i]!) + r(lrIn * u));
      mb![i] = b;
      const step = flags & FLAGS.nesterov ? r(r(lrIn * u) + r(momentum * b)) : b;
      param[i] = r(p - r(lrOut * step));
    } else {
      param[i] = r(p - r(r(lr * g) / d));
    }
  }
}
