import { decodeBase64 } from './base64.js';
import { describe } from './describe.js';
import type { FloatArray } from './rmsprop-step.js';
import { WASM_MODULE_BASE64 } from './wasm-module.js';

// The little of the WebAssembly API this file uses, typed here so that the library needs neither
// the DOM's types nor Node's.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  readonly Memory: new (descriptor: { initial: number; maximum: number }) => WasmMemory;
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object, imports: object) => { readonly exports: Readonly<Record<string, unknown>> };
  validate(bytes: Uint8Array): boolean;
}

/** The SIMD kernel's plain entry point: see wasm/rmsprop.wat for its arguments. @internal */
export type SimdPlain = (
  p: number, g: number, sq: number, n: number,
  lr: number, alpha: number, beta: number, eps: number, wd: number, sign: number,
) => void;

/** The SIMD kernel's entry points. @internal */
export interface SimdKernel {
  readonly step: SimdStep;
  readonly plain: SimdPlain;
}

/** The SIMD kernel's general entry point: see wasm/rmsprop.wat for its arguments. @internal */
export type SimdStep = (
  p: number, g: number, sq: number, ga: number, mb: number, n: number,
  lr: number, alpha: number, beta: number, epsIn: number, epsOut: number, wd: number,
  decay: number, sign: number, corr: number, mom: number, lrIn: number, lrOut: number,
  flags: number,
) => void;

/**
 * One fixed-size block of WebAssembly memory that hands out zeroed `Float32Array` views. An
 * `RMSProp` created with `{ arena }` keeps its state here and steps every parameter whose
 * `data` and `grad` live here with a WebAssembly SIMD kernel (four float32 lanes at a time).
 *
 * @example
 * ```ts
 * const arena = createArena(1 << 20); // room for 1M float32 values
 * const w = { data: arena.alloc(4096), grad: arena.alloc(4096) };
 * const opt = new RMSProp([w], { lr: 1e-3, arena });
 * ```
 */
export interface Arena {
  /** The memory every view lives in. It never grows (growing would detach every view). */
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
   * Whether `view` lies inside this arena's memory.
   *
   * @example
   * ```ts
   * arena.owns(arena.alloc(4));        // true
   * arena.owns(new Float32Array(4));   // false
   * ```
   */
  owns(view: FloatArray): boolean;
}

const PAGE = 65536;
/** Bytes reserved at offset 0, so that no view starts at address 0. */
const RESERVED = 16;
const kernels = new WeakMap<Arena, SimdKernel>();

/**
 * Creates an {@link Arena} with room for `capacity` float32 values, in one fixed-size
 * `WebAssembly.Memory`, and instantiates the SIMD kernel over it. Works wherever WebAssembly
 * SIMD does: Node >= 16.4 and every evergreen browser.
 *
 * @param capacity - How many float32 values the arena holds, a whole number > 0 (at most 2^28).
 * @throws RangeError for a bad capacity; Error when WebAssembly or its SIMD is unavailable.
 *
 * @example
 * ```ts
 * import { RMSProp, createArena } from 'rmsprop';
 *
 * const arena = createArena(2 * 1_000_000 + 1024);
 * const params = [{ data: arena.alloc(1_000_000), grad: arena.alloc(1_000_000) }];
 * const opt = new RMSProp(params, { arena, momentum: 0.9 }); // state goes in the arena too
 * ```
 */
export function createArena(capacity: number): Arena {
  if (typeof capacity !== 'number' || !Number.isInteger(capacity) || capacity < 1 || capacity > 2 ** 28) {
    throw new RangeError(`createArena: invalid capacity: expected a whole number from 1 to 2^28 (float32 values), got ${describe(capacity)}`);
  }
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  const bytes = decodeBase64(WASM_MODULE_BASE64)!;
  if (api === undefined || !api.validate(bytes)) {
    throw new Error('createArena: this runtime has no WebAssembly SIMD; use RMSProp without an arena');
  }
  const end = RESERVED + 4 * roundUp(capacity);
  const pages = Math.ceil(end / PAGE);
  const memory = new api.Memory({ initial: pages, maximum: pages });
  const instance = new api.Instance(new api.Module(bytes), { env: { memory } });
  let next = RESERVED;
  const arena: Arena = {
    memory,
    capacity,
    get used(): number {
      return (next - RESERVED) / 4;
    },
    alloc(length: number): Float32Array {
      if (typeof length !== 'number' || !Number.isInteger(length) || length < 0) {
        throw new RangeError(`Arena.alloc: invalid length: expected a whole number >= 0, got ${describe(length)}`);
      }
      const size = 4 * roundUp(length);
      if (next + size > end) {
        throw new RangeError(
          `Arena.alloc: the arena is full: ${length} values asked for, ${(end - next) / 4} free of ${capacity}; create a larger arena`,
        );
      }
      const view = new Float32Array(memory.buffer, next, length);
      next += size;
      return view;
    },
    owns(view: FloatArray): boolean {
      return view.buffer === memory.buffer;
    },
  };
  kernels.set(arena, { step: instance.exports['step'] as SimdStep, plain: instance.exports['plain'] as SimdPlain });
  return Object.freeze(arena);
}

/** The SIMD kernel instantiated over `arena`'s memory. @internal */
export function arenaKernel(arena: Arena): SimdKernel | undefined {
  return kernels.get(arena);
}

/** Whether `x` is an arena made by {@link createArena}. @internal */
export function isArena(x: unknown): x is Arena {
  return typeof x === 'object' && x !== null && kernels.has(x as Arena);
}

function roundUp(n: number): number {
  return (n + 3) & ~3;
}
