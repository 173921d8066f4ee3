/**
 * The RMSProp kernel in WGSL, for parameters held in WebGPU buffers: the same update as
 * `rmsprop-step.ts` (PyTorch's order of operations, every switch), computed in float32 with each
 * operation rounded, as a GPU computes it.
 *
 * This file has no imports: copy it alone into your own engine. Bind:
 *
 *   @group(0) @binding(0) param    array<f32>, read_write: the parameter (and, in the `shared`
 *                                   variant, its gradient too: the same buffer bound once)
 *   @group(0) @binding(1) grad     array<f32>, read (absent in the `shared` variant)
 *   @group(0) @binding(2) sq       array<f32>, read_write: squareAvg
 *   @group(0) @binding(3) ga       array<f32>, read_write: gradAvg (any buffer when not centered)
 *   @group(0) @binding(4) mb       array<f32>, read_write: momentumBuffer (any buffer without momentum)
 *   @group(0) @binding(5) h        uniform Hyper (below): the step's coefficients and where the
 *                                   parameter's elements are in each buffer
 *   @group(0) @binding(6) status   array<atomic<u32>>, read_write: [0] is set to 1 by `scan` when
 *                                   a gradient element is NaN or infinite; `update` then writes
 *                                   nothing when `h.flags` has SKIP, and counts the skipped update
 *                                   of its parameter in [2 + h.slot]; `finish` counts a skipped
 *                                   step in [1]. Clear [0] before each step's `scan`.
 *
 * and dispatch `update` (and, for the 'skip' policy, `scan` first) with 256 invocations per
 * workgroup over `h.count` elements starting at element `h.first` of the parameter, in
 * `(x, y)` workgroups (x at most 65 535): element `first + (y * x_count + x) * 256 + local`.
 *
 * Rounding: each operation is rounded to float32, where the TS kernel computes in float64 and
 * rounds once when it stores. The two agree to float32 rounding; against a float32 reference
 * that rounds every operation in the same order, a GPU whose division and square root are
 * correctly rounded (SwiftShader's are) agrees to the bit. WGSL lets a GPU compute division and
 * `sqrt` to a few ulps.
 *
 * @module
 */

/**
 * The uniform's layout, in 32-bit words: the coefficients the CPU works out once per step (in
 * float64, rounded to float32 once) and the element offsets. 96 bytes; bind it at a multiple of
 * the device's `minUniformBufferOffsetAlignment` (256).
 *
 * @example
 * ```ts
 * const words = new ArrayBuffer(HYPER_BYTES);
 * new Float32Array(words)[HYPER.lr] = 0.01;
 * new Uint32Array(words)[HYPER.flags] = FLAGS.centered;
 * ```
 */
export const HYPER: {
  readonly lr: number;
  readonly alpha: number;
  readonly beta: number;
  readonly sign: number;
  readonly wd: number;
  readonly decay: number;
  readonly momentum: number;
  readonly correction: number;
  readonly epsIn: number;
  readonly epsOut: number;
  readonly lrIn: number;
  readonly lrOut: number;
  readonly flags: number;
  readonly param: number;
  readonly grad: number;
  readonly state: number;
  readonly first: number;
  readonly count: number;
  readonly xCount: number;
  readonly slot: number;
} = Object.freeze({
  lr: 0, // f32: the learning rate
  alpha: 1, // f32: the smoothing constant
  beta: 2, // f32: 1 - alpha, rounded once
  sign: 3, // f32: -1 to maximize, 1 otherwise
  wd: 4, // f32: coupled weight decay (0 when decoupled)
  decay: 5, // f32: lr * weightDecay when decoupled, else 0
  momentum: 6, // f32
  correction: 7, // f32: 1 - alpha^t with bias correction, else 1
  epsIn: 8, // f32: eps under the square root (epsInSqrt), else 0
  epsOut: 9, // f32: eps after it (PyTorch), else 0
  lrIn: 10, // f32: lr inside the momentum buffer (lrInMomentum), else 1
  lrOut: 11, // f32: lr outside it (PyTorch), else 1
  flags: 12, // u32: FLAGS
  param: 13, // u32: the parameter's first element in binding 0
  grad: 14, // u32: its gradient's first element in binding 1 (binding 0 in the shared variant)
  state: 15, // u32: its state's first element in bindings 2, 3, 4
  first: 16, // u32: the first element of the parameter this dispatch updates
  count: 17, // u32: how many elements it updates
  xCount: 18, // u32: workgroups in x of this dispatch
  slot: 19, // u32: the parameter's counter of skipped updates, status[2 + slot]
});

