// Gradient accumulation as a wrapper around the optimizer, after optax.MultiSteps: k calls,
// one update with their mean. The class knows nothing of it: this steps it with explicit
// gradients (`step(grads)`).
import { at, checkBoolean, checkFloatArray, checkKeys, checkNumber, count, invalid, readError, typeName, wholeAtLeast1 } from './checks.js';
import { allFinite, firstNonFinite } from './finite.js';
import { formatValue } from './format.js';
import { RMSProp } from './optimizer.js';
import { isFrozen } from './options.js';
import { locate } from './param-groups.js';
import type { ParamRef } from './param-groups.js';
import type { FloatArray } from './rmsprop-step.js';

/**
 * Options of {@link MultiSteps}.
 *
 * @example
 * ```ts
 * const options: MultiStepsOptions = { useGradMean: true, beforeStep: (grads) => void clipGradNorm(grads, 1) };
 * ```
 */
export interface MultiStepsOptions {
  /** Update with the mean of the window's gradients (Optax's default), or with their sum. @defaultValue `true` */
  readonly useGradMean?: boolean;
  /**
   * Called on the last call of each window with the gradients the update will use (the mean,
   * or sum, per parameter that had any), before the update: clip them here (`clipGradNorm`
   * takes the array as it is). If it throws, the call changes nothing.
   */
  readonly beforeStep?: (grads: readonly { readonly param: ParamRef; readonly grad: FloatArray }[]) => void;
}

/**
 * What {@link MultiSteps.stateDict} gives: the window so far. Typed arrays, structured-clone
 * safe; `stateToJSON` encodes it.
 *
 * @example
 * ```ts
 * const saved: MultiStepsStateDict = accumulator.stateDict();
 * saved.count; // calls accumulated in the current window
 * ```
 */
export interface MultiStepsStateDict {
  readonly format: 'rmsprop-multi-steps';
  readonly version: number;
  readonly k: number;
  readonly useGradMean: boolean;
  /** Calls accumulated in the current window, `0 <= count < k`. */
  readonly count: number;
  readonly skippedSteps: number;
  /** Per parameter that had a gradient in the window: the running mean (or sum), in float64. */
  readonly params: readonly { readonly group: number; readonly index: number; readonly name: string | null; readonly acc: Float64Array }[];
}

interface Acc {
  readonly param: ParamRef;
  /** The parameter's element count and type. */
  readonly length: number;
  readonly f64: boolean;
  /**
   * The window's running mean (or sum), in float64: float32 gradients cannot overflow it.
   * Allocated with `out` when the parameter first has a gradient: a table that only ever gets
   * sparse updates (`grad: null`) costs nothing here.
   */
  acc: Float64Array | null;
  /** What the update uses on the window's last call, in the parameter's element type. */
  out: FloatArray | null;
  /** Whether any call of the window gave this parameter a gradient. */
  touched: boolean;
  /** This call's gradient, read once; `null` for none (or a frozen group). */
  grad: FloatArray | null;
  group: number;
  index: number;
}

const FORMAT = 'rmsprop-multi-steps';

/**
 * Gradient accumulation (Optax's `MultiSteps`; Keras's `gradient_accumulation_steps`): each call
 * of {@link MultiSteps.step} adds the parameters' gradients to a running mean, and every `k`-th
 * call steps the optimizer once with it (then starts a new window). Calls before the last
 * change no parameter and no optimizer state. A parameter without a gradient on a call (`null`,
 * or its group frozen) adds zero to that call; one without any in the window is not updated.
 * The mean is kept in float64 (Optax's update `acc + (g - acc) / (n + 1)`), so summing large
 * float32 gradients cannot overflow.
 *
 * Each call checks this call's gradients as `step()` would (types, lengths, and the optimizer's
 * `nonFinite` policy: a skipped call adds nothing and is counted in `skippedSteps`) before it
 * adds anything. The window's last call runs the optimizer's `step()` with the mean gradients,
 * with everything that checks at that moment (a group frozen then is not updated). Finite
 * gradients whose mean (or sum) is beyond the parameter's float range cannot be applied: that
 * last call throws under `'throw'`, and under `'skip'` drops the whole window (the sum of all of
 * it is what cannot be represented), counted as one skipped step.
 *
 * The mean gradients are buffers of its own, not the arena's: with `arena`, the updates it makes
 * run on the TS kernel.
 *
 * @example
 * ```ts
 * import { MultiSteps, RMSProp } from 'rmsprop';
 *
 * const opt = new RMSProp(model.params, { lr: 1e-3 });
 * const accumulator = new MultiSteps(opt, 8); // 8 micro-batches per update
 * for (const batch of microBatches) {
 *   opt.zeroGrad();
 *   backward(loss(batch));
 *   if (accumulator.step()) console.log('updated');
 * }
 * ```
 */
