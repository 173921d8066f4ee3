// The contract between the optimizer and a backend that holds parameters and state in memory
// of its own and steps them with a kernel of its own: the SIMD arena (`createArena`, arena.ts)
// implements it. The class only ever uses this interface, so it never imports the WebAssembly
// glue, and another backend (threads, say) can plug in.
import type { FloatArray, RMSPropHyper, RMSPropState } from './rmsprop-step.js';

/**
 * One fixed-size block of WebAssembly memory that hands out zeroed `Float32Array` views, and
 * the WebAssembly SIMD kernel over it (four float32 lanes at a time). An `RMSProp` created with
 * `{ arena }` keeps the state of every parameter whose `data` lives here in the arena too, and
 * steps those whose `grad` also lives here with {@link Arena.step}.
 *
 * @example
 * ```ts
 * const arena = createArena(1 << 20); // room for 1M float32 values
 * const w = { data: arena.alloc(4096), grad: arena.alloc(4096) };
 * const opt = new RMSProp([w], { lr: 1e-3, arena });
 * ```
 */
export interface Arena {
  /** The memory every view lives in. Never grow it: growing detaches every view. */
  readonly memory: { readonly buffer: ArrayBuffer };
  /** How many float32 values fit, in all. */
  readonly capacity: number;
  /** How many are handed out (each allocation is rounded up to a multiple of 4). */
  readonly used: number;
  /**
   * A new zeroed view of `length` float32 values, 16-byte aligned.
   * @throws RangeError when `length` is not a whole number >= 0, or when the arena is full.
   *
   * @example
   * ```ts
   * const weights = arena.alloc(784 * 128);
   * const grads = arena.alloc(784 * 128);
   * ```
   */
  alloc(length: number): Float32Array;
  /**
   * Whether `view` lies inside memory this arena handed out (a view made by `alloc`, or a view
   * of one): a view of the arena's memory made otherwise is not the arena's.
   *
   * @example
   * ```ts
   * arena.owns(arena.alloc(4));        // true
   * arena.owns(new Float32Array(4));   // false
   * ```
   */
  owns(view: FloatArray): boolean;
  /**
   * One RMSProp update by the SIMD kernel: `rmspropStep`'s rule, every switch included,
   * computed in float32 (each operation rounded, as PyTorch's float32 tensors are) four
   * elements at a time. It steps only what float32 arithmetic computes as the TS kernel means
   * it: `param`, `grad` and every state buffer the options use are `Float32Array`s in this
   * arena; `eps` is not 0 in float32 (1e-50 is) and `eps`, `lr`, `weightDecay` and
   * `lr * weightDecay` are finite there; not `centered` with `biasCorrection` (ill-conditioned
   * in float32 on the first steps). Otherwise it does nothing and returns
   * `false`: step with `rmspropStep` then. Same preconditions as `rmspropStep` (lengths, no
   * shared memory, hyperparameters in range); it does not check them.
   *
   * @param owned - Pass `true` when you know every buffer lives in this arena (`owns` said so
   *   for these same views): the check is skipped, which saves some 25 ns per buffer a call.
   * @returns Whether it stepped.
   *
   * @example
   * ```ts
   * const state = createState(w.data, hyper, (like) => arena.alloc(like.length));
   * if (!arena.step(w.data, w.grad, state, hyper)) rmspropStep(w.data, w.grad, state, hyper);
   * ```
   */
  step(param: FloatArray, grad: FloatArray, state: RMSPropState, hyper: RMSPropHyper, owned?: boolean): boolean;
  /**
   * Optional: called by `RMSProp.step()` after every check, before it writes anything. An arena
   * that batches its steps (the threaded arena) records them from here, and may throw here,
   * when it cannot step, so that nothing is written.
   *
   * @example
   * ```ts
   * arena.begin?.();
   * ```
   */
  begin?(): void;
  /**
   * Optional: called by `RMSProp.step()` after its last kernel call: runs what was recorded
   * since {@link Arena.begin}.
   *
   * @example
   * ```ts
   * arena.end?.();
   * ```
   */
  end?(): void;
}
