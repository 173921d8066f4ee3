/// <reference lib="dom" />
/**
 * RMSProp for parameters that live in WebGPU buffers: the same groups, options, presets,
 * schedules and checks as `RMSProp`, the update recorded into a compute pass (the WGSL kernel of
 * `rmsprop-step.wgsl.ts`), nothing read back.
 *
 * The kernel itself (`rmspropWGSL`, its uniform layout and writer) is exported here too, for
 * engines that bind it themselves. Types: the DOM library's WebGPU types (TypeScript 6), or
 * `@webgpu/types`.
 *
 * @module rmsprop/webgpu
 */
import { at, checkNumber, count, invalid } from './checks.js';
import { formatValue } from './format.js';
import { checkOptions, isFrozen, resolveHyper, resolveOptions } from './options.js';
import type { GroupHyper, Mutable, RMSPropOptions } from './options.js';
import { buildGroupsOf, readParam, toGroupSpecs } from './param-groups.js';
import type { Who } from './param-groups.js';
import { rmspropDefaults } from './rmsprop-step.js';
import type { RMSPropHyper } from './rmsprop-step.js';
import { HYPER_BYTES, rmspropWGSL, writeHyper } from './rmsprop-step.wgsl.js';
import { checkWritable, checkedHyper, planLoad } from './state-dict.js';
import { bindingLimit } from './webgpu-limits.js';
import type { RMSPropStateDict } from './state-dict.js';

/**
 * Part of a buffer: `length` float32 elements from element `offset` (any offset: no alignment
 * is needed).
 *
 * @example
 * ```ts
 * const bias: GPURange = { buffer: weights, offset: 4097, length: 64 };
 * ```
 */
export interface GPURange {
  readonly buffer: GPUBuffer;
  readonly offset: number;
  readonly length: number;
}

/**
 * A parameter on the GPU: its values and its gradient, each a whole buffer of float32 values
 * (usage `STORAGE`) or a range of one; `name` as for `RMSProp`. Both are bound when the
 * parameter is registered: unlike `RMSProp`, which reads `grad` at every step, the optimizer
 * keeps using these buffers (an engine that replaces one builds a new optimizer, loading the old one's state).
 *
 * @example
 * ```ts
 * const w: GPUParamRef = { data: wBuffer, grad: { buffer: grads, offset: 0, length: 4096 }, name: 'w' };
 * ```
 */
export interface GPUParamRef {
  readonly data: GPUBuffer | GPURange;
  readonly grad: GPUBuffer | GPURange;
  readonly name?: string;
}

/**
 * A group of GPU parameters with its own options, as `ParamGroupSpec` is for `RMSProp`.
 *
 * @example
 * ```ts
 * const groups: GPUParamGroupSpec[] = [{ params: [w] }, { params: [bias], weightDecay: 0 }];
 * ```
 */
export interface GPUParamGroupSpec extends RMSPropOptions {
  readonly params: readonly GPUParamRef[];
}

/**
 * A registered group: its parameters and every hyperparameter, read at every `step()`.
 *
 * @example
 * ```ts
 * opt.paramGroups[0]!.lr = 1e-3;
 * ```
 */
export type GPUParamGroup = { -readonly [K in keyof GroupHyper]: GroupHyper[K] } & { readonly params: readonly GPUParamRef[] };

/**
 * The optimizer's options: every group's defaults, and what a step does with a NaN or infinite
 * gradient element: `'apply'` (PyTorch's: it goes into the update) or `'skip'` (a pass on the
 * device finds it first, and the whole step then writes nothing; {@link GPURMSProp.skippedSteps}
 * counts them). `'throw'` cannot be had here: the gradients are on the device, and knowing
 * before `step()` returns would mean waiting for them to be read back.
 *
 * @example
 * ```ts
 * const opt = new GPURMSProp(device, params, { ...presets.keras, lr: 1e-3, nonFinite: 'skip' });
 * ```
 */
export interface GPUOptimizerOptions extends RMSPropOptions {
  readonly nonFinite?: 'apply' | 'skip';
}

const P = 'GPURMSProp';
/** WebGPU's buffer usage and map mode flags (the spec's values; not every runtime has the globals). */
const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;
const MAP_READ = 0x1;
const WORKGROUP = 256;
const SLOT = 256; // bytes between two parameters' uniforms (minUniformBufferOffsetAlignment's most)