/**
 * Bytes of the uniform (`HYPER`'s 20 words, padded to 16-byte rows).
 *
 * @example
 * ```ts
 * const uniform = device.createBuffer({ size: HYPER_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
 * ```
 */
export const HYPER_BYTES = 96;

/**
 * The switches in `HYPER.flags`.
 *
 * @example
 * ```ts
 * const flags = FLAGS.centered | FLAGS.momentum;
 * ```
 */
export const FLAGS: {
  readonly centered: number;
  readonly momentum: number;
  readonly nesterov: number;
  readonly biasCorrection: number;
  readonly decoupled: number;
  readonly skip: number;
} = Object.freeze({ centered: 1, momentum: 2, nesterov: 4, biasCorrection: 8, decoupled: 16, skip: 32 });

/**
 * The hyperparameters of one update, as the kernel takes them (an `RMSPropHyper` is one).
 *
 * @example
 * ```ts
 * const hyper: GPUHyper = { ...rmspropDefaults, momentum: 0.9 };
 * ```
 */
export interface GPUHyper {
  readonly lr: number;
  readonly alpha: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly momentum: number;
  readonly centered: boolean;
  readonly maximize: boolean;
  readonly epsInSqrt: boolean;
  readonly lrInMomentum: boolean;
  readonly nesterov: boolean;
  readonly biasCorrection: boolean;
  readonly decoupledWeightDecay: boolean;
}

/**
 * Where a dispatch's elements are, and its parameter's counter of skipped updates: see `HYPER`.
 *
 * @example
 * ```ts
 * const at: Placement = { param: 4096, grad: 0, state: 0, first: 0, count: 1000, xCount: 4 };
 * ```
 */
export interface Placement {
  readonly param: number;
  readonly grad: number;
  readonly state: number;
  readonly first: number;
  readonly count: number;
  readonly xCount: number;
  readonly slot?: number;
}

/**
 * Writes the uniform of one dispatch at `byteOffset` of `words`: the coefficients of update `t`
 * (the parameter's update count after it, for bias correction), worked out in float64 and
 * rounded to float32 once, as the TS kernel has them before its loop.
 *
 * @example
 * ```ts
 * const words = new ArrayBuffer(HYPER_BYTES);
 * writeHyper(words, 0, { ...rmspropDefaults, lr: 0.01 }, 1, { param: 0, grad: 0, state: 0, first: 0, count: n, xCount: Math.ceil(n / 256) }, false);
 * device.queue.writeBuffer(uniform, 0, words);
 * ```
 */
export function writeHyper(words: ArrayBuffer, byteOffset: number, hyper: GPUHyper, t: number, at: Placement, skip: boolean): void {
  const f = new Float32Array(words, byteOffset, 20);
  const u = new Uint32Array(words, byteOffset, 20);
  const decoupled = hyper.decoupledWeightDecay;
  f[HYPER.lr] = hyper.lr;
  f[HYPER.alpha] = hyper.alpha;
  f[HYPER.beta] = 1 - hyper.alpha;
  f[HYPER.sign] = hyper.maximize ? -1 : 1;
  f[HYPER.wd] = decoupled ? 0 : hyper.weightDecay;
  f[HYPER.decay] = decoupled ? hyper.lr * hyper.weightDecay : 0;
  f[HYPER.momentum] = hyper.momentum;
  f[HYPER.correction] = hyper.biasCorrection ? 1 - hyper.alpha ** t : 1;
  f[HYPER.epsIn] = hyper.epsInSqrt ? hyper.eps : 0;
  f[HYPER.epsOut] = hyper.epsInSqrt ? 0 : hyper.eps;
  f[HYPER.lrIn] = hyper.lrInMomentum ? hyper.lr : 1;
  f[HYPER.lrOut] = hyper.lrInMomentum ? 1 : hyper.lr;
  u[HYPER.flags] =
    (hyper.centered ? FLAGS.centered : 0) |
    (hyper.momentum > 0 ? FLAGS.momentum : 0) |
    (hyper.nesterov ? FLAGS.nesterov : 0) |
    (hyper.biasCorrection ? FLAGS.biasCorrection : 0) |
    (decoupled ? FLAGS.decoupled : 0) |
    (skip ? FLAGS.skip : 0);
  u[HYPER.param] = at.param;
  u[HYPER.grad] = at.grad;
  u[HYPER.state] = at.state;
  u[HYPER.first] = at.first;
  u[HYPER.count] = at.count;
  u[HYPER.xCount] = at.xCount;
  u[HYPER.slot] = at.slot ?? 0;
}

