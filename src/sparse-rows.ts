// Sparse row updates of 2-D parameters (embedding tables), beside the optimizer: lazy
// (TensorFlow's) or exact (missed updates replayed). Its own per-row bookkeeping; the optimizer's
// records are reached through the one narrow hook `slotOf`.
import { at, checkFloatArray, checkKeys, checkNumber, count, finiteAtLeast0, invalid, overlaps, readError, typeName, wholeAtLeast1 } from './checks.js';
import { allFinite, firstNonFinite } from './finite.js';
import { formatValue } from './format.js';
import { RMSProp, slotOf } from './optimizer.js';
import { isFrozen, resolveHyper, resolveOptions, scheduleError } from './options.js';
import type { Mutable } from './options.js';
import { locate } from './param-groups.js';
import type { ParamRef } from './param-groups.js';
import { rmspropDefaults, rmspropStep, zerosLike } from './rmsprop-step.js';
import type { FloatArray, RMSPropHyper, RMSPropState } from './rmsprop-step.js';
import { checkLent } from './memory.js';
import type { Registry, Slot } from './records.js';
import { lend } from './slots.js';

/**
 * A sparse gradient for a 2-D parameter (an embedding table): the indices of the rows it
 * touches and, row after row, their gradients.
 *
 * @example
 * ```ts
 * // rows 3 and 17 of a table of width 64; a repeated row's gradients are summed
 * const update: SparseUpdate = { width: 64, rows: [3, 17], grad: new Float32Array(2 * 64) };
 * ```
 */
export interface SparseUpdate {
  /** Elements per row; the parameter's length must be a multiple of it. */
  readonly width: number;
  /** Row indices, whole numbers in `[0, rows)`; repeated indices have their gradients summed. */
  readonly rows: ArrayLike<number>;
  /** `rows.length * width` values of the parameter's element type. */
  readonly grad: FloatArray;
  /**
   * `'lazy'` (TensorFlow's sparse semantics): rows not given neither decay nor move.
   * `'exact'`: a row's state and value are first caught up on the updates it missed, replayed
   * with zero gradients, so that the result equals the dense run. @defaultValue `'lazy'`
   */
  readonly mode?: 'lazy' | 'exact';
}

/**
 * Options of {@link SparseRows}.
 *
 * @example
 * ```ts
 * const options: SparseRowsOptions = { maxReplay: 10_000_000 };
 * ```
 */
export interface SparseRowsOptions {
  /**
   * The most missed row updates one `'exact'` call may replay (summed over its rows). A call
   * that would replay more is refused before it writes anything, instead of running for hours
   * (a row idle for a million updates replays a million). @defaultValue `1_000_000`
   */
  readonly maxReplay?: number;
}

/**
 * What {@link SparseRows.stateDict} gives: per parameter stepped sparsely, its mode and width,
 * and in exact mode the update each row is current as of. Structured-clone safe.
 *
 * @example
 * ```ts
 * const checkpoint = { optimizer: opt.stateDict(), sparse: sparse.stateDict() };
 * ```
 */
export interface SparseRowsStateDict {
  readonly format: 'rmsprop-sparse-rows';
  readonly version: number;
  readonly skippedSteps: number;
  readonly params: readonly SavedRows[];
}

/**
 * One parameter's entry in a {@link SparseRowsStateDict}.
 *
 * @example
 * ```ts
 * const rows: SavedRows = sparse.stateDict().params[0]!;
 * rows.current; // Float64Array: per row, the update it is current as of ('exact' mode)
 * ```
 */
export interface SavedRows {
  readonly group: number;
  readonly index: number;
  readonly name: string | null;
  readonly mode: 'lazy' | 'exact';
  readonly width: number;
  /** The parameter's update count when this last stepped it. */
  readonly seen: number;
  /** `'exact'`: per row, the update count it is current as of; `'lazy'`: `null`. */
  readonly current: Float64Array | null;
}

interface Rows {
  readonly mode: 'lazy' | 'exact';
  readonly width: number;
  /** Exact mode: per row, the parameter's update count it is current as of (float64: no wrap). */
  readonly current: Float64Array | null;
  /** The parameter's update count when this last stepped it: a different one means dense steps (or a load) since. */
  seen: number;
  /**
   * The parameter's load count (`Slot.loads`) when this last stepped it: a different one means
   * the optimizer loaded a state since, and the rows' bookkeeping is not that state's; `null`
   * after this object's own load, whose bookkeeping goes with the state loaded with it.
   */
  loads: number | null;
}