/** A parameter as registered: its ranges, state buffers and what binds them. */
interface Param extends Who<GPUParamRef> {
  readonly data: GPURange;
  readonly grad: GPURange;
  readonly shared: boolean;
  readonly length: number;
  /** The parameter in parts that each fit one storage binding (one part, unless it is larger than a binding holds). */
  readonly chunks: readonly Chunk[];
  readonly sq: GPUBuffer;
  ga: GPUBuffer | null;
  mb: GPUBuffer | null;
  step: number;
  /** Its counter of skipped updates in the status buffer: status[2 + slot]. */
  readonly slot: number;
}

/** A part of a parameter: its elements, the windows of its buffers that hold them, its uniform slot and binding. */
interface Chunk {
  readonly start: number;
  readonly count: number;
  readonly data: Window;
  readonly grad: Window;
  readonly state: Window;
  readonly uniform: number;
  bind: GPUBindGroup | null;
}

/** A bound part of a buffer: its byte offset and size, and the parameter's first element in it. */
interface Window {
  readonly offset: number;
  readonly size: number;
  readonly first: number;
}

/** A group as registered. */
interface GroupRecord {
  readonly group: GPUParamGroup;
  readonly records: readonly Param[];
}

/**
 * RMSProp over WebGPU buffers: PyTorch's `torch.optim.RMSprop` by default, every framework's
 * variant through the same options and presets as `RMSProp`, each step one compute pass.
 *
 * @example
 * ```ts
 * const opt = new GPURMSProp(device, [{ data: wBuffer, grad: gBuffer }], { lr: 1e-3, momentum: 0.9 });
 * const encoder = device.createCommandEncoder();
 * // ... the engine's forward and backward passes, then:
 * opt.step(encoder);
 * device.queue.submit([encoder.finish()]);
 * ```
 */
export class GPURMSProp {
  readonly #device: GPUDevice;
  readonly #defaults: Readonly<GroupHyper>;
  #groups: readonly GroupRecord[] = [];
  #updates = 0;
  readonly #skip: boolean;
  /** Per variant (gradient in its own buffer, in the parameter's): the layout and the scan, update and finish pipelines. */
  readonly #pipelines: readonly Pipelines[];
  #status: GPUBuffer;
  readonly #empty: readonly [GPUBuffer, GPUBuffer];
  #uniform: GPUBuffer | null = null;
  #words: ArrayBuffer = new ArrayBuffer(0);
  /** Per group, the object its hyperparameters are resolved into at each step (reused: a step allocates none). */
  readonly #hypers: Mutable<RMSPropHyper>[] = [];
  /** The first failure the device reported of this optimizer's own work, or its loss: thrown by every later call. */
  #failure: Error | null = null;
  /** The error scopes of this optimizer's work not yet reported (each removes itself when it is). */
  readonly #pending = new Set<Promise<void>>();