export class MultiSteps {
  readonly #optimizer: RMSProp;
  readonly #k: number;
  readonly #mean: boolean;
  #busy = false;
  readonly #beforeStep: MultiStepsOptions['beforeStep'] | undefined;
  readonly #accs = new Map<ParamRef, Acc>();
  readonly #grads = new Map<ParamRef, FloatArray | null>();
  #count = 0;
  #skipped = 0;

  /**
   * @param optimizer - The optimizer to step once per window.
   * @param k - Calls per update, a whole number `>= 1`.
   * @param options - See {@link MultiStepsOptions}.
   * @throws TypeError or RangeError for an invalid argument.
   *
   * @example
   * ```ts
   * const accumulator = new MultiSteps(opt, 4, { beforeStep: (grads) => void clipGradNorm(grads, 1.0) });
   * ```
   */
  constructor(optimizer: RMSProp, k: number, options: MultiStepsOptions = {}) {
    if (!(optimizer instanceof RMSProp)) throw new TypeError(invalid('MultiSteps', 'optimizer', 'an RMSProp', optimizer));
    checkKeys(options, 'MultiSteps', ['useGradMean', 'beforeStep']);
    this.#k = checkNumber(k, wholeAtLeast1, 'MultiSteps', 'k');
    this.#mean = checkBoolean(options.useGradMean ?? true, 'MultiSteps', 'useGradMean');
    const beforeStep: unknown = options.beforeStep;
    if (beforeStep !== undefined && typeof beforeStep !== 'function') {
      throw new TypeError(`MultiSteps: invalid beforeStep: expected a function, got ${formatValue(beforeStep)}`);
    }
    this.#optimizer = optimizer;
    this.#beforeStep = options.beforeStep;
  }

  /**
   * The optimizer it steps.
   *
   * @example
   * ```ts
   * accumulator.optimizer.paramGroups[0]!.lr = 1e-4;
   * ```
   */
  get optimizer(): RMSProp {
    return this.#optimizer;
  }

  /**
   * Calls per update.
   *
   * @example
   * ```ts
   * const samplesPerUpdate = accumulator.k * microBatchSize;
   * ```
   */
  get k(): number {
    return this.#k;
  }

  /**
   * Whether the update uses the window's mean (else its sum).
   *
   * @example
   * ```ts
   * new MultiSteps(opt, 4, { useGradMean: false }).useGradMean; // false
   * ```
   */
  get useGradMean(): boolean {
    return this.#mean;
  }

  /**
   * Calls accumulated in the current window, from 0 to `k - 1`.
   *
   * @example
   * ```ts
   * if (accumulator.count === 0) console.log('a window starts');
   * ```
   */
  get count(): number {
    return this.#count;
  }

  /**
   * Calls skipped for a non-finite gradient (the optimizer's `nonFinite: 'skip'`).
   *
   * @example
   * ```ts
   * accumulator.step();
   * console.log(accumulator.skippedSteps);
   * ```
   */
  get skippedSteps(): number {
    return this.#skipped;
  }

