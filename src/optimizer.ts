import { zeroable } from './memory.js';
import { OPTIMIZER_OPTIONS, checkArena, checkOptions, checkPolicy, isFrozen, resolveHyper, resolveOptions } from './options.js';
import type { GroupHyper, NonFinitePolicy, OptimizerOptions } from './options.js';
import { buildGroups, toGroupSpecs } from './param-groups.js';
import type { ParamGroup, ParamGroupSpec, ParamRef } from './param-groups.js';
import { rmspropDefaults } from './rmsprop-step.js';
import type { FloatArray, RMSPropState } from './rmsprop-step.js';
import type { GroupRecord, Registry, Slot } from './records.js';
import { checkGrads, checkRecords, createRecords, nonFinite, nonFiniteError, readRecord, updateAll, viewOf } from './slots.js';
import { commitLoad, planLoad, saveState } from './state-dict.js';
import type { RMSPropStateDict } from './state-dict.js';

/**
 * The one hook for features beside the class (`SparseRows`): a registered parameter's record,
 * its group's, and the optimizer's registry (its arena, its memory index, the flag that keeps
 * a step from running while user code does); `undefined` for a parameter not registered.
 *
 * @internal
 */
export let slotOf: (opt: RMSProp, param: ParamRef) => { readonly slot: Slot; readonly record: GroupRecord; readonly registry: Registry } | undefined;

/**
 * The hook for `encodeState`: what `stateDict()` gives, but holding the live state buffers
 * instead of copies, for an encoder that copies them into its output at once.
 *
 * @internal
 */