  /**
   * @param device - The device the buffers belong to.
   * @param params - The parameters, or groups `{ params, ...options }`.
   * @param options - Options for every group that does not set its own.
   * @throws TypeError or RangeError naming the option or parameter (group and index), as
   *   `RMSProp` does, and for a buffer without `STORAGE` usage or a range past its end.
   *
   * @example
   * ```ts
   * const opt = new GPURMSProp(device, [{ params: [w1, w2] }, { params: [bias], weightDecay: 0 }], { lr: 1e-3 });
   * ```
   */
  constructor(device: GPUDevice, params: readonly GPUParamRef[] | readonly GPUParamGroupSpec[], options: GPUOptimizerOptions = {}) {
    if (typeof device !== 'object' || device === null || typeof (device as { createBuffer?: unknown }).createBuffer !== 'function') {
      throw new TypeError(invalid(P, 'device', 'a GPUDevice', device));
    }
    checkOptions(options, P, -1, ['nonFinite']);
    const { nonFinite = 'apply', ...rest } = options;
    if (nonFinite !== 'apply' && nonFinite !== 'skip') {
      throw new TypeError(invalid(P, 'nonFinite', `'apply' or 'skip' ('throw' cannot be synchronous: the gradients are on the device)`, nonFinite));
    }
    this.#skip = nonFinite === 'skip';
    this.#device = device;
    this.#defaults = Object.freeze(resolveOptions({ ...rmspropDefaults, frozen: false }, rest, P));
    this.#pipelines = [false, true].map((shared) => pipelines(device, shared));
    const storage = USAGE.STORAGE;
    this.#status = device.createBuffer({ size: 16, usage: storage | USAGE.COPY_SRC | USAGE.COPY_DST });
    this.#empty = [device.createBuffer({ size: 16, usage: storage }), device.createBuffer({ size: 16, usage: storage })];
    this.#register(toGroupSpecs(params, P), P);
    device.lost.then(
      (info) => void (this.#failure ??= new Error(`${P}: the device was lost (${info.reason}): ${info.message}`)),
      () => undefined,
    );
  }

  /**
   * Resolves once the device has checked this optimizer's work so far (registration, bindings,
   * the steps it submitted itself); rejects with the first failure, naming the parameter where it
   * is one's. WebGPU reports validation errors asynchronously: the library wraps its own work in
   * error scopes, and every later call throws the failure too.
   *
   * @example
   * ```ts
   * const opt = new GPURMSProp(device, params);
   * await opt.checked(); // a buffer of another device, for one, is reported here
   * ```
   */
  async checked(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
    if (this.#failure !== null) throw this.#failure;
  }

  /** Runs `work` in a validation error scope whose failure is kept, described by `what`. */
  #scoped<T>(what: string, work: () => T): T {
    const device = this.#device;
    device.pushErrorScope('validation');
    try {
      return work();
    } finally {
      const pending: Promise<void> = device.popErrorScope().then(
        (error) => {
          if (error !== null) this.#failure ??= new Error(`${P}: ${what} failed on the device: ${error.message}`);
          this.#pending.delete(pending);
        },
        () => void this.#pending.delete(pending),
      );
      this.#pending.add(pending);
    }
  }

  /**
   * What the GPU path needs beyond `RMSProp`'s checks: an eps a GPU cannot flush to zero or be
   * undone by (a square average below 2^-126 may be flushed to 0; with eps >= 2^-63 a step is then
   * still at most lr), and no bias correction with 'skip' (it needs counts only the device knows).
   */
  #gpuChecks(h: { readonly eps: number; readonly biasCorrection: boolean }, prefix: string, gi: number): void {
    if (!(h.eps >= 2 ** -63)) throw new RangeError(`${prefix}: invalid eps in group ${gi}: expected at least 2^-63 (about 1.1e-19: a GPU may flush a square average below 2^-126 to 0, and a smaller eps would then make a step larger than lr), got ${formatValue(h.eps)}`);
    if (this.#skip && h.biasCorrection) {
      throw new Error(`${prefix}: biasCorrection in group ${gi} cannot be used with nonFinite 'skip' here: it needs each parameter's update count, which only the device knows once a step may be skipped`);
    }
  }

  /** Throws the failure the device reported, if any. */
  #live(prefix: string): void {
    if (this.#failure !== null) throw new Error(`${prefix}: ${this.#failure.message}`, { cause: this.#failure });
  }

  /**
   * The groups, in order; assign to their hyperparameters between steps.
   *
   * @example
   * ```ts
   * opt.paramGroups[0]!.lr = 1e-4;
   * ```
   */
  get paramGroups(): readonly GPUParamGroup[] {
    return this.#groups.map((g) => g.group);
  }

  /**
   * Adds a group, checked as the constructor checks its groups.
   *
   * @example
   * ```ts
   * opt.addParamGroup({ params: [head], lr: 0.05 });
   * ```
   */
  addParamGroup(group: GPUParamGroupSpec): void {
    this.#live(`${P}.addParamGroup`);
    this.#register([group], `${P}.addParamGroup`);
  }

