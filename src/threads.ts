/**
 * The threaded arena: an {@link Arena} over a shared `WebAssembly.Memory` whose SIMD steps are
 * split by elements between the calling thread and `threads - 1` workers.
 *
 * @module rmsprop/threads
 */
import { arenaCore } from './arena.js';
import type { Arena } from './backend.js';
import { checkNumber, rule } from './checks.js';
import type { Rule } from './checks.js';
import type { FloatArray, RMSPropHyper, RMSPropState } from './rmsprop-step.js';
import type { SimdKernel } from './simd-step.js';
import { clearFault, pendingFault } from './threads-faults.js';
import { WASM_MODULE_BASE64 } from './wasm-module.js';
import { WASM_SHARED_MODULE_BASE64 } from './wasm-module-shared.js';

/**
 * Options of {@link createThreadedArena}.
 *
 * @example
 * ```ts
 * const options: ThreadOptions = { threads: 4, minParallel: 16_384, timeout: 10_000 };
 * ```
 */
export interface ThreadOptions {
  /** Threads that step, the calling one included: a whole number from 1 to 64 (1: no workers). */
  readonly threads: number;
  /**
   * Below this many elements in one step the calling thread steps alone (waking the workers
   * would cost more than it saves). A whole number >= 0. @defaultValue `8192`
   */
  readonly minParallel?: number;
  /**
   * How long a step waits for the workers, in milliseconds, before it reports them as lost: a
   * number > 0. Also bounds the wait for the workers to start. @defaultValue `10000`
   */
  readonly timeout?: number;
}

/**
 * An {@link Arena} whose steps run on several threads: every SIMD step is split by elements
 * (multiples of 4) between the calling thread and its workers, so one large tensor uses every
 * core; the results are the same, bit for bit, as the single-threaded arena's. Steps stay
 * synchronous: the calling thread takes its share, then waits for the workers with
 * `Atomics.wait`. An `RMSProp` created with `{ arena }` hands each `step()`'s work to it in one
 * batch.
 *
 * @example
 * ```ts
 * import { RMSProp } from 'rmsprop';
 * import { createThreadedArena } from 'rmsprop/threads';
 *
 * const arena = await createThreadedArena(3_000_000, { threads: 2 });
 * const w = { data: arena.alloc(1_000_000), grad: arena.alloc(1_000_000) };
 * const opt = new RMSProp([w], { lr: 1e-3, arena });
 * opt.step(); // half the elements on this thread, half on the worker
 * arena.close(); // ends the workers (later steps run on this thread alone)
 * ```
 */
export interface ThreadedArena extends Arena {
  /** Threads that step, the calling one included. */
  readonly threads: number;
  /** Below this many elements in one step the calling thread steps alone. */
  readonly minParallel: number;
  /** Whether {@link ThreadedArena.close} was called. */
  readonly closed: boolean;
  /**
   * Ends the workers. The arena's memory and views stay valid and later steps run on the calling
   * thread alone, with the same results. Also `[Symbol.dispose]`, where the runtime has it.
   *
   * @example
   * ```ts
   * try {
   *   train(opt);
   * } finally {
   *   arena.close();
   * }
   * ```
   */
  close(): void;
  /**
   * Called by `RMSProp.step()` before it writes anything: from here to {@link ThreadedArena.end}
   * every step this arena takes is recorded, not run. Throws (so nothing is written) when a
   * worker was lost in an earlier step.
   *
   * @example
   * ```ts
   * arena.begin();
   * arena.step(w.data, w.grad, state, hyper); // recorded
   * arena.end(); // run on every thread
   * ```
   */
  begin(): void;
  /**
   * Runs the steps recorded since {@link ThreadedArena.begin}, split between the threads, and
   * waits for them. Throws when a worker does not answer within the timeout or fails; the
   * message says whether anything was written.
   *
   * @example
   * ```ts
   * arena.begin();
   * for (const p of params) arena.step(p.data, p.grad, p.state, hyper);
   * arena.end();
   * ```
   */
  end(): void;
}