/** A checked sparse update, ready to write (see `SparseRows.#prepare`). */
interface Prepared {
  readonly data: FloatArray;
  readonly plan: { readonly width: number; readonly mode: 'lazy' | 'exact'; readonly order: number[]; readonly sums: FloatArray[] };
  readonly hyper: RMSPropHyper;
  /** The parameter's update count: the index of this update. */
  readonly t: number;
  readonly current: Float64Array | null;
  /** Whether dense steps made every row current since this last stepped the parameter. */
  readonly stale: boolean;
  /** The first update a replay needs, and the learning rate of each from there to `t`. */
  readonly from: number;
  readonly lrs: Float64Array;
  readonly record: Rows | undefined;
}

const FORMAT = 'rmsprop-sparse-rows';
const MAX_REPLAY = 1_000_000;

/**
 * Sparse row updates of parameters registered with an `RMSProp` (an embedding table): each
 * {@link SparseRows.step} is one update of that parameter from the rows a batch used, with its
 * group's hyperparameters (a schedule is called with the parameter's own update count).
 *
 * - `mode: 'lazy'` (the default, TensorFlow's sparse semantics): rows not given neither decay
 *   nor move; a given row is updated exactly as a dense step would update it.
 * - `mode: 'exact'`: a given row first replays, with zero gradients, every update it missed,
 *   so the result equals the dense run with zero gradients for the rows not given (provided the
 *   group's hyperparameters other than a schedule did not change while a row waited). A dense
 *   `step()` of the parameter, or any change of its update count from outside (the optimizer's
 *   `loadStateDict`, `loadState`), makes every row current (what a row missed before it is not
 *   replayed): to keep the rows' bookkeeping across a checkpoint, save and load this object's
 *   {@link SparseRows.stateDict} with the optimizer's.
 *
 * A parameter's mode and row width are fixed by its first sparse update. Give sparse
 * parameters `grad: null` so that the optimizer's `step()` leaves them alone. Everything is
 * checked, and every schedule value a replay needs computed, before anything is written.
 *
 * @example
 * ```ts
 * import { RMSProp, SparseRows } from 'rmsprop';
 *
 * const table = { name: 'embedding', data: new Float32Array(50_000 * 64), grad: null };
 * const opt = new RMSProp([table, ...dense], { lr: 1e-3 });
 * const sparse = new SparseRows(opt);
 * opt.step(); // the dense parameters
 * sparse.step(table, { width: 64, rows: tokenIds, grad: tokenGrads, mode: 'exact' });
 * ```
 */
export class SparseRows {
  readonly #optimizer: RMSProp;
  readonly #maxReplay: number;
  #busy = false;
  readonly #rows = new Map<ParamRef, Rows>();
  #skipped = 0;

  /**
   * @param optimizer - The optimizer the parameters are registered with.
   * @param options - See {@link SparseRowsOptions}.
   * @throws TypeError or RangeError for an invalid argument.
   *
   * @example
   * ```ts
   * const sparse = new SparseRows(opt, { maxReplay: 5_000_000 });
   * ```
   */
  constructor(optimizer: RMSProp, options: SparseRowsOptions = {}) {
    if (!(optimizer instanceof RMSProp)) throw new TypeError(invalid('SparseRows', 'optimizer', 'an RMSProp', optimizer));
    checkKeys(options, 'SparseRows', ['maxReplay']);
    this.#optimizer = optimizer;
    this.#maxReplay = checkNumber(options.maxReplay ?? MAX_REPLAY, wholeAtLeast1, 'SparseRows', 'maxReplay');
  }

  /**
   * The optimizer whose parameters and state this updates.
   *
   * @example
   * ```ts
   * sparse.optimizer.getState(table)?.step; // the table's update count
   * ```
   */
  get optimizer(): RMSProp {
    return this.#optimizer;
  }

  /**
   * The most missed row updates one exact call may replay (see {@link SparseRowsOptions}).
   *
   * @example
   * ```ts
   * new SparseRows(opt).maxReplay; // 1_000_000
   * ```
   */
  get maxReplay(): number {
    return this.#maxReplay;
  }

  /**
   * Updates skipped for a non-finite gradient (the optimizer's `nonFinite: 'skip'`).
   *
   * @example
   * ```ts
   * if (!sparse.step(table, update)) console.warn(`${sparse.skippedSteps} sparse updates skipped`);
   * ```
   */
  get skippedSteps(): number {
    return this.#skipped;
  }