  /**
   * Records one update of every parameter of every group that is not frozen into `encoder` (one
   * compute pass), or submits its own when none is given. Reads nothing back.
   *
   * @throws What `RMSProp.step()` throws for a hyperparameter or schedule, naming the group;
   *   nothing is recorded then.
   *
   * @example
   * ```ts
   * opt.step(encoder); // after the passes that write the gradients
   * ```
   */
  step(encoder?: GPUCommandEncoder): void {
    const S = `${P}.step`;
    this.#live(S);
    const t = this.#updates;
    const active: [GroupRecord, RMSPropHyper][] = [];
    this.#groups.forEach((g, gi) => {
      if (isFrozen(g.group, S, gi)) return;
      const h = resolveHyper(g.group, (this.#hypers[gi] ??= { ...rmspropDefaults }), t, S, gi);
      this.#gpuChecks(h, S, gi);
      active.push([g, h]);
    });
    if (active.length === 0) return;
    for (const [g] of active) {
      for (const r of g.records) {
        for (const [what, b] of [['data', r.data.buffer], ['grad', r.grad.buffer]] as const) {
          if (b.mapState !== 'unmapped') throw new Error(`${S}: the ${what} buffer of ${at(r.group, r.index)} is ${b.mapState}: unmap it before the step`);
        }
      }
    }
    for (const [g, h] of active) for (const r of g.records) this.#ensure(r, h);
    for (const [g, h] of active) {
      for (const r of g.records) {
        for (const c of r.chunks) {
          const xCount = Math.min(Math.ceil(c.count / WORKGROUP), 65_535);
          // Element start + k is at (window's first - start) + start + k of each binding (u32: wraps as WGSL's does).
          const at = { param: c.data.first - c.start, grad: c.grad.first - c.start, state: c.state.first - c.start, first: c.start, count: c.count, xCount, slot: r.slot };
          writeHyper(this.#words, c.uniform * SLOT, h, r.step + 1, at, this.#skip);
        }
      }
    }
    this.#scoped('a step', () => this.#record(active, encoder));
    for (const [g] of active) for (const r of g.records) r.step++;
    this.#updates++;
  }

  /** Writes the uniforms and records (and, with no encoder of the caller's, submits) one step. */
  #record(active: readonly [GroupRecord, RMSPropHyper][], encoder: GPUCommandEncoder | undefined): void {
    const device = this.#device;
    const own = encoder === undefined ? device.createCommandEncoder() : encoder;
    // This step's uniforms, copied in the encoder's order: a queue write would land before every
    // step not yet submitted, and two steps recorded before a submit would share the later's.
    const source = device.createBuffer({ size: this.#words.byteLength, usage: USAGE.COPY_SRC, mappedAtCreation: true });
    new Uint8Array(source.getMappedRange()).set(new Uint8Array(this.#words));
    source.unmap();
    own.copyBufferToBuffer(source, 0, this.#uniform!, 0, this.#words.byteLength);
    if (this.#skip) own.clearBuffer(this.#status, 0, 4); // this step's flag
    const pass = own.beginComputePass();
    const dispatch = (kind: 'scan' | 'update'): void => {
      for (const [g] of active) {
        for (const r of g.records) {
          for (const c of r.chunks) {
            const groups = Math.ceil(c.count / WORKGROUP);
            const x = Math.min(groups, 65_535);
            pass.setPipeline(this.#pipelines[r.shared ? 1 : 0]![kind]);
            pass.setBindGroup(0, c.bind);
            pass.dispatchWorkgroups(x, Math.ceil(groups / x));
          }
        }
      }
    };
    if (this.#skip) dispatch('scan');
    dispatch('update');
    if (this.#skip) {
      const last = active[active.length - 1]![0].records;
      const r = last[last.length - 1]!;
      pass.setPipeline(this.#pipelines[r.shared ? 1 : 0]!.finish);
      pass.setBindGroup(0, r.chunks[0]!.bind);
      pass.dispatchWorkgroups(1);
    }
    pass.end();
    if (encoder === undefined) {
      device.queue.submit([own.finish()]);
      source.destroy(); // freed once the submitted copy has run
    }
    // In the caller's encoder, the source lives until the caller's submit has used it (garbage
    // collected then): destroying it first would fail that submit.
  }

  /**
   * The number of steps skipped for a NaN or infinite gradient (`nonFinite: 'skip'`), read back
   * from the device once the steps recorded so far have run.
   *
   * @example
   * ```ts
   * if ((await opt.skippedSteps()) > 0) console.warn('some steps were skipped');
   * ```
   */
  async skippedSteps(): Promise<number> {
    this.#live(`${P}.skippedSteps`);
    return (await this.#counters())[1]!;
  }

  /** The status buffer's counters, read back: [flag, skipped steps, per parameter its skipped updates]. */
  async #counters(): Promise<Uint32Array> {
    const device = this.#device;
    const staging = device.createBuffer({ size: this.#status.size, usage: USAGE.MAP_READ | USAGE.COPY_DST });
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(this.#status, 0, staging, 0, this.#status.size);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(MAP_READ);
    const counters = new Uint32Array(staging.getMappedRange().slice(0));
    staging.destroy();
    return counters;
  }

  /**
   * Everything this optimizer holds, read back from the GPU, as `RMSProp.stateDict()` gives it:
   * load it into an `RMSProp` (or encode it with `encodeState`), or back into this optimizer.
   *
   * @example
   * ```ts
   * const saved = await opt.stateDict();
   * cpuOptimizer.loadStateDict(saved);
   * ```
   */
  async stateDict(): Promise<RMSPropStateDict> {
    const hypers = this.#groups.map((g, gi) => checkedHyper(g.group, `${P}.stateDict`, gi)); // as RMSProp.stateDict() checks them
    this.#live(`${P}.stateDict`);
    // Everything at the call, before any await: the counts, and the copies of the buffers and
    // counters submitted now, so that steps submitted while this waits are in none of them.
    const updates = this.#updates;
    const groups = this.#groups;
    const steps = new Map(groups.flatMap((g) => g.records.map((r) => [r, r.step] as const)));
    const device = this.#device;
    const encoder = device.createCommandEncoder();
    const copy = (b: GPUBuffer | null): GPUBuffer | null => {
      if (b === null) return null;
      const staging = device.createBuffer({ size: b.size, usage: USAGE.MAP_READ | USAGE.COPY_DST }); // one per buffer: each fits where its source did
      encoder.copyBufferToBuffer(b, 0, staging, 0, b.size);
      return staging;
    };
    const all = groups.flatMap((g) => g.records);
    const reads = this.#scoped('reading the state back', () => all.map((r) => ({ r, sq: copy(r.sq)!, ga: copy(r.ga), mb: copy(r.mb) })));
    const status = this.#scoped('reading the counters back', () => copy(this.#status)!);
    device.queue.submit([encoder.finish()]);
    try {
      await this.checked();
    } catch {
      this.#live(`${P}.stateDict`);
    }
    const read = async (staging: GPUBuffer | null): Promise<ArrayBuffer | null> => {
      if (staging === null) return null;
      await staging.mapAsync(MAP_READ);
      const bytes = staging.getMappedRange().slice(0);
      staging.destroy();
      return bytes;
    };
    const counters = new Uint32Array((await read(status))!);
    const values = await Promise.all(
      reads.map(async ({ r, sq, ga, mb }) => {
        const [s, g, m] = await Promise.all([read(sq), read(ga), read(mb)]);
        const f = (b: ArrayBuffer | null): Float32Array | null => (b === null ? null : new Float32Array(b));
        return { r, sq: f(s)!, ga: f(g), mb: f(m) };
      }),
    );
    const byRecord = new Map(values.map((v) => [v.r, v]));
    return {
      format: 'rmsprop-state',
      version: 2,
      nonFinite: this.#skip ? 'skip' : 'apply',
      skippedSteps: counters[1]!,
      updates,
      groups: groups.map((g, gi) => {
        const { lr, ...hyper } = hypers[gi]!;
        return {
          hyper: { ...hyper, lr: typeof lr === 'function' ? 'schedule' : lr },
          params: g.records.map((r) => {
            const v = byRecord.get(r)!;
            // Its updates: the steps it took part in, less those the device skipped.
            // A buffer the options need but that no step has made yet starts at zero: saved as zeros, as RMSProp saves it.
            const needed = (b: Float32Array | null, on: boolean): Float32Array | null => b ?? (on ? new Float32Array(r.length) : null);
            return { name: r.name ?? null, step: steps.get(r)! - counters[2 + r.slot]!, squareAvg: v.sq, gradAvg: needed(v.ga, hyper.centered), momentumBuffer: needed(v.mb, hyper.momentum > 0) };
          }),
        };
      }),
    };
  }

  /**
   * Restores a state from `RMSProp.stateDict()` or {@link GPURMSProp.stateDict}: every group's
   * hyperparameters and every parameter's buffers and update count, checked as
   * `RMSProp.loadStateDict` checks them (the same messages) before anything is written. The
   * state's `nonFinite` policy is not taken: this optimizer keeps its own.
   *
   * @throws Error naming the field that does not fit; nothing is written then.
   *
   * @example
   * ```ts
   * opt.loadStateDict(cpuOptimizer.stateDict());
   * ```
   */
  loadStateDict(saved: RMSPropStateDict): void {
    const L = `${P}.loadStateDict`;
    this.#live(L);
    const targets = this.#groups.map((g) => ({ group: g.group, slots: g.records.map((r) => ({ name: r.name, f64: false, length: r.length, group: r.group, index: r.index })) }));
    const plan = planLoad(saved, targets, L);
    plan.hyper.forEach((h, gi) => this.#gpuChecks(h, L, gi));
    checkWritable(this.#groups.map((g, index) => ({ group: g.group, index })), L);
    // Checked: from here on nothing can fail.
    this.#groups.forEach((g, gi) => {
      Object.assign(g.group, plan.hyper[gi]);
      g.records.forEach((r, i) => {
        const p = plan.states[gi]![i]!;
        const q = this.#device.queue;
        q.writeBuffer(r.sq, 0, p.squareAvg);
        // A buffer the state has not is dropped, as RMSProp drops it (made again, zeroed, when needed).
        for (const [which, values] of [['ga', p.gradAvg], ['mb', p.momentumBuffer]] as const) {
          if (values !== null) q.writeBuffer(this.#allocate(r, which), 0, values);
          else if (r[which] !== null) {
            r[which] = null;
            for (const c of r.chunks) c.bind = null;
          }
        }
        r.step = p.step;
      });
    });
    this.#updates = plan.updates;
    // The device's counters start again from the state's: skipped steps, no update skipped since.
    const counters = new Uint32Array(this.#status.size / 4);
    counters[1] = plan.skippedSteps;
    this.#device.queue.writeBuffer(this.#status, 0, counters);
  }

  /** Checks new groups, then makes their state buffers, uniforms and bindings. */
  #register(specs: readonly unknown[], prefix: string): void {
    const device = this.#device;
    const existing = this.#groups.flatMap((g) => g.records);
    const { groups, params } = buildGroupsOf(specs, this.#defaults, existing, this.#groups.length, prefix, (p, pre, gi, i) => checkParam(p, pre, gi, i));
    groups.forEach((g, k) => this.#gpuChecks(g, prefix, this.#groups.length + k));
    disjoint([...existing, ...params.flat()], existing.length, prefix);
    let slot = existing.length;
    let uniform = existing.reduce((n, r) => n + r.chunks.length, 0);
    const limits = { max: bindingLimit ?? device.limits.maxStorageBufferBindingSize, align: device.limits.minStorageBufferOffsetAlignment, buffer: device.limits.maxBufferSize };
    const plans = params.map((list) => list.map((p) => chunksOf(p, limits, prefix)));
    const added = groups.map((group, k): GroupRecord => ({
      group,
      records: params[k]!.map((p, i): Param => {
        const sq = device.createBuffer({ size: 4 * p.length, usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST });
        if (group.initialAccumulator !== 0) device.queue.writeBuffer(sq, 0, new Float32Array(p.length).fill(group.initialAccumulator));
        const chunks = plans[k]![i]!.map((c): Chunk => ({ ...c, uniform: uniform++, bind: null }));
        return { ...p, chunks, sq, ga: null, mb: null, step: 0, slot: slot++ };
      }),
    }));
    this.#groups = [...this.#groups, ...added];
    // The counters ([flag, skipped steps, per parameter its skipped updates]), kept as they were.
    const status = device.createBuffer({ size: 4 * (2 + Math.max(2, slot)), usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST });
    const copy = device.createCommandEncoder();
    copy.copyBufferToBuffer(this.#status, 0, status, 0, Math.min(this.#status.size, status.size));
    device.queue.submit([copy.finish()]);
    // The old buffers are not destroyed: a step recorded in an encoder not yet submitted uses them.
    this.#status = status;
    this.#uniform = device.createBuffer({ size: Math.max(1, uniform) * SLOT, usage: USAGE.UNIFORM | USAGE.COPY_DST });
    this.#words = new ArrayBuffer(Math.max(1, uniform) * SLOT);
    // Bound (again: the uniform buffer is new) now, so that a buffer the device refuses is
    // reported by checked() from here, naming its parameter.
    for (const g of this.#groups) {
      for (const r of g.records) {
        for (const c of r.chunks) c.bind = null;
        this.#ensure(r, g.group);
      }
    }
  }

  /** Allocates a state buffer switched on since registration (zeroed), and unbinds. */
  #allocate(r: Param, which: 'ga' | 'mb'): GPUBuffer {
    if (r[which] === null) {
      r[which] = this.#device.createBuffer({ size: 4 * r.length, usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST });
      for (const c of r.chunks) c.bind = null;
    }
    return r[which]!;
  }

  /** The buffers a step with `h` needs, and the binding of them. */
  #ensure(r: Param, h: { readonly centered: boolean; readonly momentum: number }): void {
    if (h.centered) this.#allocate(r, 'ga');
    if (h.momentum > 0) this.#allocate(r, 'mb');
    const layout = this.#pipelines[r.shared ? 1 : 0]!.layout;
    r.chunks.forEach((c, j) => {
      if (c.bind !== null) return;
      const state = (b: GPUBuffer): GPUBufferBinding => ({ buffer: b, offset: c.state.offset, size: c.state.size });
      const entries: GPUBindGroupEntry[] = [
        { binding: 0, resource: { buffer: r.data.buffer, offset: c.data.offset, size: c.data.size } },
        { binding: 2, resource: state(r.sq) },
        { binding: 3, resource: r.ga === null ? { buffer: this.#empty[0] } : state(r.ga) },
        { binding: 4, resource: r.mb === null ? { buffer: this.#empty[1] } : state(r.mb) },
        { binding: 5, resource: { buffer: this.#uniform!, offset: c.uniform * SLOT, size: HYPER_BYTES } },
        { binding: 6, resource: { buffer: this.#status } },
      ];
      if (!r.shared) entries.push({ binding: 1, resource: { buffer: r.grad.buffer, offset: c.grad.offset, size: c.grad.size } });
      const part = r.chunks.length > 1 ? ` (part ${j} of ${r.chunks.length})` : '';
      c.bind = this.#scoped(`binding the buffers of ${at(r.group, r.index)}${part}`, () => this.#device.createBindGroup({ layout, entries }));
    });
  }
}

/**
 * A parameter in parts that each fit one storage binding, with the windows of its buffers that
 * hold each part: a whole buffer where the device binds one that large, else the part from the
 * element before the range (at the device's offset alignment) on; with data and gradient in one
 * buffer, one window holding both. Refuses what no part can be bound of.
 */
function chunksOf(p: Checked, limits: { readonly max: number; readonly align: number; readonly buffer: number }, prefix: string): Omit<Chunk, 'uniform' | 'bind'>[] {
  const { max, align } = limits;
  const where = at(p.group, p.index);
  if (4 * p.length > limits.buffer) {
    throw new RangeError(`${prefix}: invalid data: ${p.length} elements (${4 * p.length} bytes) are more than one buffer of this device holds for its state (maxBufferSize ${limits.buffer}) ${where}`);
  }
  // A data/grad pair in one buffer that fits a binding is bound whole: the gap between them costs nothing then.
  const gap = p.shared && Math.floor(p.data.buffer.size / 4) * 4 > max ? Math.abs(p.data.offset - p.grad.offset) : 0;
  const size = Math.floor((max - align + 4) / 4) - gap; // elements of a part: fits a window wherever it starts
  if (size <= 0 || Math.ceil(p.length / size) > 4096) {
    throw new RangeError(`${prefix}: invalid data and grad: elements ${Math.min(p.data.offset, p.grad.offset)} to ${Math.max(p.data.offset, p.grad.offset) + p.length - 1} of one buffer are too far apart to be bound together in parts of a useful size (maxStorageBufferBindingSize ${max}): put the gradient in a buffer of its own ${where}`);
  }
  const window = (bytes: number, from: number, to: number): Window => {
    const whole = Math.floor(bytes / 4) * 4; // a binding's size is a multiple of 4
    if (whole <= max) return { offset: 0, size: whole, first: from };
    const offset = Math.floor((4 * from) / align) * align;
    return { offset, size: Math.min(whole - offset, 4 * to - offset), first: from - offset / 4 };
  };
  const chunks: Omit<Chunk, 'uniform' | 'bind'>[] = [];
  for (let start = 0; start < p.length; start += size) {
    const count = Math.min(size, p.length - start);
    let data: Window;
    let grad: Window;
    if (p.shared) {
      const from = Math.min(p.data.offset, p.grad.offset) + start;
      const w = window(p.data.buffer.size, from, from + gap + count);
      data = { ...w, first: w.first + p.data.offset + start - from };
      grad = { ...w, first: w.first + p.grad.offset + start - from };
    } else {
      data = window(p.data.buffer.size, p.data.offset + start, p.data.offset + start + count);
      grad = window(p.grad.buffer.size, p.grad.offset + start, p.grad.offset + start + count);
    }
    chunks.push({ start, count, data, grad, state: window(4 * p.length, start, start + count) });
  }
  return chunks;
}

/**
 * Refuses memory that two parameters' updates would both touch: a parameter's data shared with
 * another's data or gradient (gradients may share: they are only read). One sorted sweep per
 * buffer; `fresh` is where the new parameters start in `all`, and one of a pair must be new.
 */
function disjoint(all: readonly Checked[], fresh: number, prefix: string): void {
  interface Span {
    readonly p: Checked;
    readonly what: 'data' | 'grad';
    readonly from: number;
    readonly to: number;
    readonly isNew: boolean;
  }
  const byBuffer = new Map<GPUBuffer, Span[]>();
  all.forEach((p, k) => {
    for (const what of ['data', 'grad'] as const) {
      const r = p[what];
      const list = byBuffer.get(r.buffer) ?? [];
      list.push({ p, what, from: r.offset, to: r.offset + r.length, isNew: k >= fresh });
      byBuffer.set(r.buffer, list);
    }
  });
  for (const list of byBuffer.values()) {
    list.sort((a, b) => a.from - b.from);
    let reach: Span | null = null; // of the spans so far, the one reaching furthest
    let reachData: Span | null = null; // the same, of the data spans
    for (const e of list) {
      for (const o of [e.what === 'data' ? reach : reachData]) {
        if (o !== null && e.from < o.to && o.p !== e.p && (o.isNew || e.isNew)) {
          const [later, earlier] = e.p.group > o.p.group || (e.p.group === o.p.group && e.p.index > o.p.index) ? [e, o] : [o, e];
          throw new Error(`${prefix}: ${later.what} ${at(later.p.group, later.p.index)} shares memory with the ${earlier.what} of ${at(earlier.p.group, earlier.p.index)}`);
        }
      }
      if (reach === null || e.to > reach.to) reach = e;
      if (e.what === 'data' && (reachData === null || e.to > reachData.to)) reachData = e;
    }
  }
}

/** One variant's bind group layout and pipelines. */
interface Pipelines {
  readonly layout: GPUBindGroupLayout;
  readonly scan: GPUComputePipeline;
  readonly update: GPUComputePipeline;
  readonly finish: GPUComputePipeline;
}

/** The pipelines of the kernel's entry points over one explicit layout, so that one bind group serves them all. */
function pipelines(device: GPUDevice, shared: boolean): Pipelines {
  const COMPUTE = 0x4;
  const storage = (binding: number, type: GPUBufferBindingType = 'storage'): GPUBindGroupLayoutEntry => ({ binding, visibility: COMPUTE, buffer: { type } });
  const entries = [storage(0), storage(2), storage(3), storage(4), storage(5, 'uniform'), storage(6)];
  if (!shared) entries.push(storage(1, 'read-only-storage'));
  const layout = device.createBindGroupLayout({ entries });
  const module = device.createShaderModule({ code: rmspropWGSL(shared) });
  const pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [layout] });
  const make = (entryPoint: string): GPUComputePipeline => device.createComputePipeline({ layout: pipelineLayout, compute: { module, entryPoint } });
  return { layout, scan: make('scan'), update: make('update'), finish: make('finish') };
}

/** A GPU parameter as registration reads it: its ranges checked, each read once. */
interface Checked extends Who<GPUParamRef> {
  readonly data: GPURange;
  readonly grad: GPURange;
  readonly shared: boolean;
  readonly length: number;
}

function checkParam(param: unknown, prefix: string, group: number, index: number): Checked {
  const where = at(group, index);
  const p = readParam(param, ['data', 'grad'], prefix, group, index);
  const data = range(p.data, prefix, 'data', where);
  const grad = range(p.grad, prefix, 'grad', where);
  if (grad.length !== data.length) throw new RangeError(`${prefix}: invalid grad: expected ${data.length} elements (as data), got ${grad.length} ${where}`);
  const shared = data.buffer === grad.buffer;
  if (shared && data.offset < grad.offset + grad.length && grad.offset < data.offset + data.length) {
    throw new Error(`${prefix}: grad shares memory with data ${where}: elements ${grad.offset} to ${grad.offset + grad.length - 1} and ${data.offset} to ${data.offset + data.length - 1} of one buffer`);
  }
  return { param: param as GPUParamRef, name: p.name, group, index, data, grad, shared, length: data.length };
}

function range(x: unknown, prefix: string, name: string, where: string): GPURange {
  // A GPUBuffer of this page's WebGPU, or of another implementation (the `webgpu` package in Node).
  const isBuffer = (b: unknown): b is GPUBuffer =>
    typeof b === 'object' && b !== null && typeof (b as GPUBuffer).size === 'number' && typeof (b as GPUBuffer).usage === 'number' && typeof (b as GPUBuffer).destroy === 'function';
  const usable = (b: GPUBuffer): GPUBuffer => {
    if ((b.usage & USAGE.STORAGE) === 0) throw new TypeError(`${prefix}: invalid ${name}: expected a buffer with STORAGE usage, got usage ${b.usage} ${where}`);
    return b;
  };
  if (isBuffer(x)) {
    if (x.size < 4) throw new RangeError(`${prefix}: invalid ${name}: expected a buffer of at least one float32 value (4 bytes), got one of ${x.size} bytes ${where}`);
    return { buffer: usable(x), offset: 0, length: Math.floor(x.size / 4) };
  }
  const r = (typeof x === 'object' && x !== null ? x : {}) as Partial<GPURange>;
  if (!isBuffer(r.buffer)) throw new TypeError(invalid(prefix, name, 'a GPUBuffer or { buffer, offset, length }', x, '', ` ${where}`));
  const offset = checkNumber(r.offset, count, prefix, `${name}.offset`, '', ` ${where}`);
  const length = checkNumber(r.length, count, prefix, `${name}.length`, '', ` ${where}`);
  const size = Math.floor(r.buffer.size / 4);
  if (length === 0 || offset + length > size) throw new RangeError(`${prefix}: invalid ${name}: elements ${offset} to ${offset + length - 1} are not all in the buffer of ${size} float32 values ${where}`);
  return { buffer: usable(r.buffer), offset, length };
}

export { FLAGS, HYPER, HYPER_BYTES, rmspropWGSL, writeHyper } from './rmsprop-step.wgsl.js';
export type { GPUHyper, Placement } from './rmsprop-step.wgsl.js';
