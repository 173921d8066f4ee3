import { arenaKernel, isArena } from './arena.js';
import type { Arena, SimdKernel } from './arena.js';
import { clipGradients } from './clipping.js';
import { checkBuffers, checkClip, checkData, checkPolicy } from './checks.js';
import { describe } from './describe.js';
import { allFinite, firstNonFinite } from './finite.js';
import { OPTIMIZER_OPTIONS, checkFrozen, checkHyper, checkOptions, resolveOptions } from './options.js';
import type { GroupHyper, RMSPropOptions } from './options.js';
import { at, buildGroups, isFloatArray, toGroupSpecs } from './param-groups.js';
import type { ParamGroup, ParamGroupSpec, ParamRef } from './param-groups.js';
import { createState, rmspropDefaults, rmspropStep, zerosLike } from './rmsprop-step.js';
import { simdStep } from './simd-step.js';
import { applySparse, planSparse } from './sparse.js';
import type { SparseRows } from './sparse.js';
import { planLoad, saveState } from './state-dict.js';
import type { RMSPropStateDict } from './state-dict.js';
import type { FloatArray, RMSPropHyper, RMSPropState } from './rmsprop-step.js';

/**
 * What `step()` does with a gradient that holds NaN or ±Infinity: `'throw'` an error naming the
 * group and parameter before anything is written, `'skip'` the whole step (counted in
 * `skippedSteps`), or `'apply'` it without looking, as PyTorch does (the fastest).
 *
 * @example
 * ```ts
 * const policy: NonFinitePolicy = 'skip'; // e.g. for mixed-precision loss scaling
 * const opt = new RMSProp(params, { nonFinite: policy });
 * ```
 */
export type NonFinitePolicy = 'throw' | 'skip' | 'apply';

/**
 * The constructor's options: every hyperparameter of {@link RMSPropOptions} (the defaults of
 * every group), and the optimizer-wide `nonFinite` policy.
 *
 * @example
 * ```ts
 * const options: OptimizerOptions = { ...presets.keras, lr: 0.01, nonFinite: 'skip' };
 * ```
 */
export interface OptimizerOptions extends RMSPropOptions {
  /** What to do with a non-finite gradient; see {@link NonFinitePolicy}. @defaultValue `'throw'` */
  readonly nonFinite?: NonFinitePolicy;
  /**
   * An arena from `createArena()`: the state of every float32 parameter whose `data` lives in
   * it is allocated there too, and every such parameter whose `grad` also lives there is
   * stepped by the WebAssembly SIMD kernel. Other parameters, and groups that combine
   * `centered` with `biasCorrection` (ill-conditioned in float32 on the first steps), are
   * stepped by the TS kernel.
   */
  readonly arena?: Arena;
  /**
   * Clamp every gradient element to `[-clipValue, clipValue]` before the update
   * (`torch.nn.utils.clip_grad_value_`), a finite number `> 0`. In place.
   */
  readonly clipValue?: number;
  /**
   * Scale each parameter's gradient down to an L2 norm of at most `clipNorm` before the update
   * (`torch.nn.utils.clip_grad_norm_` on that parameter alone), a finite number `> 0`. In place.
   */
  readonly clipNorm?: number;
  /**
   * Scale the gradients of all parameters stepped by a call together, down to a joint L2 norm of
   * at most `clipGlobalNorm` (`torch.nn.utils.clip_grad_norm_` over all of them, with its 1e-6 in
   * the denominator), a finite number `> 0`. In place.
   */
  readonly clipGlobalNorm?: number;
  /**
   * Gradient accumulation: `step()` adds each call's gradients into internal buffers and applies
   * one update, with their mean, on every `accumulate`-th call (Keras's
   * `gradient_accumulation_steps`, Optax's `MultiSteps`). A whole number `>= 1`. @defaultValue `1`
   */
  readonly accumulate?: number;
}

