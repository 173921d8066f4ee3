import type { Arena } from './backend.js';
import { at, checkFloatArray } from './checks.js';
import { OPTIMIZER_OPTIONS, checkArena, checkOptions, checkPolicy, isFrozen, resolveHyper, resolveOptions } from './options.js';
import type { GroupHyper, NonFinitePolicy, OptimizerOptions } from './options.js';
import { buildGroups, toGroupSpecs } from './param-groups.js';
import type { ParamGroup, ParamGroupSpec, ParamRef } from './param-groups.js';
import { rmspropDefaults } from './rmsprop-step.js';
import type { FloatArray, RMSPropHyper, RMSPropState } from './rmsprop-step.js';
import { allocate, checkRecord, createRecords, nonFinite, nonFiniteError, readRecord, update } from './slots.js';
import type { GroupRecord, Slot } from './slots.js';
import { commitLoad, planLoad, saveState } from './state-dict.js';
import type { RMSPropStateDict } from './state-dict.js';

/**
 * The one hook for features beside the class (`SparseRows`): the record of a registered
 * parameter, or `undefined`. Given hyperparameters, it first allocates the state buffers they
 * need (momentum or centered switched on since the last step), as `step()` would.
 *
 * @internal
 */
export let slotOf: (opt: RMSProp, param: ParamRef, hyper?: RMSPropHyper) => Slot | undefined;

/**
 * RMSProp optimizer with PyTorch's semantics (`torch.optim.RMSprop`): owns the state of every
 * parameter and updates the parameters in place on `step()`.
 *
 * Parameters are any objects with `data` and `grad` typed arrays (`Float32Array` or
 * `Float64Array`), for example an autodiff engine's tensors. State is allocated when a parameter
 * is registered and kept per parameter object; after that, `step()` allocates nothing unless
 * `momentum` or `centered` is switched on later, which allocates the missing zeroed buffers.
 * Every call checks its input before it writes: a call that throws has changed nothing.
 *
 * @example
 * ```ts
 * import { RMSProp } from 'rmsprop';
 *
 * const w = { data: new Float32Array([0.5, -0.3]), grad: new Float32Array(2) };
 * const opt = new RMSProp([w], { lr: 0.01 });
 * for (let t = 0; t < 100; t++) {
 *   opt.zeroGrad();
 *   for (let i = 0; i < w.data.length; i++) w.grad[i] = 2 * w.data[i]!; // loss = sum(w^2)
 *   opt.step();
 * }
 * ```
 */
export class RMSProp {
  /** The optimizer's options resolved over PyTorch's defaults; groups fall back to these. */
  readonly defaults: Readonly<GroupHyper>;
  #groups: readonly ParamGroup[] = Object.freeze([]);
  #records: readonly GroupRecord[] = [];
  readonly #slots = new Map<ParamRef, Slot>();
  readonly #arena: Arena | null;
  #nonFinite: NonFinitePolicy;
  #skipped = 0;
  /** Updates applied so far: the index `t` a learning-rate schedule is called with. */
  #updates = 0;
  /** Set while a step runs user code (schedules, getters), which must not step again. */
  #reading = false;

  /**
   * @param params - The parameters, or parameter groups `{ params, ...options }`; not empty.
   * @param options - Options for every group that does not set its own (see {@link RMSPropOptions}),
   *   the `nonFinite` policy and an `arena`.
   * @throws TypeError or RangeError for an invalid option (naming it, the value and what is
   *   allowed); Error for a parameter given twice, two parameters sharing memory or a name used
   *   twice; RangeError for an empty list or group, or an arena without room for the state.
   *
   * @example
   * ```ts
   * const opt = new RMSProp([{ params: [w1, w2] }, { params: [bias], weightDecay: 0 }], { lr: 1e-3, weightDecay: 1e-4 });
   * ```
   */
  constructor(params: readonly ParamRef[] | readonly ParamGroupSpec[], options: OptimizerOptions = {}) {
    checkOptions(options, 'RMSProp', -1, OPTIMIZER_OPTIONS);
    this.#nonFinite = checkPolicy(options.nonFinite ?? 'throw', 'RMSProp');
    this.#arena = checkArena(options.arena, 'RMSProp');
    this.defaults = Object.freeze(resolveOptions({ ...rmspropDefaults, frozen: false }, options));
    this.#register(toGroupSpecs(params, 'RMSProp'), 'RMSProp');
  }

  /**
   * What `step()` does with a gradient holding NaN or ±Infinity (see {@link NonFinitePolicy});
   * assignable, from the next step on. An invalid value throws a `TypeError` and changes nothing.
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
   * if (!opt.step()) console.warn(`${opt.skippedSteps} steps skipped so far`);
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
    this.#register([group], 'RMSProp.addParamGroup');
  }

  /**
   * The state of a registered parameter (live, not a copy), or `undefined` for a parameter this
   * optimizer does not hold.
   *
   * @example
   * ```ts
   * opt.getState(w)?.squareAvg; // Float32Array of w's length
   * ```
   */
  getState(param: ParamRef): Readonly<RMSPropState> | undefined {
    return this.#slots.get(param)?.state;
  }