/**
 * The kernel's WGSL source. `shared` reads the gradient from the parameter's own binding (a
 * buffer holding both cannot be bound twice when one binding writes it).
 *
 * @example
 * ```ts
 * const module = device.createShaderModule({ code: rmspropWGSL(false) });
 * const update = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'update' } });
 * ```
 */
export function rmspropWGSL(shared: boolean): string {
  const grad = shared ? 'param' : 'grad';
  return /* wgsl */ `
struct Hyper {
  lr: f32, alpha: f32, beta: f32, sign: f32,
  wd: f32, decay: f32, momentum: f32, correction: f32,
  epsIn: f32, epsOut: f32, lrIn: f32, lrOut: f32,
  flags: u32, param: u32, grad: u32, state: u32,
  first: u32, count: u32, xCount: u32, slot: u32,
}

@group(0) @binding(0) var<storage, read_write> param: array<f32>;
${shared ? '' : '@group(0) @binding(1) var<storage, read> grad: array<f32>;'}
@group(0) @binding(2) var<storage, read_write> sq: array<f32>;
@group(0) @binding(3) var<storage, read_write> ga: array<f32>;
@group(0) @binding(4) var<storage, read_write> mb: array<f32>;
@group(0) @binding(5) var<uniform> h: Hyper;
@group(0) @binding(6) var<storage, read_write> status: array<atomic<u32>>;

const CENTERED = 1u;
const MOMENTUM = 2u;
const NESTEROV = 4u;
const BIASED = 8u;
const DECOUPLED = 16u;
const SKIP = 32u;
const MAX = 0x1.fffffep+127f; // the largest finite float32: m * m is capped at it (as the TS kernel caps at float64's)

fn element(wg: vec3u, local: u32) -> u32 {
  return (wg.y * h.xCount + wg.x) * 256u + local;
}

// Any NaN or infinite gradient element: status[0] = 1.
@compute @workgroup_size(256)
fn scan(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) local: u32) {
  let k = element(wg, local);
  if (k >= h.count) { return; }
  let g = ${grad}[h.grad + h.first + k];
  // Exponent all ones: Infinity or NaN (a comparison could be folded away under fast math).
  if ((bitcast<u32>(g) & 0x7f800000u) == 0x7f800000u) { atomicStore(&status[0], 1u); }
}

// After a step's updates, one invocation: a skipped step counted in status[1].
@compute @workgroup_size(1)
fn finish() {
  if (atomicLoad(&status[0]) != 0u) { atomicAdd(&status[1], 1u); }
}

@compute @workgroup_size(256)
fn update(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) local: u32) {
  let k = element(wg, local);
  if (k >= h.count) { return; }
  if ((h.flags & SKIP) != 0u && atomicLoad(&status[0]) != 0u) {
    if (h.first + k == 0u) { atomicAdd(&status[2u + h.slot], 1u); } // once per parameter, in its dispatch of element 0
    return;
  }
  let i = h.param + h.first + k;
  let j = h.state + h.first + k;
  var p = param[i];
  if ((h.flags & DECOUPLED) != 0u) { p = p - h.decay * p; }
  let g = h.sign * ${grad}[h.grad + h.first + k] + h.wd * p;
  let v = h.alpha * sq[j] + h.beta * g * g;
  sq[j] = v;
  let biased = (h.flags & BIASED) != 0u;
  var s = v;
  if (biased) { s = v / h.correction; }
  if ((h.flags & CENTERED) != 0u) {
    let m = h.alpha * ga[j] + h.beta * g;
    ga[j] = m;
    var mc = m;
    if (biased) { mc = m / h.correction; }
    s = s - min(mc * mc, MAX);
    if (s + h.epsIn <= 0.0) { s = 0.0; }
  }
  let d = sqrt(s + h.epsIn) + h.epsOut;
  if ((h.flags & MOMENTUM) != 0u) {
    let u = g / d;
    let b = h.momentum * mb[j] + h.lrIn * u;
    mb[j] = b;
    var step = b;
    if ((h.flags & NESTEROV) != 0u) { step = h.lrIn * u + h.momentum * b; }
    param[i] = p - h.lrOut * step;
  } else {
    param[i] = p - (h.lr * g) / d;
  }
}
`;
}