/** `T` with every field writable. */
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * RMSProp optimizer with PyTorch's semantics (`torch.optim.RMSprop`): owns the state of every
 * parameter and updates the parameters in place on `step()`.
 *
 * Parameters are any objects with `data` and `grad` typed arrays (`Float32Array` or
 * `Float64Array`), for example an autodiff engine's tensors. State is allocated when a parameter
 * is registered and kept per parameter object; after that, `step()` allocates nothing unless
 * `momentum` or `centered` is switched on later, which allocates the missing zeroed buffer.
 *
 * Every call checks its input before it writes: a call that throws has changed no parameter and
 * no state.
 *
 * @example
 * ```ts
 * import { RMSProp } from 'rmsprop';
 *
 * const w = { data: new Float32Array([0.5, -0.3]), grad: new Float32Array(2) };
 * const opt = new RMSProp([w], { lr: 0.01 });
 * for (let t = 0; t < 100; t++) {
 *   opt.zeroGrad();
 *   // loss = sum(w^2): the gradient is 2w
 *   for (let i = 0; i < w.data.length; i++) w.grad[i] = 2 * w.data[i]!;
 *   opt.step();
 * }
 * ```
 */
export class RMSProp {
  /** The optimizer's options resolved over PyTorch's defaults; groups fall back to these. */
  readonly defaults: Readonly<GroupHyper>;
  #groups: readonly ParamGroup[] = Object.freeze([]);
  /** Per group, the state of each parameter, aligned with `params`. */
  #states: (readonly RMSPropState[])[] = [];
  readonly #stateOf = new Map<ParamRef, RMSPropState>();
  /** Scratch: the gradients checked in a step, one slot per parameter, so each is read once. */
  #grads: (FloatArray | null)[] = [];
  /**
   * The data and grad objects each slot last passed `checkBuffers` with. Typed arrays keep
   * their type, offset and buffer for life, so the same pair with the same lengths needs no
   * second look: an engine that reuses its buffers pays two identity tests per parameter.
   */
  #checkedData: (FloatArray | null)[] = [];
  #checkedGrad: (FloatArray | null)[] = [];
  #nonFinite: NonFinitePolicy;
  #skipped = 0;
  /** Updates applied so far: the index `t` a learning-rate schedule is called with. */
  #updates = 0;
  /** Per group, the hyperparameters of the step under way, `lr` a number (what the kernel reads). */
  #hyper: RMSPropHyper[] = [];
  readonly #arena: Arena | null;
  readonly #kernel: SimdKernel | undefined;
  #clipValue: number | null;
  #clipNorm: number | null;
  #clipGlobalNorm: number | null;
  readonly #accumulate: number;
  /** With accumulation: per parameter slot, the sum of this window's gradients. */
  #sums: (FloatArray | null)[] = [];
  /** With accumulation: which slots received a gradient in this window. */
  #touched: boolean[] = [];
  /** With accumulation: calls accumulated in the current window. */
  #accumulated = 0;
  /** Where each parameter is registered: [group, index]. */
  readonly #slotOf = new Map<ParamRef, readonly [number, number]>();
  /** For parameters stepped by `sparseStep` in exact mode: the update each row is current as of. */
  readonly #rowsCurrent = new Map<ParamRef, Int32Array>();