// ---- the control block ---------------------------------------------------------------------------
// One SharedArrayBuffer: a header of int32 words, room for a worker's error message, then the
// recorded calls (8 int32 words and 12 float64 values each). The worker reads it with the same
// offsets, written out as numbers in workerMain (it is sent as source text and cannot import).

/** Int32 words of the header. */
const H = { GEN: 0, ACK: 1, GO: 2, DONE: 3, CMD: 4, CALLS: 5, THREADS: 6, TOTAL: 7, ERR: 8 } as const;
/** Commands in `H.CMD` (3 and 4: the faults of threads-faults.ts). */
const CMD = { RUN: 1, EXIT: 2, FAULT: 3, DIE: 4 } as const;
const MESSAGE = 64; // byte offset of a failing worker's message (its length, then UTF-8 bytes)
/** How long a worker spins for the next step before it sleeps, in milliseconds. */
const SPIN_MS = 2;
const CALLS_AT = 1024; // byte offset of the calls' int32 words
/** Calls one batch holds; a step with more runs in several batches. */
const CAPACITY_CALLS = 1024;
const INTS = 8;
const FLOATS = 12;
const FLOATS_AT = CALLS_AT + CAPACITY_CALLS * INTS * 4;
const CONTROL_BYTES = FLOATS_AT + CAPACITY_CALLS * FLOATS * 8;

/** Where things are in the control block, sent to the workers with their data. */
interface Layout {
  readonly H: typeof H;
  readonly CMD: typeof CMD;
  /** Int32 index of the first call's words, and float64 index of its values. */
  readonly ints: number;
  readonly floats: number;
  /** Int32 index of a failing worker's message length; its UTF-8 bytes follow. */
  readonly message: number;
}
const LAYOUT: Layout = { H, CMD, ints: CALLS_AT / 4, floats: FLOATS_AT / 8, message: MESSAGE / 4 };

const THREADS: Rule = rule((x) => Number.isInteger(x) && x >= 1 && x <= 64, 'a whole number from 1 to 64');
const MIN_PARALLEL: Rule = rule((x) => Number.isInteger(x) && x >= 0, 'a whole number >= 0');
const TIMEOUT: Rule = rule((x) => x > 0 && x <= 2 ** 31, 'a number of milliseconds > 0 and at most 2^31');
const OPTION_KEYS = ['threads', 'minParallel', 'timeout'];

/**
 * Steps thread `t`'s share of the recorded calls: the calls' elements laid end to end, cut into
 * `threads` runs of a multiple of 4 elements, each cut moved down to a multiple of 4 within its
 * call. Runs on the calling thread as is and, as source text, in every worker: no reference to
 * anything outside it.
 */
function stepShare(k: SimdKernel, I: Int32Array, F: Float64Array, t: number, threads: number, L: Layout): void {
  const calls = I[L.H.CALLS]!, total = I[L.H.TOTAL]!;
  const share = Math.ceil(total / threads / 4) * 4;
  const lo = Math.min(total, t * share), hi = Math.min(total, lo + share);
  const cut = (x: number, n: number): number => (x <= 0 ? 0 : x >= n ? n : x - (x & 3));
  let start = 0;
  for (let c = 0; c < calls && start < hi; c++) {
    const i = L.ints + c * 8, f = L.floats + c * 12, n = I[i + 6]!;
    const a = cut(lo - start, n), b = cut(hi - start, n);
    start += n;
    if (b <= a) continue;
    const p = I[i + 1]! + 4 * a, g = I[i + 2]! + 4 * a, sq = I[i + 3]! + 4 * a;
    if (I[i] === 0) {
      k.plain(p, g, sq, b - a, F[f]!, F[f + 1]!, F[f + 2]!, F[f + 3]!, F[f + 4]!, F[f + 5]!);
    } else {
      const ga = I[i + 4]!, mb = I[i + 5]!;
      k.step(p, g, sq, ga && ga + 4 * a, mb && mb + 4 * a, b - a,
        F[f]!, F[f + 1]!, F[f + 2]!, F[f + 3]!, F[f + 4]!, F[f + 5]!, F[f + 6]!, F[f + 7]!, F[f + 8]!, F[f + 9]!, F[f + 10]!, F[f + 11]!, I[i + 7]!);
    }
  }
}