  /**
   * One update of `param` from the rows given (see the class). Repeated rows have their
   * gradients summed (in float64 for float32 gradients, so the sum cannot overflow).
   *
   * @returns `false` when nothing was updated: the group is frozen, or a gradient was not finite
   *   under `nonFinite: 'skip'` (counted); else `true`.
   * @throws TypeError, RangeError or Error naming the field and the parameter (group and
   *   index), or the group for a hyperparameter; nothing is written then. Structural errors are
   *   thrown under every `nonFinite` policy.
   *
   * @example
   * ```ts
   * sparse.step(table, { width: 64, rows: [3, 17, 3], grad: rowGrads });
   * ```
   */
  step(param: ParamRef, update: SparseUpdate): boolean {
    const P = 'SparseRows.step';
    if (this.#busy) throw new Error(`${P}: called from a schedule or a getter while a step is under way`);
    const lent = slotOf(this.#optimizer, param);
    if (lent === undefined) throw new Error(`${P}: the parameter is not registered with this optimizer`);
    const registry = lent.registry;
    if (registry.reading) throw new Error(`${P}: called from a schedule or a getter while a step reads its parameters`);
    // User code (getters, schedules) runs only while the update is prepared; the optimizer refuses
    // to step or load then, as it does during its own step.
    this.#busy = registry.reading = true;
    let prepared: Prepared | false;
    try {
      prepared = this.#prepare(param, update, lent.slot, registry);
    } finally {
      this.#busy = registry.reading = false;
    }
    if (prepared === false) return false;
    lend(lent.record, prepared.hyper, registry, lent.slot, prepared.data); // the buffers the options need, the data as checked
    this.#write(param, lent.slot, prepared);
    return true;
  }

  /** Everything a sparse update needs, checked, with every schedule value; `false`: nothing to do. */
  #prepare(param: ParamRef, update: SparseUpdate, slot: Slot, registry: Registry): Prepared | false {
    const P = 'SparseRows.step';
    const opt = this.#optimizer;
    const where = at(slot.group, slot.index);
    const group = resolveOptions(opt.paramGroups[slot.group]!, {}, P, slot.group); // each field read once
    const frozen = isFrozen(group, P, slot.group);
    let data: unknown;
    try {
      data = param.data;
    } catch (error) {
      throw readError(error, P, 'its data', where);
    }
    checkLent(slot, data, registry, P);
    const plan = this.#plan(data as FloatArray, update, where);
    if (frozen) return false; // the update is well formed, and not applied
    const t = slot.state.step;
    const hyper = resolveHyper(group, { ...rmspropDefaults }, t, P, slot.group);
    const record = this.#rows.get(param);
    if (record !== undefined && (record.mode !== plan.mode || record.width !== plan.width)) {
      throw new Error(
        `${P}: the parameter was stepped in mode '${record.mode}' with width ${record.width}; a parameter keeps the mode and width of its first sparse update (this one: '${plan.mode}', width ${plan.width}) ${where}`,
      );
    }
    // Exact mode: the rows' currency, every schedule value the replays need, and their count.
    const rows = (data as FloatArray).length / plan.width;
    const current = plan.mode === 'exact' ? (record?.current ?? new Float64Array(rows).fill(t)) : null;
    // Dense steps (or a load) since this last stepped the parameter made every row current.
    const stale = record !== undefined && (record.seen !== t || (record.loads !== null && record.loads !== slot.loads));
    let from = t;
    let replays = 0;
    if (current !== null && !stale) {
      for (const row of plan.order) {
        from = Math.min(from, current[row]!);
        replays += t - current[row]!;
      }
      if (replays > this.#maxReplay) {
        throw new RangeError(
          `${P}: this update would replay ${replays} missed row updates (from update ${from}), more than maxReplay ${this.#maxReplay}; raise maxReplay, or use mode 'lazy' ${where}`,
        );
      }
    }
    const lrs = new Float64Array(t - from);
    const schedule = group.lr;
    for (let u = from; u < t; u++) {
      let lr: unknown = schedule;
      if (typeof schedule === 'function') {
        try {
          lr = schedule(u);
        } catch (error) {
          throw scheduleError(error, P, slot.group, u, ' (replayed)');
        }
      }
      if (!finiteAtLeast0.ok(lr)) {
        throw new RangeError(`${P}: invalid lr in group ${slot.group}: the schedule gave ${formatValue(lr)} for update ${u} (replayed); expected ${finiteAtLeast0.allowed}`);
      }
      lrs[u - from] = lr as number;
    }
    if (opt.nonFinite !== 'apply') {
      // A non-finite value given, or a repeated row whose sum is beyond the float range (summed in
      // float64, the sum of finite float32 gradients only overflows when rounded to float32).
      const k = firstNonFinite(update.grad);
      const row = plan.sums.findIndex((sum) => !allFinite(sum));
      if (k >= 0 || row >= 0) {
        if (opt.nonFinite === 'skip') return (this.#skipped++, false);
        throw new RangeError(
          k >= 0
            ? `${P}: grad holds ${formatValue(update.grad[k])} at element ${k} ${where}; nothing was updated`
            : `${P}: the gradients given for row ${plan.order[row]!} sum beyond the ${data instanceof Float64Array ? 'float64' : 'float32'} range ${where}; nothing was updated`,
        );
      }
    }
    return { data: data as FloatArray, plan, hyper, t, current, stale, from, lrs, record };
  }

  /** Writes a prepared update: replays (exact mode), then the update of each row given. */
  #write(param: ParamRef, slot: Slot, { data, plan, hyper, t, current, stale, from, lrs, record }: Prepared): void {
    const state = slot.state;
    if (current !== null && stale) current.fill(t);
    const T = data instanceof Float64Array ? Float64Array : Float32Array;
    const zeros = zerosLike(plan.sums[0] ?? new T(0));
    const replay: Mutable<RMSPropHyper> = { ...hyper };
    plan.order.forEach((row, k) => {
      const start = row * plan.width;
      // Views by the base constructor: `subarray` would call a subclass's own (a tensor class's).
      const view = (a: FloatArray | null): FloatArray | null => (a === null ? null : new T(a.buffer as ArrayBuffer, a.byteOffset + start * a.BYTES_PER_ELEMENT, plan.width));
      const p = view(data)!;
      const rowState: RMSPropState = { squareAvg: view(state.squareAvg)!, gradAvg: view(state.gradAvg), momentumBuffer: view(state.momentumBuffer), step: 0 };
      if (current !== null) {
        for (let u = current[row]!; u < t; u++) {
          replay.lr = lrs[u - from]!;
          rowState.step = u;
          rmspropStep(p, zeros, rowState, replay);
        }
        current[row] = t + 1;
      }
      rowState.step = t;
      rmspropStep(p, plan.sums[k]!, rowState, hyper);
    });
    state.step = t + 1;
    if (record === undefined) this.#rows.set(param, { mode: plan.mode, width: plan.width, current, seen: t + 1, loads: slot.loads });
    else {
      record.seen = t + 1;
      record.loads = slot.loads;
    }
  }

  /** Checks an update and sums its repeated rows (in float64); writes nothing. */
  #plan(data: FloatArray, update: SparseUpdate, where: string): { width: number; mode: 'lazy' | 'exact'; order: number[]; sums: FloatArray[] } {
    const P = 'SparseRows.step';
    if (typeof update !== 'object' || update === null) {
      throw new TypeError(`${P}: invalid update: expected { width, rows, grad, mode? }, got ${formatValue(update)} ${where}`);
    }
    const { width, rows, grad, mode = 'lazy' } = update;
    checkNumber(width, wholeAtLeast1, P, 'width', '', ` ${where}`);
    if (data.length % width !== 0) {
      throw new RangeError(`${P}: invalid width: expected a whole number >= 1 that divides the data length ${data.length}, got ${width} ${where}`);
    }
    if (mode !== 'lazy' && mode !== 'exact') throw new TypeError(`${P}: invalid mode: expected 'lazy' or 'exact', got ${formatValue(mode)} ${where}`);
    if (typeof rows !== 'object' || rows === null || !count.ok((rows as ArrayLike<unknown>).length)) {
      throw new TypeError(`${P}: invalid rows: expected an array or typed array of row indices, got ${formatValue(rows)} ${where}`);
    }
    const g = checkFloatArray(grad, P, 'grad', where, false)!;
    if (g instanceof Float64Array !== data instanceof Float64Array) {
      throw new TypeError(`${P}: invalid grad: expected a ${typeName(data)} like the data, got ${formatValue(g)} ${where}`);
    }
    if (g.length !== rows.length * width) {
      throw new RangeError(`${P}: grad length ${g.length} does not match ${rows.length} rows of width ${width} ${where}`);
    }
    if (overlaps(g, data)) throw new Error(`${P}: grad shares memory with data ${where}`);
    const rowCount = data.length / width;
    const sums = new Map<number, Float64Array>();
    for (let r = 0; r < rows.length; r++) {
      const row: unknown = rows[r];
      if (typeof row !== 'number' || !Number.isInteger(row) || row < 0 || row >= rowCount) {
        throw new RangeError(`${P}: invalid row index ${formatValue(row)} at position ${r}: expected a whole number in [0, ${rowCount}) ${where}`);
      }
      let sum = sums.get(row);
      if (sum === undefined) sums.set(row, (sum = new Float64Array(width)));
      for (let i = 0; i < width; i++) sum[i] = sum[i]! + g[r * width + i]!;
    }
    const order = [...sums.keys()].sort((a, b) => a - b);
    const T = data instanceof Float64Array ? Float64Array : Float32Array;
    return { width, mode, order, sums: order.map((row) => T.from(sums.get(row)!)) };
  }

