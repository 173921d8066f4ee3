/**
 * Baseline optimizers for the convergence study: PyTorch's `torch.optim.SGD` and
 * `torch.optim.Adam` (torch 1.13, single-tensor implementation, coupled weight decay) on the same
 * `{ data, grad }` parameters as RMSProp.
 *
 * This file has no imports and no dependencies. Update rules, per element, in PyTorch's order:
 *
 *   SGD:   g = maximize ? -grad : grad ;  g = g + weightDecay * p
 *          momentum > 0:  b = first step ? g : momentum * b + (1 - dampening) * g
 *                         g = nesterov ? g + momentum * b : b
 *          p = p - lr * g
 *
 *   Adam:  g = maximize ? -grad : grad ;  g = g + weightDecay * p ;  t = t + 1
 *          m = beta1 * m + (1 - beta1) * g
 *          v = beta2 * v + (1 - beta2) * g * g
 *          amsgrad:  vMax = max(vMax, v), used below in place of v
 *          p = p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 *
 * `maximize` negates the raw gradient before weight decay is added, as torch 1.13's code does (its
 * SGD docstring shows the opposite order), so weight decay still pulls towards zero. SGD's first
 * momentum step copies the gradient into the buffer without dampening. Adam counts steps per
 * parameter: a parameter whose `grad` is `null` is skipped, and its step count, like all its
 * state, is left as it was.
 *
 * Arithmetic is done in float64 (JavaScript numbers) and rounded once when stored, as in the
 * RMSProp kernel, so a `Float32Array` run agrees with PyTorch's float32 run to float32 rounding
 * (test/baselines.test.ts replays test/fixtures/torch-baselines.json).
 *
 * References: I. Sutskever, J. Martens, G. Dahl, G. Hinton, "On the importance of initialization
 * and momentum in deep learning", ICML 2013 (Nesterov momentum); D. P. Kingma, J. Ba, "Adam: A
 * Method for Stochastic Optimization", arXiv:1412.6980; S. J. Reddi, S. Kale, S. Kumar, "On the
 * Convergence of Adam and Beyond", ICLR 2018 (amsgrad).
 *
 * @module
 */

/**
 * A parameter: its values and the gradient of the objective with respect to them, or `null` when
 * it has none this step (the parameter is then skipped, as PyTorch skips `grad is None`).
 *
 * @example
 * ```ts
 * const w: Param = { data: new Float32Array(10), grad: new Float32Array(10) };
 * ```
 */
export interface Param {
  readonly data: Float32Array | Float64Array;
  readonly grad: Float32Array | Float64Array | null;
}

/**
 * Options of {@link SGD}, as `torch.optim.SGD` takes them.
 *
 * @example
 * ```ts
 * const options: SGDOptions = { lr: 0.1, momentum: 0.9, nesterov: true };
 * ```
 */
export interface SGDOptions {
  /** Learning rate, finite and `>= 0`. Required, as in PyTorch. */
  lr: number;
  /** Momentum factor, finite and `>= 0`; `0` keeps no buffer. @defaultValue `0` */
  momentum?: number;
  /** Dampening of the gradient added to the momentum buffer after the first step, finite. @defaultValue `0` */
  dampening?: number;
  /** Nesterov momentum; requires `momentum > 0` and `dampening` 0. @defaultValue `false` */
  nesterov?: boolean;
  /** Coupled L2 penalty: `weightDecay * p` is added to the gradient, finite and `>= 0`. @defaultValue `0` */
  weightDecay?: number;
  /** Ascend the objective instead of descending it. @defaultValue `false` */
  maximize?: boolean;
}

/**
 * Options of {@link Adam}, as `torch.optim.Adam` takes them (`betas` split in two).
 *
 * @example
 * ```ts
 * const options: AdamOptions = { lr: 3e-4, beta2: 0.99, amsgrad: true };
 * ```
 */