/**
 * A worker's life, sent to it as source text with {@link stepShare}: instantiate the module over
 * the shared memory, say so, then for each generation: acknowledge, wait for the go (or the
 * skip), step its share, count itself done. It spins for a moment before sleeping, so the steps
 * of a training loop find it awake.
 */
function workerMain(data: { module: object; memory: object; control: SharedArrayBuffer; index: number; spin: number; layout: Layout }, post: (m: string) => void): void {
  const W = (globalThis as unknown as { WebAssembly: { Instance: new (m: object, i: object) => { exports: SimdKernel } } }).WebAssembly;
  const k = new W.Instance(data.module, { env: { memory: data.memory } }).exports;
  const I = new Int32Array(data.control), F = new Float64Array(data.control);
  const { index, spin, layout: L } = data, H = L.H, C = L.CMD;
  // Waits until I[at] is not `old`: spins for `spin` ms, then sleeps.
  const until = (at: number, old: number): number => {
    let v = Atomics.load(I, at);
    if (v !== old) return v;
    const stop = performance.now() + spin;
    for (let c = 1; (v = Atomics.load(I, at)) === old; c++) if ((c & 1023) === 0 && performance.now() > stop) Atomics.wait(I, at, old);
    return v;
  };
  post('ready');
  let seen = 0;
  for (;;) {
    seen = until(H.GEN, seen);
    const cmd = I[H.CMD];
    if (cmd === C.EXIT) return;
    if (cmd === C.DIE) throw new Error('rmsprop worker: told to end without a word (a test)');
    Atomics.add(I, H.ACK, 1);
    Atomics.notify(I, H.ACK);
    let go = 0;
    while ((go = until(H.GO, 0)) !== seen && go !== -seen) Atomics.wait(I, H.GO, go, 1);
    if (go === seen) {
      try {
        if (cmd === C.FAULT) throw new Error('a fault injected by a test');
        stepShare(k, I, F, index, I[H.THREADS]!, L);
      } catch (e) {
        if (Atomics.compareExchange(I, H.ERR, 0, index) === 0) {
          const text = new TextEncoder().encode(String((e as Error)?.message ?? e)).subarray(0, 900);
          new Uint8Array(data.control, 4 * L.message + 4, text.length).set(text);
          I[L.message] = text.length;
        }
      }
    }
    Atomics.add(I, H.DONE, 1);
    Atomics.notify(I, H.DONE);
  }
}

/** A started worker, whichever API made it. */
interface Thread {
  terminate(): void;
}

interface NodeWorker {
  on(event: 'error' | 'exit', listener: (value: unknown) => void): void;
  once(event: 'message', listener: (value: unknown) => void): void;
  postMessage(value: unknown): void;
  unref(): void;
  terminate(): Promise<number>;
}
interface WebWorker {
  onmessage: ((e: { data: unknown }) => void) | null;
  onerror: ((e: { message?: string }) => void) | null;
  postMessage(value: unknown): void;
  terminate(): void;
}

const NODE_PROLOGUE = "import { parentPort, workerData } from 'node:worker_threads';\n";

