// Gradient clipping as free functions, PyTorch's torch.nn.utils.clip_grad_norm_ and
// clip_grad_value_: called between backward and step(), in place on the gradient buffers.
import { atLeast0, checkFloatArray, checkNumber, invalid, isDetached, readError, rule } from './checks.js';
import type { Rule } from './checks.js';
import { formatValue } from './format.js';
import type { ParamRef } from './param-groups.js';
import type { FloatArray } from './rmsprop-step.js';

/**
 * What the clipping functions take: parameters (anything with a `grad`), or groups of them
 * (anything with `params`, such as `opt.paramGroups`).
 *
 * @example
 * ```ts
 * clipGradNorm(opt.paramGroups, 1.0); // every parameter of the optimizer
 * clipGradNorm([w1, w2], 1.0);        // some of them
 * ```
 */
export type ClipParams = readonly Pick<ParamRef, 'grad'>[] | readonly { readonly params: readonly Pick<ParamRef, 'grad'>[] }[];

const NORM_TYPE: Rule = rule((x) => x >= 1, 'a number >= 1, or Infinity for the largest magnitude');

interface Located {
  readonly grad: FloatArray;
  readonly where: string;
}

/**
 * The gradients of `params`, each checked and each counted once: the same buffer given twice
 * (two parameters sharing a gradient, or a group listed twice) is clipped once, and two that
 * share part of their memory are an error (the shared elements would be scaled twice).
 */
function gradients(params: unknown, prefix: string): FloatArray[] {
  if (!Array.isArray(params)) {
    throw new TypeError(`${prefix}: invalid params: expected an array of parameters or of parameter groups, got ${formatValue(params)}`);
  }
  const found: Located[] = [];
  params.forEach((p: unknown, i) => {
    if (typeof p !== 'object' || p === null) {
      throw new TypeError(`${prefix}: invalid param: expected an object with grad, or a group with params, got ${formatValue(p)} (param ${i})`);
    }
    const inner = read(() => ('params' in p ? p.params : undefined), prefix, 'it', `(param ${i})`);
    if (inner === undefined) {
      add(found, read(() => (p as { readonly grad?: unknown }).grad, prefix, 'its grad', `(param ${i})`), prefix, `(param ${i})`);
    } else if (!Array.isArray(inner)) {
      throw new TypeError(`${prefix}: invalid params in group ${i}: expected an array, got ${formatValue(inner)}`);
    } else {
      inner.forEach((q: unknown, j) => {
        if (typeof q !== 'object' || q === null) {
          throw new TypeError(`${prefix}: invalid param: expected an object with grad, got ${formatValue(q)} (group ${i}, param ${j})`);
        }
        add(found, read(() => (q as { readonly grad?: unknown }).grad, prefix, 'its grad', `(group ${i}, param ${j})`), prefix, `(group ${i}, param ${j})`);
      });
    }
  });
  return distinct(found, prefix);
}

/** `get()`, with a getter (or a Proxy) that throws named. */
function read(get: () => unknown, prefix: string, what: string, where: string): unknown {
  try {
    return get();
  } catch (error) {
    throw readError(error, prefix, what, where);
  }
}

function add(found: Located[], grad: unknown, prefix: string, where: string): void {
  const g = checkFloatArray(grad, prefix, 'grad', where, true);
  if (g !== null && isDetached(g)) throw new TypeError(invalid(prefix, 'grad', 'a Float32Array, Float64Array or null', g, '', ` ${where}`));
  if (g !== null) found.push({ grad: g, where });
}

function distinct(found: readonly Located[], prefix: string): FloatArray[] {
  const byBuffer = new Map<ArrayBufferLike, Located[]>();
  for (const item of found) {
    const list = byBuffer.get(item.grad.buffer);
    if (list === undefined) byBuffer.set(item.grad.buffer, [item]);
    else list.push(item);
  }
  const out: FloatArray[] = [];
  for (const list of byBuffer.values()) {
    const sorted = [...list].sort((a, b) => a.grad.byteOffset - b.grad.byteOffset || a.grad.byteLength - b.grad.byteLength);
    let last: Located | null = null;
    for (const item of sorted) {
      const g = item.grad;
      if (last !== null && g.byteOffset === last.grad.byteOffset && g.byteLength === last.grad.byteLength && g.BYTES_PER_ELEMENT === last.grad.BYTES_PER_ELEMENT) {
        continue; // the same elements again: counted and clipped once
      }
      if (last !== null && g.byteLength > 0 && g.byteOffset < last.grad.byteOffset + last.grad.byteLength) {
        throw new Error(`${prefix}: the grads of ${last.where} and ${item.where} share part of their memory; each element would be scaled twice`);
      }
      if (g.byteLength > 0 || last === null) last = item;
      out.push(g);
    }
  }
  return out;
}

