import type { FloatArray } from './rmsprop-step.js';

/**
 * Gradient clipping, applied by `step()` before the update, in place on the gradient buffers, as
 * `torch.nn.utils.clip_grad_value_` and `clip_grad_norm_` do.
 *
 * @internal
 */

/** Clamps every element to `[-limit, limit]` (`clip_grad_value_`). NaN stays NaN. */
export function clampValues(grad: FloatArray, limit: number): void {
  for (let i = 0; i < grad.length; i++) {
    const g = grad[i]!;
    if (g > limit) grad[i] = limit;
    else if (g < -limit) grad[i] = -limit;
  }
}

/** The sum of squares of the elements, in float64. */
export function sumOfSquares(grad: FloatArray): number {
  let s = 0;
  for (let i = 0; i < grad.length; i++) s += grad[i]! * grad[i]!;
  return s;
}

/**
 * `clip_grad_norm_`'s factor for a gradient (or set of gradients) whose L2 norm is `norm`:
 * `maxNorm / (norm + 1e-6)`, at most 1.
 */
export function clipFactor(norm: number, maxNorm: number): number {
  const f = maxNorm / (norm + 1e-6);
  return f < 1 ? f : 1;
}

/** Multiplies every element by `factor` (nothing to do when it is 1). */
export function scaleBy(grad: FloatArray, factor: number): void {
  if (factor === 1) return;
  for (let i = 0; i < grad.length; i++) grad[i] = grad[i]! * factor;
}

/**
 * Clips the gradients a step will use, in place, in PyTorch's order: values first
 * (`clipValue`), then each gradient's own norm (`clipNorm`), then the norm of all of them
 * together (`clipGlobalNorm`). `null` slots (no gradient this step) are passed over; a `null`
 * limit is off.
 */
export function clipGradients(
  grads: readonly (FloatArray | null | undefined)[],
  value: number | null,
  norm: number | null,
  globalNorm: number | null,
): void {
  let total = 0;
  for (let k = 0; k < grads.length; k++) {
    const grad = grads[k];
    if (grad === null || grad === undefined) continue;
    if (value !== null) clampValues(grad, value);
    if (norm !== null) scaleBy(grad, clipFactor(Math.sqrt(sumOfSquares(grad)), norm));
    if (globalNorm !== null) total += sumOfSquares(grad);
  }
  if (globalNorm === null) return;
  const factor = clipFactor(Math.sqrt(total), globalNorm);
  for (let k = 0; k < grads.length; k++) {
    const grad = grads[k];
    if (grad !== null && grad !== undefined) scaleBy(grad, factor);
  }
}