/** Starts one worker on `data`; `lost(message)` is called if it fails or exits later. */
async function spawn(data: object, lost: (message: string) => void, timeout: number, index: number): Promise<Thread> {
  const body = `const stepShare = ${stepShare.toString()};\nconst workerMain = ${workerMain.toString()};\n`;
  const g = globalThis as { process?: { versions?: { node?: string } }; Worker?: new (url: string, o: object) => WebWorker; URL?: { createObjectURL(b: object): string; revokeObjectURL(u: string): void }; Blob?: new (parts: string[], o: object) => object };
  let started: Promise<void>;
  let thread: Thread;
  if (g.process?.versions?.node !== undefined) {
    const name = 'node:worker_threads';
    const { Worker } = (await import(/* @vite-ignore */ name)) as { Worker: new (url: URL, o: object) => NodeWorker };
    // An ES module from a data: URL: whatever flags the process was started with (--input-type,
    // a loader), the worker runs this code as written.
    const code = `${NODE_PROLOGUE}${body}workerMain(workerData, (m) => parentPort.postMessage(m));`;
    const w = new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`), { workerData: data });
    let ready = false;
    started = new Promise<void>((resolve, reject) => {
      w.once('message', () => ((ready = true), resolve()));
      w.on('error', (e) => (ready ? lost(`worker ${index} failed: ${String((e as Error)?.message ?? e)}`) : reject(e)));
      w.on('exit', (code) => (ready ? lost(`worker ${index} exited (code ${String(code)})`) : reject(new Error(`worker ${index} exited while starting (code ${String(code)})`))));
    });
    w.unref(); // after the listeners: a 'message' listener refs the worker's port again
    thread = { terminate: () => void w.terminate().catch(() => undefined) };
  } else if (g.Worker && g.URL && g.Blob) {
    const url = g.URL.createObjectURL(new g.Blob([`${body}self.onmessage = (e) => { self.onmessage = null; workerMain(e.data, (m) => postMessage(m)); };`], { type: 'text/javascript' }));
    const w = new g.Worker(url, { type: 'module' });
    let ready = false;
    started = new Promise<void>((resolve, reject) => {
      w.onmessage = () => ((ready = true), resolve());
      w.onerror = (e) => (ready ? lost(`worker ${index} failed: ${e.message ?? 'an error'}`) : reject(new Error(e.message ?? `worker ${index} failed to start`)));
    });
    w.postMessage(data);
    started.finally(() => g.URL!.revokeObjectURL(url)).catch(() => undefined);
    thread = { terminate: () => w.terminate() };
  } else {
    throw new Error('createThreadedArena: this runtime has neither node:worker_threads nor Worker');
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([started, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`worker ${index} did not start within ${timeout} ms`)), timeout)))]);
  } catch (e) {
    thread.terminate();
    throw e;
  } finally {
    clearTimeout(timer);
  }
  return thread;
}

/** The cores this runtime reports (`navigator.hardwareConcurrency`, or Node's `os.availableParallelism()`). */
async function cores(): Promise<number> {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  if (typeof nav === 'number' && nav > 0) return nav;
  try {
    const name = 'node:os';
    return ((await import(/* @vite-ignore */ name)) as { availableParallelism(): number }).availableParallelism();
  } catch {
    return 1;
  }
}

/** Whether this thread may block in `Atomics.wait` (a page's main thread may not). */
function mayBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

const ISOLATION =
  'shared memory needs a cross-origin isolated page: serve it with the headers ' +
  '`Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp` (docs/threads.md)';

/**
 * Creates a {@link ThreadedArena} with room for `capacity` float32 values in a shared
 * `WebAssembly.Memory`, and starts `threads - 1` workers over it (`node:worker_threads` in Node,
 * where they never keep the process alive; module workers elsewhere). Resolves once every worker
 * is ready.
 *
 * Needs a thread that may block: in a browser, create it in a Worker (a page's main thread may
 * not wait), in a cross-origin isolated page (shared memory). With `threads: 1` it starts no
 * worker and needs neither.
 *
 * @param capacity - How many float32 values the arena holds, a whole number from 1 to 2^28.
 * @throws RangeError for a bad capacity or option; Error where threads cannot run (the message
 *   says why and what to do) or when a worker does not start within the timeout.
 *
 * @example
 * ```ts
 * import { RMSProp } from 'rmsprop';
 * import { createThreadedArena } from 'rmsprop/threads';
 *
 * const arena = await createThreadedArena(4_000_000, { threads: 2 });
 * const params = [{ data: arena.alloc(1_000_000), grad: arena.alloc(1_000_000) }];
 * const opt = new RMSProp(params, { arena, momentum: 0.9, nonFinite: 'apply' });
 * ```
 */
export async function createThreadedArena(capacity: number, options: ThreadOptions): Promise<ThreadedArena> {
  const P = 'createThreadedArena';
  if (typeof options !== 'object' || options === null) throw new TypeError(`${P}: invalid options: expected an object with threads, got ${String(options)}`);
  for (const key of Object.keys(options))
    if (!OPTION_KEYS.includes(key)) throw new RangeError(`${P}: unknown option ${JSON.stringify(key)}; the options are ${OPTION_KEYS.join(', ')}`);
  const threads = checkNumber(options.threads, THREADS, P, 'threads');
  const minParallel = checkNumber(options.minParallel ?? 8192, MIN_PARALLEL, P, 'minParallel');
  const timeout = checkNumber(options.timeout ?? 10_000, TIMEOUT, P, 'timeout');
  if (threads > 1) {
    if (typeof SharedArrayBuffer !== 'function' || (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false) {
      throw new Error(`${P}: ${threads} threads: ${ISOLATION}; or use threads: 1`);
    }
    if (!mayBlock()) {
      throw new Error(
        `${P}: ${threads} threads: this thread may not block (Atomics.wait), as a page's main thread may not, and a step waits for its workers. ` +
          'Create the arena and the optimizer in a Worker (docs/threads.md), or use threads: 1',
      );
    }
  }
  // One thread needs no shared memory (which a page that is not cross-origin isolated lacks).
  const shared = threads > 1;
  const core = arenaCore(capacity, shared ? WASM_SHARED_MODULE_BASE64 : WASM_MODULE_BASE64, shared, P);
  const control = shared ? new SharedArrayBuffer(CONTROL_BYTES) : (new ArrayBuffer(CONTROL_BYTES) as unknown as SharedArrayBuffer);
  const I = new Int32Array(control), F = new Float64Array(control);
  const workers: Thread[] = [];
  let lost: string | null = null;
  let closed = false;
  const onLost = (message: string): void => {
    if (!closed) lost ??= message;
  };
  try {
    const starting: Promise<Thread>[] = [];
    // More threads than cores: a spinning worker would hold a core another thread needs, so
    // they sleep at once (slower than fewer threads, but never starved).
    const spin = threads <= (await cores()) ? SPIN_MS : 0;
    for (let w = 1; w < threads; w++) starting.push(spawn({ module: core.module, memory: core.memory, control, index: w, spin, layout: LAYOUT }, onLost, timeout, w));
    const settled = await Promise.allSettled(starting);
    for (const s of settled) if (s.status === 'fulfilled') workers.push(s.value);
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw new Error(`${P}: ${String((failed as PromiseRejectedResult).reason?.message ?? (failed as PromiseRejectedResult).reason)}`);
  } catch (e) {
    for (const w of workers) w.terminate();
    throw e;
  }

  let recording = false;
  /** Whether the workers have acknowledged the current generation and wait for its go. */
  let armed = false;
  let gen = 0;
  let calls = 0;
  let total = 0;
  /** Elements of the last step: a model too small for threads never wakes them. */
  let lastTotal = Infinity;
  /** Elements recorded since begin(), over every batch of the step. */
  let stepTotal = 0;
  const kernel = core.kernel;
  const T = workers.length + 1;

  /** Waits until I[at] is `want` (spinning, then sleeping), at most until `deadline`. */
  const wait = (at: number, want: number, deadline: number): boolean => {
    let v: number;
    for (let c = 1; (v = Atomics.load(I, at)) !== want; c++) {
      if ((c & 255) === 0) {
        const left = deadline - performance.now();
        if (left <= 0) return false;
        if (c > 4096) Atomics.wait(I, at, v, Math.min(left, 50));
      }
    }
    return true;
  };

  const lostError = (written: boolean): Error =>
    new Error(
      `ThreadedArena.step: ${lost}; ${written ? "this step's updates may be partly written: restore the parameters and the optimizer's state from your last checkpoint" : 'nothing was written'}. ` +
        'Every step throws from now on: close() the arena (steps then run on this thread alone), or create a new one and load the state into a new optimizer',
    );

  /**
   * Wakes the workers for a new generation and waits until each has acknowledged it (they then
   * wait for its go): before anything is written, so that a lost worker costs nothing.
   */
  const arm = (written = false): void => {
    if (closed || T === 1) return;
    if (lost !== null) throw lostError(written);
    I[H.THREADS] = T;
    I[H.CMD] = pendingFault() || CMD.RUN;
    I[H.ACK] = 0;
    I[H.DONE] = 0;
    I[H.ERR] = 0;
    Atomics.store(I, H.GO, 0);
    gen = Atomics.add(I, H.GEN, 1) + 1;
    Atomics.notify(I, H.GEN);
    if (!wait(H.ACK, T - 1, performance.now() + timeout)) {
      Atomics.store(I, H.GO, -gen);
      Atomics.notify(I, H.GO);
      lost = `${T - 1 - Atomics.load(I, H.ACK)} of ${T - 1} workers did not answer within ${timeout} ms`;
      clearFault();
      throw lostError(written);
    }
    armed = true;
  };

  /** Runs the recorded calls: split between the threads when armed and large enough, else alone. */
  const run = (): void => {
    const n = calls, elements = total;
    calls = 0;
    total = 0;
    I[H.CALLS] = n;
    I[H.TOTAL] = elements;
    const wasArmed = armed, parallel = armed && elements >= minParallel;
    if (parallel) clearFault();
    if (wasArmed) {
      armed = false;
      Atomics.store(I, H.GO, parallel ? gen : -gen);
      Atomics.notify(I, H.GO);
    }
    stepShare(kernel, I, F, 0, parallel ? T : 1, LAYOUT);
    if (!wasArmed) return;
    // Skipping or stepping, every worker counts itself done before the next generation starts.
    if (!wait(H.DONE, T - 1, performance.now() + timeout)) {
      lost = `${T - 1 - Atomics.load(I, H.DONE)} of ${T - 1} workers did not finish a step within ${timeout} ms`;
      throw lostError(parallel);
    }
    const failed = Atomics.load(I, H.ERR);
    if (failed !== 0) {
      const bytes = new Uint8Array(I[LAYOUT.message]!);
      bytes.set(new Uint8Array(control, MESSAGE + 4, bytes.length));
      lost = `worker ${failed} failed: ${new TextDecoder().decode(bytes)}`;
      throw lostError(true);
    }
  };

  const record = (param: Float32Array, grad: Float32Array, state: RMSPropState<Float32Array>, hyper: RMSPropHyper): void => {
    if (calls === CAPACITY_CALLS) {
      // A full batch: run it, and arm the workers again for the rest of the step.
      const wasArmed = armed;
      run();
      if (wasArmed) arm(true);
    }
    encodeCall(param, grad, state, hyper, I, LAYOUT.ints + calls * INTS, F, LAYOUT.floats + calls * FLOATS);
    calls++;
    total += param.length;
    stepTotal += param.length;
  };

  /** Lets armed workers go back to sleep without stepping (a call that threw before running). */
  const release = (): void => {
    if (!armed) return;
    armed = false;
    Atomics.store(I, H.GO, -gen);
    Atomics.notify(I, H.GO);
    if (!wait(H.DONE, T - 1, performance.now() + timeout)) lost = `${T - 1 - Atomics.load(I, H.DONE)} of ${T - 1} workers did not finish within ${timeout} ms`;
  };

  const arena: ThreadedArena = {
    memory: core.memory,
    capacity,
    threads,
    minParallel,
    get used(): number {
      return core.used();
    },
    get closed(): boolean {
      return closed;
    },
    alloc: core.alloc,
    owns: core.owns,
    step(param: FloatArray, grad: FloatArray, state: RMSPropState, hyper: RMSPropHyper, owned = false): boolean {
      if (!core.takes(param, grad, state, hyper, owned)) return false;
      if (recording) {
        record(param as Float32Array, grad as Float32Array, state as RMSPropState<Float32Array>, hyper);
        return true;
      }
      // A call of its own (not from RMSProp.step): armed before anything changes.
      if (lost !== null && !closed) throw lostError(false);
      if (param.length >= minParallel) arm();
      try {
        record(param as Float32Array, grad as Float32Array, state as RMSPropState<Float32Array>, hyper);
      } catch (e) {
        release();
        throw e;
      }
      run();
      return true;
    },
    begin(): void {
      if (recording) throw new Error('ThreadedArena.begin: called again before end(): a step is being recorded (only RMSProp.step calls begin and end)');
      if (lost !== null && !closed) throw lostError(false);
      if (lastTotal >= minParallel) arm();
      recording = true;
      stepTotal = 0;
    },
    end(): void {
      if (!recording) return;
      recording = false;
      lastTotal = stepTotal;
      if (calls > 0 || armed) run();
    },
    close(): void {
      if (closed) return;
      closed = true;
      lost = null;
      armed = false;
      I[H.CMD] = CMD.EXIT;
      Atomics.add(I, H.GEN, 1);
      Atomics.notify(I, H.GEN);
      for (const w of workers) w.terminate();
    },
  };
  const dispose = (Symbol as { dispose?: symbol }).dispose;
  if (dispose !== undefined) Object.defineProperty(arena, dispose, { value: arena.close });
  return Object.freeze(arena);
}