/**
 * Scales the gradients of `params` together, in place, so that their joint norm is at most
 * `maxNorm`, and returns that norm as it was before scaling: PyTorch's
 * `torch.nn.utils.clip_grad_norm_`, its factor `maxNorm / (norm + 1e-6)` included (applied only
 * when below 1). The norm is computed in float64 over every element of every gradient
 * (`null` gradients are passed over; a buffer shared by several parameters counts once).
 *
 * Unlike PyTorch (which then multiplies every gradient by 0 or NaN), when the norm is not finite
 * nothing is scaled: check the returned value, or let the optimizer's `nonFinite` policy deal
 * with the gradient. Everything is checked before anything is scaled.
 *
 * @param params - Parameters, or groups of them (`opt.paramGroups`).
 * @param maxNorm - The largest norm allowed, a number `>= 0` (`Infinity` only measures).
 * @param normType - `2` (the default, Euclidean), any other `p >= 1`, or `Infinity` (the largest
 *   magnitude), as PyTorch's `norm_type` (which also takes `p < 1`, no norm at all).
 * @returns The norm of all gradients together, before clipping (Infinity or NaN when a
 *   gradient is not finite).
 * @throws TypeError or RangeError naming the argument or the parameter; Error when two
 *   gradients share part of their memory.
 *
 * @example
 * ```ts
 * opt.zeroGrad();
 * backward(loss);
 * const norm = clipGradNorm(opt.paramGroups, 1.0); // worth logging
 * opt.step();
 * ```
 */
export function clipGradNorm(params: ClipParams, maxNorm: number, normType = 2): number {
  const grads = gradients(params, 'clipGradNorm');
  checkNumber(maxNorm, atLeast0, 'clipGradNorm', 'maxNorm');
  const p = checkNumber(normType, NORM_TYPE, 'clipGradNorm', 'normType');
  let largest = 0;
  for (const g of grads) largest = Math.max(largest, maxAbs(g));
  let total = largest;
  if (p !== Infinity && largest > 0 && largest < Infinity) {
    // Σ|g/largest|^p, then scaled back: huge finite gradients (1e200 in float64) do not overflow.
    let sum = 0;
    for (const g of grads) sum += powerSum(g, p, largest);
    total = largest * (p === 2 ? Math.sqrt(sum) : p === 1 ? sum : sum ** (1 / p));
  }
  if (!Number.isFinite(total)) return total;
  const factor = maxNorm / (total + 1e-6);
  if (factor < 1) for (const g of grads) for (let i = 0; i < g.length; i++) g[i] = g[i]! * factor;
  return total;
}

/** Σ|g/scale|^p, in float64 (a NaN element makes it NaN). */
function powerSum(g: FloatArray, p: number, scale: number): number {
  let s = 0;
  if (p === 2) {
    for (let i = 0; i < g.length; i++) {
      const x = g[i]! / scale;
      s += x * x;
    }
  } else {
    for (let i = 0; i < g.length; i++) s += Math.abs(g[i]! / scale) ** p;
  }
  return s;
}

/** max |g|, NaN when an element is NaN (as torch's `abs().max()`). */
function maxAbs(g: FloatArray): number {
  let m = 0;
  for (let i = 0; i < g.length; i++) {
    const a = Math.abs(g[i]!);
    if (a > m || a !== a) m = a; // a NaN replaces m and stays: nothing is > NaN
  }
  return m;
}

/**
 * Clamps every gradient element of `params` to `[-clipValue, clipValue]`, in place: PyTorch's
 * `torch.nn.utils.clip_grad_value_`. NaN stays NaN. Everything is checked before anything is
 * clamped.
 *
 * @param params - Parameters, or groups of them (`opt.paramGroups`).
 * @param clipValue - The largest magnitude allowed, a number `>= 0`.
 * @throws TypeError or RangeError naming the argument or the parameter.
 *
 * @example
 * ```ts
 * backward(loss);
 * clipGradValue(opt.paramGroups, 0.5);
 * opt.step();
 * ```
 */
export function clipGradValue(params: ClipParams, clipValue: number): void {
  const grads = gradients(params, 'clipGradValue');
  const c = checkNumber(clipValue, atLeast0, 'clipGradValue', 'clipValue');
  for (const g of grads) {
    for (let i = 0; i < g.length; i++) {
      const x = g[i]!;
      if (x > c) g[i] = c;
      else if (x < -c) g[i] = -c;
    }
  }
}