  /**
   * Adds this call's gradients to the window; on the window's `k`-th call, steps the optimizer
   * with their mean (or sum) and starts a new window.
   *
   * @returns On the window's last call, what the optimizer's `step()` returned (`true` unless it
   *   skipped the update for a non-finite gradient, even when every group was frozen); `false` on
   *   the calls before and on a call skipped for a non-finite gradient.
   * @throws As `RMSProp.step`, naming the group and parameter; nothing is added then.
   *
   * @example
   * ```ts
   * backward(loss);
   * accumulator.step();
   * ```
   */
  step(): boolean {
    if (this.#busy) throw new Error('MultiSteps.step: called from beforeStep, a schedule or a getter while a step is under way');
    this.#busy = true;
    try {
      return this.#step();
    } finally {
      this.#busy = false;
    }
  }

  #step(): boolean {
    const P = 'MultiSteps.step';
    const opt = this.#optimizer;
    const groups = opt.paramGroups;
    for (let gi = 0; gi < groups.length; gi++) {
      const group = groups[gi]!;
      const frozen = isFrozen(group, P, gi);
      const params = group.params;
      for (let i = 0; i < params.length; i++) {
        const a = this.#acc(params[i]!, gi, i);
        let grad: unknown = null;
        try {
          if (!frozen) grad = a.param.grad;
        } catch (error) {
          throw readError(error, P, 'its grad', at(gi, i));
        }
        const g = checkFloatArray(grad, P, 'grad', at(gi, i), true);
        a.grad = g;
        if (g === null) continue;
        if (g instanceof Float64Array !== a.f64) {
          throw new TypeError(`${P}: grad is a ${typeName(g)} but the parameter's state a ${a.f64 ? 'Float64Array' : 'Float32Array'} ${at(gi, i)}`);
        }
        if (g.length !== a.length) {
          throw new RangeError(`${P}: grad length ${g.length} does not match the parameter's length ${a.length} ${at(gi, i)}`);
        }
      }
    }
    if (opt.nonFinite !== 'apply') {
      for (const a of this.#accs.values()) {
        if (a.grad === null || allFinite(a.grad)) continue;
        if (opt.nonFinite === 'skip') return (this.#skipped++, false);
        const k = firstNonFinite(a.grad);
        throw new RangeError(`${P}: grad holds ${formatValue(a.grad[k])} at element ${k} ${at(a.group, a.index)}; nothing was added`);
      }
    }
    const n = this.#count;
    for (const a of this.#accs.values()) if (a.grad !== null) buffers(a);
    if (n + 1 < this.#k) {
      for (const a of this.#accs.values()) {
        if (a.grad === null && !a.touched) continue;
        this.#add(a, a.acc!, n);
        a.touched = true;
      }
      this.#count = n + 1;
      return false;
    }
    // The window's last call: the update's gradients go to `out`, and the window stays as it was
    // until the optimizer has taken them, so a throw here changes nothing.
    for (const a of this.#accs.values()) {
      const out = a.grad !== null || a.touched ? a.out! : null;
      if (out !== null) this.#add(a, out, n);
      this.#grads.set(a.param, out);
      // Finite gradients whose float64 mean (or sum) is beyond the parameter's type: say so.
      if (out !== null && opt.nonFinite !== 'apply' && !allFinite(out)) {
        if (opt.nonFinite === 'skip') return (this.#skipped++, this.reset(), false);
        const what = this.#mean ? 'mean' : 'sum';
        throw new RangeError(
          out.some(Number.isNaN)
            ? `${P}: the window's ${what} for ${at(a.group, a.index)} holds NaN, from a gradient added under nonFinite 'apply'; nothing was updated (reset() drops the window)`
            : `${P}: the window's ${what} for ${at(a.group, a.index)} is beyond the ${a.f64 ? 'float64' : 'float32'} range; nothing was updated`,
        );
      }
    }
    const beforeStep = this.#beforeStep;
    if (beforeStep !== undefined) {
      const used: { param: ParamRef; grad: FloatArray }[] = [];
      for (const [param, grad] of this.#grads) if (grad !== null) used.push({ param, grad });
      beforeStep(used);
    }
    const stepped = opt.step(this.#grads);
    this.reset();
    return stepped;
  }

  /**
   * Drops the window: the gradients accumulated so far are forgotten and the next call starts
   * a new one.
   *
   * @example
   * ```ts
   * accumulator.reset(); // e.g. at the end of an epoch
   * ```
   */
  reset(): void {
    for (const a of this.#accs.values()) {
      a.acc?.fill(0);
      a.touched = false;
    }
    this.#count = 0;
  }

  /**
   * The window so far, as typed-array copies: `k`, the mode, the calls accumulated and, per
   * parameter with a gradient in the window, its running mean. Structured-clone safe.
   *
   * @example
   * ```ts
   * const checkpoint = { optimizer: opt.stateDict(), accumulator: accumulator.stateDict() };
   * ```
   */
  stateDict(): MultiStepsStateDict {
    const params = [...this.#accs.values()]
      .filter((a) => a.touched)
      .map((a) => ({ group: a.group, index: a.index, name: a.param.name ?? null, acc: a.acc!.slice() }));
    return { format: FORMAT, version: 1, k: this.#k, useGradMean: this.#mean, count: this.#count, skippedSteps: this.#skipped, params };
  }

  /**
   * Restores a window saved by {@link MultiSteps.stateDict}, checked completely before anything
   * is written: the same `k` and mode, and each saved parameter registered with the optimizer
   * (by name when it has one, else by group and position) with a buffer of its length.
   *
   * @throws Error saying what does not match; the window is then as it was.
   *
   * @example
   * ```ts
   * accumulator.loadStateDict(checkpoint.accumulator);
   * ```
   */
  loadStateDict(saved: MultiStepsStateDict): void {
    const P = 'MultiSteps.loadStateDict';
    const bad = (path: string, allowed: string, value: unknown): never => {
      throw new Error(invalid(P, path, allowed, value));
    };
    const s = (typeof saved === 'object' && saved !== null ? saved : bad('state', 'a state from MultiSteps.stateDict()', saved)) as Partial<Record<keyof MultiStepsStateDict, unknown>>;
    if (s.format !== FORMAT) bad('format', `"${FORMAT}"`, s.format);
    if (s.version !== 1) bad('version', '1', s.version);
    if (s.k !== this.#k) bad('k', `${this.#k}, this accumulator's`, s.k);
    if (s.useGradMean !== this.#mean) bad('useGradMean', `${this.#mean}, this accumulator's`, s.useGradMean);
    const calls = checkNumber(s.count, count, P, 'count');
    if (calls >= this.#k) bad('count', `a whole number below k (${this.#k})`, calls);
    const skipped = checkNumber(s.skippedSteps, count, P, 'skippedSteps');
    const params = Array.isArray(s.params) ? (s.params as unknown[]) : bad('params', 'an array', s.params);
    if (calls === 0 && params.length > 0) bad('params', 'no entries when count is 0 (an empty window holds nothing)', params);
    const found = new Map<Acc, Float64Array>();
    params.forEach((e, k) => {
      const { param, group, index } = locate(this.#optimizer.paramGroups, e, P, `params[${k}]`);
      const a = this.#acc(param, group, index);
      const acc: unknown = (e as { readonly acc?: unknown }).acc;
      if (!(acc instanceof Float64Array && acc.length === a.length)) bad(`params[${k}].acc`, `a Float64Array of length ${a.length}`, acc);
      if (found.has(a)) bad(`params[${k}]`, 'each parameter once', param.name ?? `${group}, ${index}`);
      found.set(a, acc as Float64Array);
    });
    // A getter read after an entry was checked may have detached its buffer: look again, before
    // anything is written (no user code runs from here on).
    for (const [a, acc] of found) if (acc.length !== a.length) throw new Error(`${P}: a saved buffer of ${at(a.group, a.index)} was detached after it was checked; the window is as it was`);
    this.reset();
    for (const [a, acc] of found) {
      buffers(a).set(acc);
      a.touched = true;
    }
    this.#count = calls;
    this.#skipped = skipped;
  }

  /** acc + (g - acc) / (n + 1) (or acc + g) into `into`; a missing gradient adds zero. */
  #add(a: Acc, into: FloatArray, n: number): void {
    const acc = a.acc!;
    const g = a.grad;
    if (this.#mean) {
      const w = n + 1;
      if (g === null) for (let i = 0; i < acc.length; i++) into[i] = acc[i]! - acc[i]! / w;
      else for (let i = 0; i < acc.length; i++) into[i] = acc[i]! + (g[i]! - acc[i]!) / w;
    } else if (g === null) {
      if (into !== acc) into.set(acc);
    } else {
      for (let i = 0; i < acc.length; i++) into[i] = acc[i]! + g[i]!;
    }
  }

  /** The record of a parameter, made the first time it is seen (its buffers when it first has a gradient: {@link buffers}). */
  #acc(param: ParamRef, group: number, index: number): Acc {
    let a = this.#accs.get(param);
    if (a === undefined) {
      const square = this.#optimizer.getState(param)!.squareAvg;
      a = { param, length: square.length, f64: square instanceof Float64Array, acc: null, out: null, touched: false, grad: null, group, index };
      this.#accs.set(param, a);
    }
    a.group = group;
    a.index = index;
    return a;
  }
}

/** A record's buffers, allocated (zeroed) the first time they are needed; returns `acc`. */
function buffers(a: Acc): Float64Array {
  a.out ??= a.f64 ? new Float64Array(a.length) : new Float32Array(a.length);
  return (a.acc ??= new Float64Array(a.length));
}