  /**
   * The per-row bookkeeping, as typed-array copies: per parameter stepped sparsely, its mode,
   * width, and in exact mode the update each row is current as of.
   *
   * @example
   * ```ts
   * const checkpoint = { optimizer: opt.stateDict(), sparse: sparse.stateDict() };
   * ```
   */
  stateDict(): SparseRowsStateDict {
    const groups = this.#optimizer.paramGroups;
    const params = [...this.#rows].map(([param, r]): SavedRows => {
      const group = groups.findIndex((g) => g.params.includes(param));
      const index = groups[group]!.params.indexOf(param);
      return { group, index, name: param.name ?? null, mode: r.mode, width: r.width, seen: r.seen, current: r.current?.slice() ?? null };
    });
    return { format: FORMAT, version: 1, skippedSteps: this.#skipped, params };
  }

  /**
   * Restores bookkeeping saved by {@link SparseRows.stateDict} (load the optimizer's state too),
   * checked completely before anything is written: every parameter registered with the optimizer
   * (by name when it has one, else by group and position), a width that divides its length, and
   * in exact mode one whole update count per row, none above the saved `seen`.
   *
   * @throws Error saying what does not match; the bookkeeping is then as it was.
   *
   * @example
   * ```ts
   * opt.loadStateDict(checkpoint.optimizer);
   * sparse.loadStateDict(checkpoint.sparse);
   * ```
   */
  loadStateDict(saved: SparseRowsStateDict): void {
    const P = 'SparseRows.loadStateDict';
    const bad = (path: string, allowed: string, value: unknown): never => {
      throw new Error(invalid(P, path, allowed, value));
    };
    const s = (typeof saved === 'object' && saved !== null ? saved : bad('state', 'a state from SparseRows.stateDict()', saved)) as Partial<Record<keyof SparseRowsStateDict, unknown>>;
    if (s.format !== FORMAT) bad('format', `"${FORMAT}"`, s.format);
    if (s.version !== 1) bad('version', '1', s.version);
    const skipped = checkNumber(s.skippedSteps, count, P, 'skippedSteps');
    const params = Array.isArray(s.params) ? (s.params as unknown[]) : bad('params', 'an array', s.params);
    const restored = new Map<ParamRef, Rows>();
    params.forEach((e, k) => {
      const path = `params[${k}]`;
      const { param } = locate(this.#optimizer.paramGroups, e, P, path);
      if (restored.has(param)) bad(path, 'each parameter once', param.name ?? e);
      const { mode, width, seen, current } = e as Partial<Record<keyof SavedRows, unknown>>;
      const length = this.#optimizer.getState(param)!.squareAvg.length;
      if (mode !== 'lazy' && mode !== 'exact') return bad(`${path}.mode`, "'lazy' or 'exact'", mode);
      const w = checkNumber(width, wholeAtLeast1, P, `${path}.width`);
      if (length % w !== 0) bad(`${path}.width`, `a whole number that divides the length ${length}`, w);
      const last = checkNumber(seen, count, P, `${path}.seen`);
      if (mode === 'lazy' ? current !== null : !(current instanceof Float64Array && current.length === length / w)) {
        bad(`${path}.current`, mode === 'lazy' ? 'null' : `a Float64Array of ${length / w} update counts`, current);
      }
      const u = mode === 'exact' ? (current as Float64Array).findIndex((x) => !(Number.isInteger(x) && x >= 0 && x <= last)) : -1;
      if (u >= 0) bad(`${path}.current[${u}]`, `a whole number from 0 to ${last} (seen)`, (current as Float64Array)[u]);
      restored.set(param, { mode, width: w, current: mode === 'exact' ? (current as Float64Array).slice() : null, seen: last, loads: null });
    });
    this.#rows.clear();
    for (const [param, rows] of restored) this.#rows.set(param, rows);
    this.#skipped = skipped;
  }
}
