import { decodeBase64 } from './base64.js';
import { checkNumber, count, rule } from './checks.js';
import type { Rule } from './checks.js';
import type { Arena } from './backend.js';
import type { FloatArray, RMSPropHyper, RMSPropState } from './rmsprop-step.js';
import { simdStep } from './simd-step.js';
import type { SimdKernel, SimdPlain, SimdStep } from './simd-step.js';
import { WASM_MODULE_BASE64 } from './wasm-module.js';

// The little of the WebAssembly API this file uses, typed here so that the library needs neither
// the DOM's types nor Node's.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  readonly Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object, imports: object) => { readonly exports: Readonly<Record<string, unknown>> };
  validate(bytes: Uint8Array): boolean;
}

const PAGE = 65536;
const CAPACITY: Rule = rule((x) => Number.isInteger(x) && x >= 1 && x <= 2 ** 28, 'a whole number from 1 to 2^28 (float32 values)');
/** Bytes reserved at offset 0, so that no view starts at address 0. */
const RESERVED = 16;

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
  const core = arenaCore(capacity, WASM_MODULE_BASE64, false, 'createArena');
  const { kernel } = core;
  return Object.freeze({
    memory: core.memory,
    capacity,
    get used(): number {
      return core.used();
    },
    alloc: core.alloc,
    owns: core.owns,
    step(param: FloatArray, grad: FloatArray, state: RMSPropState, hyper: RMSPropHyper, owned = false): boolean {
      if (!core.takes(param, grad, state, hyper, owned)) return false;
      simdStep(kernel, param as Float32Array, grad as Float32Array, state as RMSPropState<Float32Array>, hyper);
      return true;
    },
  });
}

/**
 * What every arena is made of: its memory, the compiled module and its kernel over that memory,
 * the allocator, and the test of whether the SIMD kernel takes a call. `createArena` wraps it; the
 * threaded arena (threads.ts) wraps it over a shared memory.
 *
 * @internal
 */
export interface ArenaCore {
  readonly memory: WasmMemory;
  readonly module: object;
  readonly kernel: SimdKernel;
  used(): number;
  alloc(length: number): Float32Array;
  owns(view: FloatArray): boolean;
  /** Whether every buffer lives here (unless `owned`) and float32 computes what `hyper` means. @internal */
  takes(param: FloatArray, grad: FloatArray, state: RMSPropState, hyper: RMSPropHyper, owned: boolean): boolean;
}

/**
 * Checks `capacity`, compiles the module (`base64`, importing a shared memory when `shared`) and
 * instantiates it over a new fixed-size memory; `prefix` names the caller in errors.
 *
 * @internal
 */
export function arenaCore(capacity: number, base64: string, shared: boolean, prefix: string): ArenaCore {
  checkNumber(capacity, CAPACITY, prefix, 'capacity');
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  const bytes = decodeBase64(base64)!;
  if (api === undefined || !api.validate(bytes)) {
    throw new Error(`${prefix}: this runtime has no WebAssembly SIMD${shared ? ' with threads' : ''}; use RMSProp without an arena`);
  }
  const end = RESERVED + 4 * roundUp(capacity);
  const pages = Math.ceil(end / PAGE);
  const memory = new api.Memory({ initial: pages, maximum: pages, shared });
  const module = new api.Module(bytes);
  const { exports } = new api.Instance(module, { env: { memory } });
  const kernel: SimdKernel = { step: exports['step'] as SimdStep, plain: exports['plain'] as SimdPlain };
  let next = RESERVED;
  // The memory never grows (its maximum is its size), so its buffer is read once: a view's
  // `buffer` costs V8 some 25 ns, the memory's as much again.
  const buffer = memory.buffer;
  const here = (x: FloatArray | null): boolean => x instanceof Float32Array && x.buffer === buffer;
  return {
    memory,
    module,
    kernel,
    used: () => (next - RESERVED) / 4,
    alloc(length: number): Float32Array {
      checkNumber(length, count, 'Arena.alloc', 'length');
      if (memory.buffer !== buffer) {
        throw new Error("Arena.alloc: the arena's memory grew, which detached every view it handed out; create a new arena (never grow its memory)");
      }
      const size = 4 * roundUp(length);
      if (next + size > end) {
        throw new RangeError(
          `Arena.alloc: the arena is full: ${length} values asked for, ${(end - next) / 4} free of ${capacity}; create a larger arena`,
        );
      }
      const view = new Float32Array(buffer, next, length);
      next += size;
      return view;
    },
    owns(view: FloatArray): boolean {
      return view.buffer === buffer && view.byteOffset >= RESERVED && view.byteOffset + view.byteLength <= next;
    },
    takes(param: FloatArray, grad: FloatArray, state: RMSPropState, hyper: RMSPropHyper, owned: boolean): boolean {
      return (owned || (here(param) && here(grad) && here(state.squareAvg) && (!hyper.centered || here(state.gradAvg)) && (hyper.momentum === 0 || here(state.momentumBuffer)))) && float32Takes(hyper);
    },
  };
}

/**
 * Whether the float32 kernel computes what the TS kernel means by these hyperparameters: no
 * factor that becomes 0 or Infinity in float32 (an `eps` of 1e-50 would make 0 / 0), and not
 * centered with bias correction, which is ill-conditioned on the first steps (see
 * docs/algorithm.md) where float32 cannot follow float64.
 */
function float32Takes(h: RMSPropHyper): boolean {
  const f = Math.fround;
  return (
    f(h.eps) > 0 &&
    f(h.eps) !== Infinity &&
    f(h.lr) !== Infinity &&
    f(h.weightDecay) !== Infinity &&
    f(h.lr * h.weightDecay) !== Infinity &&
    !(h.centered && h.biasCorrection)
  );
}

/** `n` rounded up to a multiple of 4 (in float64: a 32-bit `& ~3` would wrap from 2^31 on). */
function roundUp(n: number): number {
  return Math.ceil(n / 4) * 4;
}