export let liveState: (opt: RMSProp) => RMSPropStateDict;

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
  readonly #defaults: Readonly<GroupHyper>;
  #groups: readonly ParamGroup[] = Object.freeze([]);
  #records: readonly GroupRecord[] = [];
  readonly #slots = new Map<ParamRef, Slot>();
  readonly #registry: Registry;
  #nonFinite: NonFinitePolicy;
  #skipped = 0;
  #updates = 0; // steps that updated something: the index `t` a schedule is called with

  /**
   * @param params - The parameters, or parameter groups `{ params, ...options }`; not empty.
   * @param options - Options for every group that does not set its own (see {@link RMSPropOptions}),
   *   the `nonFinite` policy and an `arena`.
   * @throws TypeError or RangeError for an invalid option, an empty list or group, or a full
   *   arena; Error for a parameter or a name given twice, or parameters sharing memory.
   *
   * @example
   * ```ts
   * const opt = new RMSProp([{ params: [w1, w2] }, { params: [bias], weightDecay: 0 }], { lr: 1e-3, weightDecay: 1e-4 });
   * ```
   */
  constructor(params: readonly ParamRef[] | readonly ParamGroupSpec[], options: OptimizerOptions = {}) {
    checkOptions(options, 'RMSProp', -1, OPTIMIZER_OPTIONS);
    this.#nonFinite = checkPolicy(options.nonFinite ?? 'throw', 'RMSProp');
    this.#registry = { records: () => this.#records, arena: checkArena(options.arena, 'RMSProp'), reading: false, map: null };
    this.#defaults = Object.freeze(resolveOptions({ ...rmspropDefaults, frozen: false }, options));
    this.#register(toGroupSpecs(params, 'RMSProp'), 'RMSProp');
  }

  /**
   * The optimizer's options resolved over PyTorch's defaults, frozen; groups fall back to these.
   *
   * @example
   * ```ts
   * opt.defaults.lr; // 0.01 unless the options set it
   * ```
   */
  get defaults(): Readonly<GroupHyper> {
    return this.#defaults;
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
   * How many `step()` calls were skipped for a non-finite gradient (`nonFinite: 'skip'`).
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
   * The registered groups, in order (a frozen array); each group's hyperparameters are mutable.
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
   * Registers another group, with options that fall back to `defaults`, and allocates its state.
   *
   * @throws As the constructor (a parameter already registered included); nothing is registered.
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
   * The state of a registered parameter (live, not a copy: a read-only view of the buffers and
   * update count the optimizer holds), or `undefined` for a parameter this optimizer does not hold.
   *
   * @example
   * ```ts
   * opt.getState(w)?.squareAvg; // Float32Array of w's length
   * ```
   */
  getState(param: ParamRef): Readonly<RMSPropState> | undefined {
    const slot = this.#slots.get(param);
    return slot === undefined ? undefined : (slot.view ??= viewOf(slot.state));
  }

  /**
   * Applies one update to every parameter of every group that is not frozen and whose gradient
   * is not `null`, each with its group's current hyperparameters. In order: every group's
   * hyperparameters are read (a schedule called) and checked; every `grad`, and the `data` of
   * each, is read once; every buffer is checked; unless `nonFinite` is `'apply'`, every gradient
   * is scanned for NaN and ±Infinity. Only then is anything written: a call that throws changes
   * nothing.
   *
   * @param grads - Gradients to use instead of each parameter's `grad` (one missing from the map
   *   has none this step), e.g. gradients kept apart from the parameters.
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
    const registry = this.#registry;
    if (registry.reading) throw new Error(`${P}: called from a schedule or a getter while a step reads its parameters`);
    const records = this.#records; // a group added by a schedule is stepped from the next step on
    const n = records.length;
    const t = this.#updates;
    const policy = this.#nonFinite; // as it was when the step began, whatever a schedule assigns
    registry.reading = true;
    try {
      // User code runs here only: schedules first, then one read of each grad and data.
      checkGrads(grads, this.#slots, P);
      for (let r = 0; r < n; r++) {
        const rec = records[r]!;
        rec.active = !isFrozen(rec.group, P, r);
        if (rec.active) resolveHyper(rec.group, rec.hyper, t, P, r);
      }
      for (let r = 0; r < n; r++) if (records[r]!.active) readRecord(records[r]!, grads, P);
    } finally {
      registry.reading = false;
    }
    checkRecords(records, P, registry);
    const bad = policy === 'apply' ? null : nonFinite(records);
    if (bad !== null) {
      if (policy === 'throw') throw nonFiniteError(bad, P);
      this.#skipped++;
      return false;
    }
    if (updateAll(records, registry)) this.#updates = t + 1; // the update index counts steps that updated something
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
    for (const grad of zeroable(this.#registry)) grad.fill(0);
  }

  /**
   * Everything this optimizer holds, as a plain object of copies: format and version, the
   * `nonFinite` policy, `skippedSteps`, the update count, every group's hyperparameters, and per
   * parameter its name, update count and state buffers as typed arrays (structured-clone safe:
   * `postMessage`, IndexedDB). Text: `stateToJSON`.
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
   * Restores a state from {@link RMSProp.stateDict}: hyperparameters, state buffers (copied into
   * the existing arrays), update counts, `nonFinite` and `skippedSteps`. Named parameters are
   * matched by name, the others by position; everything is checked against what was registered
   * before anything is written.
   *
   * @throws Error saying what does not match; the optimizer is then exactly as it was.
   *
   * @example
   * ```ts
   * opt.loadStateDict(saved);
   * ```
   */
  loadStateDict(saved: RMSPropStateDict): void {
    if (this.#registry.reading) throw new Error('RMSProp.loadStateDict: called from a schedule or a getter while a step reads its parameters');
    const plan = planLoad(saved, this.#records);
    commitLoad(plan, this.#records, this.#registry);
    this.#nonFinite = plan.nonFinite;
    this.#skipped = plan.skippedSteps;
    this.#updates = plan.updates;
  }

  /** Checks new groups against the registered ones, then allocates their state: all or nothing. */
  #register(specs: readonly unknown[], prefix: string): void {
    const { groups, params } = buildGroups(specs, this.#defaults, [...this.#slots.values()], this.#groups.length, prefix);
    const records = createRecords(groups, params, this.#registry, prefix);
    for (const r of records) for (const s of r.slots) this.#slots.set(s.param, s);
    this.#registry.map = null;
    this.#records = [...this.#records, ...records];
    this.#groups = Object.freeze([...this.#groups, ...groups]);
  }

  static {
    slotOf = (opt, param) => {
      const slot = opt.#slots.get(param);
      return slot === undefined ? undefined : { slot, record: opt.#records[slot.group]!, registry: opt.#registry };
    };
    liveState = (opt) => saveState(opt.#records, opt.#nonFinite, opt.#skipped, opt.#updates, false);
  }
}