export interface AdamOptions {
  /** Learning rate, finite and `>= 0`. @defaultValue `0.001` */
  lr?: number;
  /** Decay of the gradient average, `0 <= beta1 < 1`. @defaultValue `0.9` */
  beta1?: number;
  /** Decay of the squared-gradient average, `0 <= beta2 < 1`. @defaultValue `0.999` */
  beta2?: number;
  /** Added to the denominator after the square root and bias correction, finite and `>= 0`. @defaultValue `1e-8` */
  eps?: number;
  /** Coupled L2 penalty (not AdamW's decoupled decay), finite and `>= 0`. @defaultValue `0` */
  weightDecay?: number;
  /** Normalise by the largest squared-gradient average so far (AMSGrad). @defaultValue `false` */
  amsgrad?: boolean;
  /** Ascend the objective instead of descending it. @defaultValue `false` */
  maximize?: boolean;
}

type FloatArray = Float32Array | Float64Array;

function zerosLike(a: FloatArray): FloatArray {
  return a instanceof Float32Array ? new Float32Array(a.length) : new Float64Array(a.length);
}

function finite(name: string, key: string, value: unknown, min: number, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !(value >= min))
    throw new RangeError(`${name}: invalid ${key}: expected ${what}, got ${String(value)}`);
  return value;
}

function beta(name: string, key: string, value: unknown): number {
  if (typeof value !== 'number' || !(value >= 0 && value < 1))
    throw new RangeError(`${name}: invalid ${key}: expected a number >= 0 and < 1, got ${String(value)}`);
  return value;
}