  /**
   * Applies one update to every parameter of every group that is not frozen and whose gradient
   * is not `null`, each with its group's current hyperparameters.
   *
   * In order: every group's hyperparameters are read (a schedule called) and checked; every
   * `grad`, and the `data` of each, is read once; every buffer is checked (types, lengths,
   * shared memory); unless `nonFinite` is `'apply'`, every gradient is scanned for NaN and
   * ±Infinity (`'throw'`: a `RangeError` naming group, parameter and element; `'skip'`: return
   * `false`, count it). Only then is anything written. A call that throws changes nothing.
   *
   * @param grads - Gradients to use instead of each parameter's `grad` (a parameter missing
   *   from the map has none this step), e.g. gradients kept apart from the parameters.
   * @returns `false` when the step was skipped for a non-finite gradient, else `true`.
   * @throws TypeError, RangeError or Error naming the option or the parameter (group and index).
   *
   * @example
   * ```ts
   * engine.backward(loss); // fills every w.grad
   * opt.step();
   * ```
   */
  step(grads?: ReadonlyMap<ParamRef, FloatArray | null>): boolean {
    const P = 'RMSProp.step';
    if (this.#reading) throw new Error(`${P}: called from a schedule or a getter while a step reads its parameters`);
    const records = this.#records; // a group added by a schedule is stepped from the next step on
    const n = records.length;
    const t = this.#updates;
    this.#reading = true;
    try {
      // User code runs here only: schedules first, then one read of each grad and data.
      for (let r = 0; r < n; r++) {
        const rec = records[r]!;
        rec.active = !isFrozen(rec.group, P, r);
        if (rec.active) resolveHyper(rec.group, rec.hyper, t, P, r);
      }
      for (let r = 0; r < n; r++) if (records[r]!.active) readRecord(records[r]!, grads);
    } finally {
      this.#reading = false;
    }
    for (let r = 0; r < n; r++) if (records[r]!.active) checkRecord(records[r]!, P);
    const bad = this.#nonFinite === 'apply' ? null : nonFinite(records);
    if (bad !== null) {
      if (this.#nonFinite === 'throw') throw nonFiniteError(bad, P);
      this.#skipped++;
      return false;
    }
    for (let r = 0; r < n; r++) if (records[r]!.active) update(records[r]!, this.#arena);
    this.#updates = t + 1;
    return true;
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
   * backward(forward());
   * opt.step();
   * ```
   */
  zeroGrad(): void {
    const slots = [...this.#slots.values()];
    const grads = slots.map((s) => checkFloatArray(s.param.grad, 'RMSProp.zeroGrad', 'grad', at(s.group, s.index), true));
    for (const grad of grads) grad?.fill(0);
  }

  /**
   * Everything this optimizer holds, as a plain object of copies: a format tag and version, the
   * `nonFinite` policy, `skippedSteps`, the update count, every group's hyperparameters, and
   * per parameter its name, update count and state buffers as typed arrays (structured-clone
   * safe: `postMessage`, IndexedDB). A buffer the options need but that is not allocated yet is
   * saved as zeros, which is what the next step would start it at. Text: `stateToJSON`.
   *
   * @throws When a group's hyperparameters are invalid (as `step()` would), naming the group.
   *
   * @example
   * ```ts
   * const saved = opt.stateDict();
   * ```
   */
  stateDict(): RMSPropStateDict {
    return saveState(this.#records, this.#nonFinite, this.#skipped, this.#updates);
  }

  /**
   * Restores a state from {@link RMSProp.stateDict}: every group's hyperparameters, every
   * parameter's state buffers and update count, the `nonFinite` policy and `skippedSteps`.
   * Parameters with a `name` are matched by name, the others by position; the group count,
   * each group's parameter count, and every buffer's length and element type must match the
   * state the parameters were registered with. Everything is checked before anything is
   * written, and buffers are copied into the existing state arrays.
   *
   * @throws Error saying what does not match; the optimizer is then exactly as it was.
   *
   * @example
   * ```ts
   * const opt = new RMSProp(model.parameters(), { lr: 1e-3 });
   * opt.loadStateDict(saved);
   * ```
   */
  loadStateDict(saved: RMSPropStateDict): void {
    const plan = planLoad(saved, this.#records);
    commitLoad(plan, this.#records, this.#arena);
    this.#nonFinite = plan.nonFinite;
    this.#skipped = plan.skippedSteps;
    this.#updates = plan.updates;
  }

  /** Checks new groups against the registered ones, then allocates their state: all or nothing. */
  #register(specs: readonly unknown[], prefix: string): void {
    const existing = [...this.#slots.values()].map((s) => ({ ...s, data: s.checkedData }));
    const { groups, params } = buildGroups(specs, this.defaults, existing, this.#groups.length, prefix);
    const records = createRecords(groups, params, this.#arena);
    for (const r of records) for (const s of r.slots) this.#slots.set(s.param, s);
    this.#records = [...this.#records, ...records];
    this.#groups = Object.freeze([...this.#groups, ...groups]);
  }

  static {
    slotOf = (opt, param, hyper) => {
      const slot = opt.#slots.get(param);
      if (slot !== undefined && hyper !== undefined) {
        const slots = opt.#records[slot.group]!.slots;
        if (hyper.centered) allocate(slots, 'gradAvg', opt.#arena);
        if (hyper.momentum > 0) allocate(slots, 'momentumBuffer', opt.#arena);
      }
      return slot;
    };
  }
}
