// The checks RMSProp runs on its options and, at every step, on each parameter's buffers.
// Each throws a message naming the option or the parameter (group and index), the value and
// what is allowed.
import { describe } from './describe.js';
import type { NonFinitePolicy, OptimizerOptions } from './optimizer.js';
import { at, isFloatArray, overlaps } from './param-groups.js';
import type { ParamRef } from './param-groups.js';
import type { FloatArray, RMSPropState } from './rmsprop-step.js';

/** A clipping limit: `null` when not given. @internal */
export function checkClip(options: OptimizerOptions, name: 'clipValue' | 'clipNorm' | 'clipGlobalNorm'): number | null {
  const value: unknown = options[name];
  if (value === undefined) return null;
  if (typeof value !== 'number' || !(value > 0) || value === Infinity) {
    const error = typeof value === 'number' ? RangeError : TypeError;
    throw new error(`RMSProp: invalid ${name}: expected a finite number > 0, got ${describe(value)}`);
  }
  return value;
}

/** The `nonFinite` policy, checked. @internal */
export function checkPolicy(value: unknown, prefix: string): NonFinitePolicy {
  if (value !== 'throw' && value !== 'skip' && value !== 'apply') {
    throw new TypeError(`${prefix}: invalid nonFinite: expected 'throw', 'skip' or 'apply', got ${describe(value)}`);
  }
  return value;
}

/** `'Float32Array'` or `'Float64Array'`. @internal */
export function typeName(x: FloatArray): string {
  return x instanceof Float64Array ? 'Float64Array' : 'Float32Array';
}

/**
 * Checks one parameter's buffers before a step and returns its gradient. Throws, naming the
 * group and parameter, when `data` changed type or size since registration, or when `grad` is
 * not a buffer of `data`'s type and length, or shares memory with `data`.
 */
/** Checks that a parameter's `data` kept the type and length it was registered with. */
export function checkData(param: ParamRef, state: RMSPropState, group: number, index: number, prefix: string): FloatArray {
  const data: unknown = param.data;
  const sq = state.squareAvg;
  if (!isFloatArray(data)) {
    throw new TypeError(
      `${prefix}: invalid data: expected a Float32Array or Float64Array, got ${describe(data)} ${at(group, index)}`,
    );
  }
  if (data instanceof Float64Array !== sq instanceof Float64Array) {
    throw new TypeError(
      `${prefix}: data changed from ${typeName(sq)} to ${typeName(data)} after it was registered ${at(group, index)}`,
    );
  }
  if (data.length !== sq.length) {
    throw new RangeError(
      `${prefix}: data length ${data.length} does not match its state length ${sq.length}; a parameter cannot change size after it is registered ${at(group, index)}`,
    );
  }
  return data;
}

/** Checks one parameter's buffers before a step and returns its gradient. @internal */
export function checkBuffers(param: ParamRef, grad: unknown, state: RMSPropState, group: number, index: number): FloatArray {
  const data = checkData(param, state, group, index, 'RMSProp.step');
  if (!isFloatArray(grad)) {
    throw new TypeError(
      `RMSProp.step: invalid grad: expected a Float32Array, Float64Array or null, got ${describe(grad)} ${at(group, index)}`,
    );
  }
  if (grad instanceof Float64Array !== data instanceof Float64Array) {
    throw new TypeError(`RMSProp.step: grad is a ${typeName(grad)} but data is a ${typeName(data)} ${at(group, index)}`);
  }
  if (grad.length !== data.length) {
    throw new RangeError(
      `RMSProp.step: grad length ${grad.length} does not match data length ${data.length} ${at(group, index)}`,
    );
  }
  if (overlaps(grad, data)) throw new Error(`RMSProp.step: grad shares memory with data ${at(group, index)}`);
  return grad;
}