function flag(name: string, key: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${name}: invalid ${key}: expected true or false, got ${String(value)}`);
  return value;
}

function checkParams(name: string, params: readonly Param[]): void {
  if (!Array.isArray(params) || params.length === 0)
    throw new RangeError(`${name}: expected a non-empty array of parameters, got ${Array.isArray(params) ? 'an empty array' : String(params)}`);
  params.forEach((p, i) => {
    if (!(p.data instanceof Float32Array || p.data instanceof Float64Array))
      throw new TypeError(`${name}: param ${i}: data must be a Float32Array or Float64Array`);
    const first = params.indexOf(p);
    if (first !== i) throw new RangeError(`${name}: param ${i} is the same object as param ${first}; pass each parameter once`);
  });
}

/** Throws, before anything is updated, when a gradient's length differs from its data's. */
function checkGrads(name: string, params: readonly Param[]): void {
  for (let i = 0; i < params.length; i++) {
    const p = params[i]!, g = p.grad;
    if (g !== null && g.length !== p.data.length)
      throw new RangeError(`${name}.step: grad length ${g.length} does not match data length ${p.data.length} (param ${i})`);
  }
}

function checkLr(name: string, lr: number): void {
  if (!(lr >= 0) || lr === Infinity) throw new RangeError(`${name}.step: invalid lr: expected a finite number >= 0, got ${lr}`);
}

/**
 * Stochastic gradient descent with optional (Nesterov) momentum: `torch.optim.SGD`.
 *
 * The momentum buffer of a parameter is created on its first step with a gradient, as a copy of
 * the (maximize-negated, weight-decayed) gradient; dampening applies from the second step on.
 *
 * @example
 * ```ts
 * const w = { data: Float32Array.of(1, 2), grad: new Float32Array(2) };
 * const opt = new SGD([w], { lr: 0.1, momentum: 0.9 });
 * w.grad.set([0.5, -0.5]);
 * opt.step(); // the buffer is the gradient itself: w.data ≈ [0.95, 2.05]
 * ```
 */
export class SGD {
  /** Learning rate, read at every step; may be changed between steps. */
  lr: number;
  readonly #params: readonly Param[];
  readonly #momentum: number;
  readonly #dampening: number;
  readonly #nesterov: boolean;
  readonly #weightDecay: number;
  readonly #sign: number;
  readonly #buffers: (FloatArray | null)[];

  /** Checks the options (throwing `RangeError` or `TypeError` naming the option and value). */
  constructor(params: readonly Param[], options: SGDOptions) {
    checkParams('SGD', params);
    const o: Partial<SGDOptions> = options ?? {};
    this.lr = finite('SGD', 'lr', o.lr, 0, 'a finite number >= 0');
    this.#momentum = finite('SGD', 'momentum', o.momentum ?? 0, 0, 'a finite number >= 0');
    this.#dampening = finite('SGD', 'dampening', o.dampening ?? 0, -Infinity, 'a finite number');
    this.#nesterov = flag('SGD', 'nesterov', o.nesterov ?? false);
    this.#weightDecay = finite('SGD', 'weightDecay', o.weightDecay ?? 0, 0, 'a finite number >= 0');
    this.#sign = flag('SGD', 'maximize', o.maximize ?? false) ? -1 : 1;
    if (this.#nesterov && (this.#momentum <= 0 || this.#dampening !== 0))
      throw new RangeError(
        `SGD: invalid nesterov: requires momentum > 0 and dampening 0, got momentum ${this.#momentum} and dampening ${this.#dampening}`,
      );
    this.#params = params.slice();
    this.#buffers = params.map(() => null);
  }

  /** One update of every parameter whose `grad` is not `null`. */
  step(): void {
    const lr = this.lr;
    checkLr('SGD', lr);
    const mu = this.#momentum, wd = this.#weightDecay, sign = this.#sign;
    const params = this.#params;
    checkGrads('SGD', params);
    for (let k = 0; k < params.length; k++) {
      const p = params[k]!, grad = p.grad;
      if (grad === null) continue;
      const data = p.data, n = data.length;
      if (mu === 0) {
        for (let i = 0; i < n; i++) {
          const x = data[i]!;
          data[i] = x - lr * (sign * grad[i]! + wd * x);
        }
        continue;
      }
      const old = this.#buffers[k];
      const buf = old ?? (this.#buffers[k] = zerosLike(data));
      // First step: b = 0 * 0 + 1 * g, exactly a copy of g (no dampening), as torch.clone.
      const keep = old ? mu : 0, add = old ? 1 - this.#dampening : 1;
      if (this.#nesterov) {
        for (let i = 0; i < n; i++) {
          const x = data[i]!;
          const g = sign * grad[i]! + wd * x;
          const b = keep * buf[i]! + add * g;
          buf[i] = b;
          data[i] = x - lr * (g + mu * b);
        }
      } else {
        for (let i = 0; i < n; i++) {
          const x = data[i]!;
          const b = keep * buf[i]! + add * (sign * grad[i]! + wd * x);
          buf[i] = b;
          data[i] = x - lr * b;
        }
      }
    }
  }

  /** Sets every gradient to zero in place (torch 1.13's `zero_grad()`, `set_to_none=False`). */
  zeroGrad(): void {
    for (const p of this.#params) p.grad?.fill(0);
  }
}

/**
 * Adam with coupled (L2) weight decay and optional AMSGrad: `torch.optim.Adam`.
 *
 * State per parameter, created on its first step with a gradient: the step count and the two
 * averages (and the running maximum with `amsgrad`), in the parameter's own array type.
 *
 * @example
 * ```ts
 * const w = { data: Float32Array.of(1, 2), grad: Float32Array.of(0.5, -0.5) };
 * const opt = new Adam([w], { lr: 0.01 });
 * opt.step(); // the first step moves each element by ≈ lr against its gradient: ≈ [0.99, 2.01]
 * ```
 */
export class Adam {
  /** Learning rate, read at every step; may be changed between steps. */
  lr: number;
  readonly #params: readonly Param[];
  readonly #beta1: number;
  readonly #beta2: number;
  readonly #eps: number;
  readonly #weightDecay: number;
  readonly #amsgrad: boolean;
  readonly #sign: number;
  readonly #steps: Float64Array;
  readonly #expAvg: (FloatArray | null)[];
  readonly #expAvgSq: (FloatArray | null)[];
  readonly #maxExpAvgSq: (FloatArray | null)[];

  /** Checks the options (throwing `RangeError` or `TypeError` naming the option and value). */
  constructor(params: readonly Param[], options: AdamOptions = {}) {
    checkParams('Adam', params);
    const o: AdamOptions = options ?? {};
    this.lr = finite('Adam', 'lr', o.lr ?? 1e-3, 0, 'a finite number >= 0');
    this.#beta1 = beta('Adam', 'beta1', o.beta1 ?? 0.9);
    this.#beta2 = beta('Adam', 'beta2', o.beta2 ?? 0.999);
    this.#eps = finite('Adam', 'eps', o.eps ?? 1e-8, 0, 'a finite number >= 0');
    this.#weightDecay = finite('Adam', 'weightDecay', o.weightDecay ?? 0, 0, 'a finite number >= 0');
    this.#amsgrad = flag('Adam', 'amsgrad', o.amsgrad ?? false);
    this.#sign = flag('Adam', 'maximize', o.maximize ?? false) ? -1 : 1;
    this.#params = params.slice();
    this.#steps = new Float64Array(params.length);
    this.#expAvg = params.map(() => null);
    this.#expAvgSq = params.map(() => null);
    this.#maxExpAvgSq = params.map(() => null);
  }

  /** One update of every parameter whose `grad` is not `null`. */
  step(): void {
    const lr = this.lr;
    checkLr('Adam', lr);
    const b1 = this.#beta1, b2 = this.#beta2, c1 = 1 - b1, c2 = 1 - b2;
    const eps = this.#eps, wd = this.#weightDecay, sign = this.#sign;
    const params = this.#params;
    checkGrads('Adam', params);
    for (let k = 0; k < params.length; k++) {
      const p = params[k]!, grad = p.grad;
      if (grad === null) continue;
      const data = p.data, n = data.length;
      let m = this.#expAvg[k], v = this.#expAvgSq[k];
      if (!m || !v) {
        m = this.#expAvg[k] = zerosLike(data);
        v = this.#expAvgSq[k] = zerosLike(data);
        if (this.#amsgrad) this.#maxExpAvgSq[k] = zerosLike(data);
      }
      const t = ++this.#steps[k]!;
      // torch: step_size = lr / bc1 ; denom = sqrt(v) / sqrt(bc2) + eps ; p += -step_size * m / denom
      const stepSize = lr / (1 - b1 ** t);
      const bc2Sqrt = Math.sqrt(1 - b2 ** t);
      const vMax = this.#maxExpAvgSq[k];
      if (vMax) {
        for (let i = 0; i < n; i++) {
          const x = data[i]!;
          const g = sign * grad[i]! + wd * x;
          const mi = b1 * m[i]! + c1 * g;
          const vi = b2 * v[i]! + c2 * g * g;
          const wi = Math.max(vMax[i]!, vi);
          m[i] = mi;
          v[i] = vi;
          vMax[i] = wi;
          data[i] = x - stepSize * (mi / (Math.sqrt(wi) / bc2Sqrt + eps));
        }
      } else {
        for (let i = 0; i < n; i++) {
          const x = data[i]!;
          const g = sign * grad[i]! + wd * x;
          const mi = b1 * m[i]! + c1 * g;
          const vi = b2 * v[i]! + c2 * g * g;
          m[i] = mi;
          v[i] = vi;
          data[i] = x - stepSize * (mi / (Math.sqrt(vi) / bc2Sqrt + eps));
        }
      }
    }
  }

  /** Sets every gradient to zero in place (torch 1.13's `zero_grad()`, `set_to_none=False`). */
  zeroGrad(): void {
    for (const p of this.#params) p.grad?.fill(0);
  }
}