  /**
   * @param params - The parameters, or parameter groups `{ params, ...options }`; not empty.
   * @param options - Options for every group that does not set its own (see {@link RMSPropOptions}),
   *   and the `nonFinite` policy.
   * @throws TypeError or RangeError for an invalid option (naming it, the value and what is
   *   allowed); Error for a parameter given twice, two parameters sharing memory or a name used
   *   twice; RangeError for an empty list or group.
   *
   * @example
   * ```ts
   * const opt = new RMSProp(
   *   [
   *     { params: [w1, w2] },
   *     { params: [bias], weightDecay: 0 },
   *   ],
   *   { lr: 1e-3, weightDecay: 1e-4, momentum: 0.9 },
   * );
   * ```
   */
  constructor(params: readonly ParamRef[] | readonly ParamGroupSpec[], options: OptimizerOptions = {}) {
    checkOptions(options, 'RMSProp', -1, OPTIMIZER_OPTIONS);
    const accumulate = options.accumulate ?? 1;
    if (typeof accumulate !== 'number' || !Number.isInteger(accumulate) || accumulate < 1) {
      throw new (typeof accumulate === 'number' ? RangeError : TypeError)(
        `RMSProp: invalid accumulate: expected a whole number >= 1, got ${describe(accumulate)}`,
      );
    }
    const nonFinite = checkPolicy(options.nonFinite ?? 'throw', 'RMSProp');
    const clip = [checkClip(options, 'clipValue'), checkClip(options, 'clipNorm'), checkClip(options, 'clipGlobalNorm')] as const;
    const arena = options.arena ?? null;
    if (arena !== null && !isArena(arena)) {
      throw new TypeError(`RMSProp: invalid arena: expected an arena from createArena(), got ${describe(arena)}`);
    }
    const defaults = Object.freeze(resolveOptions({ ...rmspropDefaults, frozen: false }, options));
    const groups = buildGroups(toGroupSpecs(params, 'RMSProp'), defaults, [], 'RMSProp');
    this.defaults = defaults;
    this.#nonFinite = nonFinite;
    this.#arena = arena;
    this.#kernel = arena === null ? undefined : arenaKernel(arena);
    [this.#clipValue, this.#clipNorm, this.#clipGlobalNorm] = clip;
    this.#accumulate = accumulate;
    this.#checkArenaRoom(groups, 'RMSProp');
    this.#register(groups);
  }

  /**
   * What `step()` does with a gradient holding NaN or ±Infinity; see {@link NonFinitePolicy}.
   * Assignable; an invalid value throws a `TypeError` and changes nothing.
   *
   * @example
   * ```ts
   * opt.nonFinite = 'skip';
   * ```
   */
  get nonFinite(): NonFinitePolicy {
    return this.#nonFinite;
  }

  /**
   * Sets the policy for non-finite gradients, from the next step on.
   *
   * @throws TypeError for anything but `'throw'`, `'skip'` or `'apply'`; the policy is unchanged.
   *
   * @example
   * ```ts
   * opt.nonFinite = 'apply'; // PyTorch's behaviour, no scan
   * ```
   */
  set nonFinite(policy: NonFinitePolicy) {
    this.#nonFinite = checkPolicy(policy, 'RMSProp.nonFinite');
  }

  /**
   * How many `step()` calls were skipped because a gradient was not finite (`nonFinite: 'skip'`).
   *
   * @example
   * ```ts
   * opt.step();
   * if (opt.skippedSteps > 0) console.warn(`${opt.skippedSteps} steps skipped`);
   * ```
   */
  get skippedSteps(): number {
    return this.#skipped;
  }

  /**
   * The registered groups, in order. The array is frozen; each group's hyperparameters are
   * mutable and read at every step.
   *
   * @example
   * ```ts
   * opt.paramGroups[0]!.lr = 0.001; // takes effect at the next step
   * ```
   */
  get paramGroups(): readonly ParamGroup[] {
    return this.#groups;
  }

  /**
   * Registers another group, with options that fall back to the optimizer's `defaults`, and
   * allocates its state. Its parameters must not belong to any group already registered.
   *
   * @throws As the constructor; nothing is registered when it throws.
   *
   * @example
   * ```ts
   * opt.addParamGroup({ params: [head.weight, head.bias], lr: 0.05 });
   * ```
   */
  addParamGroup(group: ParamGroupSpec): void {
    const groups = buildGroups([group], this.defaults, this.#groups, 'RMSProp.addParamGroup');
    this.#checkArenaRoom(groups, 'RMSProp.addParamGroup');
    this.#register(groups);
  }

  /**
   * The state of a registered parameter (live, not a copy), or `undefined` for a parameter this
   * optimizer does not hold.
   *
   * @example
   * ```ts
   * const s = opt.getState(w);
   * s?.step;      // updates applied to w so far
   * s?.squareAvg; // Float32Array of w's length
   * ```
   */
  getState(param: ParamRef): Readonly<RMSPropState> | undefined {
    return this.#stateOf.get(param);
  }

  /**
   * Applies one update to every parameter whose `grad` is not `null`, each with its group's
   * current hyperparameters. Parameters with `grad === null` and their state are left as they are.
   *
   * Everything is checked before anything is written: the hyperparameters of every group, and
   * for every parameter that `data` kept its type and size, and that `grad` is a buffer of the
   * same type and length that does not share memory with `data`. On an error nothing changes.
   * Then, unless `nonFinite` is `'apply'`, every gradient is scanned (one read-only pass) for
   * NaN and ±Infinity: `'throw'` throws a `RangeError` naming the group, parameter and element,
   * `'skip'` returns without writing anything and counts the step in `skippedSteps`. Then the
   * gradients are clipped in place when a `clip…` option is set, and the update runs.
   *
   * @throws TypeError, RangeError or Error naming the option or the parameter (group and index).
   *
   * @example
   * ```ts
   * engine.backward(loss); // fills every w.grad
   * opt.step();
   * ```
   */
  step(): void {
    const groups = this.#groups;
    const states = this.#states;
    const grads = this.#grads;
    const checkedGrad = this.#checkedGrad;
    const checkedData = this.#checkedData;
    let k = 0;
    for (let gi = 0; gi < groups.length; gi++) {
      const group = groups[gi]!;
      const params = group.params;
      if (group.frozen !== false) {
        checkFrozen(group.frozen, 'RMSProp.step', gi);
        // Frozen: skipped entirely, its state untouched.
        for (let i = 0; i < params.length; i++, k++) grads[k] = null;
        continue;
      }
      checkHyper(this.#resolve(group, gi), 'RMSProp.step', gi);
      const st = states[gi]!;
      for (let i = 0; i < params.length; i++, k++) {
        const param = params[i]!;
        const grad = param.grad;
        if (grad === null) {
          grads[k] = null;
        } else if (
          grad === checkedGrad[k] &&
          param.data === checkedData[k] &&
          grad.length === st[i]!.squareAvg.length &&
          param.data.length === grad.length
        ) {
          grads[k] = grad;
        } else {
          grads[k] = checkBuffers(param, grad, st[i]!, gi, i);
          checkedGrad[k] = grad;
          checkedData[k] = param.data;
        }
      }
    }
    if (this.#nonFinite !== 'apply' && !this.#gradsFinite()) {
      grads.fill(null);
      return;
    }
    const accumulating = this.#accumulate > 1;
    if (accumulating && !this.#accumulateGrads()) return;
    if (this.#clipValue !== null || this.#clipNorm !== null || this.#clipGlobalNorm !== null) {
      clipGradients(grads, this.#clipValue, this.#clipNorm, this.#clipGlobalNorm);
    }

    const kernel = this.#kernel;
    const memory = this.#arena?.memory.buffer;
    const rowsCurrent = this.#rowsCurrent.size > 0 ? this.#rowsCurrent : null;
    k = 0;
    for (let gi = 0; gi < groups.length; gi++) {
      const group = this.#hyper[gi]!;
      const params = groups[gi]!.params;
      const st = states[gi]!;
      const centered = group.centered;
      const momentum = group.momentum > 0;
      for (let i = 0; i < params.length; i++, k++) {
        const grad = grads[k];
        if (grad === null || grad === undefined) continue;
        grads[k] = null;
        const data = params[i]!.data;
        const state = st[i]!;
        // A feature switched on after registration gets its zeroed buffer now (PyTorch raises).
        if (centered && state.gradAvg === null) state.gradAvg = this.#zeros(data);
        if (momentum && state.momentumBuffer === null) state.momentumBuffer = this.#zeros(data);
        if (
          kernel !== undefined &&
          // Centered with bias correction is ill-conditioned on its first steps (see
          // docs/algorithm.md): float32 arithmetic cannot follow the TS kernel there.
          !(group.centered && group.biasCorrection) &&
          data.buffer === memory &&
          grad.buffer === memory &&
          state.squareAvg.buffer === memory &&
          (!centered || state.gradAvg!.buffer === memory) &&
          (!momentum || state.momentumBuffer!.buffer === memory)
        ) {
          simdStep(kernel, data as Float32Array, grad as Float32Array, state as RMSPropState<Float32Array>, group);
        } else {
          rmspropStep(data, grad, state, group);
        }
        if (accumulating) grad.fill(0); // the window's sum, now applied
        // A dense update brings every row of an exact sparse parameter up to date.
        if (rowsCurrent !== null) rowsCurrent.get(params[i]!)?.fill(state.step);
      }
    }
    this.#updates++;
  }

  /**
   * Adds this call's gradients into the window's sums. Returns false while the window is not
   * full; on its last call, puts each touched slot's mean in `#grads` and returns true.
   */
  #accumulateGrads(): boolean {
    const grads = this.#grads;
    const sums = this.#sums;
    const touched = this.#touched;
    for (let k = 0; k < grads.length; k++) {
      const grad = grads[k];
      if (grad === null || grad === undefined) continue;
      const sum = sums[k]!;
      for (let i = 0; i < grad.length; i++) sum[i] = sum[i]! + grad[i]!;
      touched[k] = true;
      grads[k] = null;
    }
    if (++this.#accumulated < this.#accumulate) return false;
    this.#accumulated = 0;
    const n = this.#accumulate;
    for (let k = 0; k < grads.length; k++) {
      if (!touched[k]) continue;
      const sum = sums[k]!;
      for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! / n;
      grads[k] = sum;
      touched[k] = false;
    }
    return true;
  }

  /**
   * Copies a group's hyperparameters into the step's numeric set, calling its learning-rate
   * schedule for the current update. Throws, naming the group, when the schedule gives no valid
   * rate; the other fields are checked by the caller.
   */
  #resolve(group: ParamGroup, gi: number, t: number = this.#updates): RMSPropHyper {
    // Field by field, not in a loop over the names: a generic copy would box every number.
    const hyper = this.#hyper[gi] as Mutable<RMSPropHyper>;
    hyper.alpha = group.alpha;
    hyper.eps = group.eps;
    hyper.weightDecay = group.weightDecay;
    hyper.momentum = group.momentum;
    hyper.centered = group.centered;
    hyper.maximize = group.maximize;
    hyper.epsInSqrt = group.epsInSqrt;
    hyper.lrInMomentum = group.lrInMomentum;
    hyper.nesterov = group.nesterov;
    hyper.initialAccumulator = group.initialAccumulator;
    hyper.biasCorrection = group.biasCorrection;
    hyper.decoupledWeightDecay = group.decoupledWeightDecay;
    const lr = group.lr;
    if (typeof lr === 'function') {
      const value: unknown = lr(t);
      if (typeof value !== 'number' || !(value >= 0) || value === Infinity) {
        throw new RangeError(
          `RMSProp.step: invalid lr in group ${gi}: the schedule gave ${describe(value)} for update ${t}; expected a finite number >= 0`,
        );
      }
      hyper.lr = value;
    } else {
      hyper.lr = lr;
    }
    return hyper;
  }

  /**
   * Updates only some rows of a 2-D parameter (an embedding table) from a sparse gradient: the
   * row indices and their gradient rows (repeated rows summed). The parameter must be
   * registered; give it `grad: null` so that `step()` leaves it to this method. Each call is one
   * update of that parameter (its state's `step`, which a schedule on its group is called with).
   *
   * - `mode: 'lazy'` (default, TensorFlow's sparse semantics): rows not given neither decay nor
   *   move.
   * - `mode: 'exact'`: a given row first replays, with zero gradients, the updates it missed
   *   since it was last current, then takes this one: the result equals the dense run with zero
   *   gradients for the rows not given (provided the group's hyperparameters, other than a
   *   schedule, did not change meanwhile). A dense `step()` of the parameter makes every row
   *   current.
   *
   * Everything is checked before anything is written, as in `step()`; a frozen group is skipped.
   *
   * @example
   * ```ts
   * const table = { name: 'embedding', data: new Float32Array(10_000 * 64), grad: null };
   * const opt = new RMSProp([table, ...dense], { lr: 1e-3 });
   * opt.sparseStep(table, { width: 64, rows: batchTokenIds, grad: rowGrads, mode: 'exact' });
   * ```
   */
  sparseStep(param: ParamRef, update: SparseRows): void {
    const slot = this.#slotOf.get(param);
    if (slot === undefined) throw new Error('RMSProp.sparseStep: the parameter is not registered with this optimizer');
    const [gi, i] = slot;
    const group = this.#groups[gi]!;
    if (group.frozen === true) return;
    const state = this.#states[gi]![i]!;
    const data = param.data;
    checkData(param, state, gi, i, 'RMSProp.sparseStep');
    const t = state.step;
    checkHyper(this.#resolve(group, gi, t), 'RMSProp.sparseStep', gi);
    if (this.#nonFinite === 'skip' && !allFinite(update.grad)) {
      this.#skipped++;
      return;
    }
    const plan = planSparse(data, update, at(gi, i), this.#nonFinite === 'throw');
    if (group.centered && state.gradAvg === null) state.gradAvg = this.#zeros(data);
    if (group.momentum > 0 && state.momentumBuffer === null) state.momentumBuffer = this.#zeros(data);
    let current = this.#rowsCurrent.get(param) ?? null;
    if (plan.mode === 'exact' && current === null) {
      current = new Int32Array(data.length / plan.width).fill(t);
      this.#rowsCurrent.set(param, current);
    }
    applySparse(data, state, plan.mode === 'exact' ? current : null, plan, (u) => this.#resolve(group, gi, u));
  }

  /**
   * Everything this optimizer holds, as a plain JSON-safe object: a format tag and version,
   * the `nonFinite` policy and `skippedSteps`, every group's hyperparameters, and per parameter
   * its name, element type, length, update count and state buffers as little-endian base64, so
   * a round trip through `JSON.stringify` is bit-exact (NaN, -0 and subnormals included).
   * A buffer that the options need but that is not allocated yet is saved as zeros, which is
   * what the next step would start it at.
   *
   * @example
   * ```ts
   * writeFileSync('optimizer.json', JSON.stringify(opt.stateDict()));
   * ```
   */
  stateDict(): RMSPropStateDict {
    return saveState(
      this.#groups,
      this.#states,
      this.#nonFinite,
      this.#skipped,
      this.#updates,
      this.#accumulated,
      this.#sums.map((sum, k) => (this.#touched[k] ? sum : null)),
      this.#rowsCurrent,
      { accumulate: this.#accumulate, clipValue: this.#clipValue, clipNorm: this.#clipNorm, clipGlobalNorm: this.#clipGlobalNorm },
    );
  }

  /**
   * Restores a state saved by {@link RMSProp.stateDict}: every group's hyperparameters, every
   * parameter's state buffers and update count, the `nonFinite` policy and `skippedSteps`.
   * Parameters with a `name` are matched by name, the others by position; the group count,
   * each group's parameter count, every length and element type must match.
   *
   * Everything is checked, and every buffer decoded, before anything is written: a rejected
   * state leaves the optimizer exactly as it was. Buffers are copied into the existing state
   * arrays where they exist.
   *
   * @throws Error saying what does not match: format or version, group or parameter count,
   *   a length or element type, corrupt base64, a buffer the hyperparameters need, a name.
   *
   * @example
   * ```ts
   * const opt = new RMSProp(model.parameters(), { lr: 1e-3 });
   * opt.loadStateDict(JSON.parse(readFileSync('optimizer.json', 'utf8')));
   * ```
   */
  loadStateDict(saved: RMSPropStateDict): void {
    const plan = planLoad(saved, this.#groups, this.#accumulate);
    let slot = 0;
    this.#groups.forEach((group, gi) => {
      Object.assign(group, plan.hyper[gi]);
      this.#states[gi]!.forEach((state, i) => {
        const restored = plan.states[gi]![i]!;
        if (this.#accumulate > 1) {
          const sum = this.#sums[slot]!;
          if (restored.gradSum === null) sum.fill(0);
          else sum.set(restored.gradSum);
          this.#touched[slot] = restored.gradSum !== null;
        }
        slot++;
        const param = group.params[i]!;
        if (restored.rowsCurrent === null) this.#rowsCurrent.delete(param);
        else this.#rowsCurrent.set(param, restored.rowsCurrent);
        state.squareAvg.set(restored.squareAvg);
        state.gradAvg = this.#into(state.gradAvg, restored.gradAvg, state.squareAvg);
        state.momentumBuffer = this.#into(state.momentumBuffer, restored.momentumBuffer, state.squareAvg);
        state.step = restored.step;
      });
    });
    this.#nonFinite = plan.nonFinite;
    this.#skipped = plan.skippedSteps;
    this.#updates = plan.updates;
    this.#accumulated = plan.accumulated;
    [this.#clipValue, this.#clipNorm, this.#clipGlobalNorm] = plan.clip;
  }

  /**
   * Fills every parameter's gradient with zeros (gradients that are `null` stay `null`).
   *
   * @throws TypeError, before anything is written, when a `grad` is neither `null` nor a
   *   `Float32Array` or `Float64Array`.
   *
   * @example
   * ```ts
   * opt.zeroGrad();
   * const loss = forward();
   * backward(loss);
   * opt.step();
   * ```
   */
  zeroGrad(): void {
    const groups = this.#groups;
    for (let gi = 0; gi < groups.length; gi++) {
      const params = groups[gi]!.params;
      for (let i = 0; i < params.length; i++) {
        const grad: unknown = params[i]!.grad;
        if (grad !== null && !isFloatArray(grad)) {
          throw new TypeError(
            `RMSProp.zeroGrad: invalid grad: expected a Float32Array, Float64Array or null, got ${describe(grad)} ${at(gi, i)}`,
          );
        }
      }
    }
    for (const group of groups) for (const param of group.params) param.grad?.fill(0);
  }

  /**
   * Whether every gradient checked by this step is finite. A non-finite one throws under
   * `'throw'` and is counted under `'skip'`.
   */
  #gradsFinite(): boolean {
    const groups = this.#groups;
    const grads = this.#grads;
    let k = 0;
    for (let gi = 0; gi < groups.length; gi++) {
      const n = groups[gi]!.params.length;
      for (let i = 0; i < n; i++, k++) {
        const grad = grads[k];
        if (grad === null || grad === undefined || allFinite(grad)) continue;
        if (this.#nonFinite === 'skip') {
          this.#skipped++;
          return false;
        }
        grads.fill(null);
        const index = firstNonFinite(grad);
        throw new RangeError(
          `RMSProp.step: grad holds ${describe(grad[index])} at element ${index} ${at(gi, i)}; nothing was updated. ` +
            `Set nonFinite to 'skip' to skip such steps, or to 'apply' to apply them as PyTorch does`,
        );
      }
    }
    return true;
  }

  /**
   * A zeroed buffer like `like`: in the arena when `like` lives there and the arena has room,
   * otherwise an ordinary typed array (that parameter is then stepped by the TS kernel).
   */
  #zeros(like: FloatArray): FloatArray {
    const arena = this.#arena;
    if (arena !== null && like instanceof Float32Array && arena.owns(like) && arena.capacity - arena.used >= like.length) {
      return arena.alloc(like.length);
    }
    return zerosLike(like);
  }

  /** Copies `from` into `to` when both exist (keeping the buffer a user may hold), else into a new buffer. */
  #into(to: FloatArray | null, from: FloatArray | null, like: FloatArray): FloatArray | null {
    if (from === null) return null;
    const target = to ?? this.#zeros(like);
    target.set(from);
    return target;
  }

  /** Throws, before anything is allocated, when the arena cannot hold the new groups' state. */
  #checkArenaRoom(groups: readonly ParamGroup[], prefix: string): void {
    const arena = this.#arena;
    if (arena === null) return;
    let needed = 0;
    for (const group of groups) {
      const buffers = 1 + (group.centered ? 1 : 0) + (group.momentum > 0 ? 1 : 0);
      for (const { data } of group.params) {
        if (data instanceof Float32Array && arena.owns(data)) needed += buffers * ((data.length + 3) & ~3);
      }
    }
    const free = ((arena.capacity + 3) & ~3) - arena.used;
    if (needed > free) {
      throw new RangeError(
        `${prefix}: the arena is full: the state of these parameters needs ${needed} float32 values, ${free} are free; create a larger arena`,
      );
    }
  }

  /** Allocates the state of checked groups and makes them visible. Cannot throw. */
  #register(groups: readonly ParamGroup[]): void {
    for (const group of groups) {
      const gi = this.#states.length;
      const states = group.params.map((param, i) => {
        const state: RMSPropState = createState(param.data, group, (like) => this.#zeros(like));
        this.#stateOf.set(param, state);
        this.#slotOf.set(param, [gi, i]);
        return state;
      });
      this.#states.push(states);
      this.#hyper.push({ ...rmspropDefaults });
    }
    this.#groups = Object.freeze([...this.#groups, ...groups]);
    this.#grads = this.#groups.flatMap((g) => g.params.map(() => null));
    this.#checkedData = this.#grads.slice();
    this.#checkedGrad = this.#grads.slice();
    if (this.#accumulate > 1) {
      for (const group of groups) for (const param of group.params) this.#sums.push(this.#zeros(param.data));
      this.#touched = this.#sums.map((_, k) => this.#touched[k] ?? false);
    }
  }
}