/**
 * Records one call of the SIMD kernel in the control block: which entry point, the buffers'
 * byte offsets, the length, the flags, and the hyperparameters folded as `simdStep` folds them
 * (and the step count advanced, as `simdStep` does).
 */
function encodeCall(param: Float32Array, grad: Float32Array, state: RMSPropState<Float32Array>, hyper: RMSPropHyper, I: Int32Array, i: number, F: Float64Array, f: number): void {
  const t = ++state.step;
  const lr = hyper.lr;
  const decoupled = hyper.decoupledWeightDecay;
  const centered = hyper.centered && state.gradAvg !== null;
  const momentum = hyper.momentum > 0 && state.momentumBuffer !== null;
  I[i + 1] = param.byteOffset;
  I[i + 2] = grad.byteOffset;
  I[i + 3] = state.squareAvg.byteOffset;
  I[i + 6] = param.length;
  if (!centered && !momentum && !hyper.epsInSqrt && !hyper.biasCorrection && !decoupled) {
    I[i] = 0;
    F[f] = lr;
    F[f + 1] = hyper.alpha;
    F[f + 2] = 1 - hyper.alpha;
    F[f + 3] = hyper.eps;
    F[f + 4] = hyper.weightDecay;
    F[f + 5] = hyper.maximize ? -1 : 1;
    return;
  }
  I[i] = 1;
  I[i + 4] = centered ? state.gradAvg!.byteOffset : 0;
  I[i + 5] = momentum ? state.momentumBuffer!.byteOffset : 0;
  I[i + 7] = (centered ? 1 : 0) | (momentum ? 2 : 0) | (hyper.nesterov ? 4 : 0) | (hyper.biasCorrection ? 8 : 0) | (decoupled ? 16 : 0);
  F[f] = lr;
  F[f + 1] = hyper.alpha;
  F[f + 2] = 1 - hyper.alpha;
  F[f + 3] = hyper.epsInSqrt ? hyper.eps : 0;
  F[f + 4] = hyper.epsInSqrt ? 0 : hyper.eps;
  F[f + 5] = decoupled ? 0 : hyper.weightDecay;
  F[f + 6] = decoupled ? lr * hyper.weightDecay : 0;
  F[f + 7] = hyper.maximize ? -1 : 1;
  F[f + 8] = 1 - hyper.alpha ** t;
  F[f + 9] = hyper.momentum;
  F[f + 10] = hyper.lrInMomentum ? lr : 1;
  F[f + 11] = hyper.lrInMomentum ? 1 : lr;
}
