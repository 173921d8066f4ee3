import { describe, expect, it } from 'vitest';
import { checkBuffers, checkClip, checkData, checkPolicy } from '../src/checks.js';
import { createState, rmspropDefaults } from '../src/rmsprop-step.js';

describe('the step-time checks', () => {
  const data = new Float32Array(4);
  const state = createState(data, rmspropDefaults);

  it('pass a matching pair and return the gradient', () => {
    const grad = new Float32Array(4);
    expect(checkBuffers({ data, grad }, grad, state, 0, 0)).toBe(grad);
    expect(checkData({ data, grad: null }, state, 0, 0, 'X')).toBe(data);
  });

  it('name the caller, the group and the parameter', () => {
    expect(() => checkData({ data: new Float32Array(5), grad: null }, state, 2, 7, 'RMSProp.sparseStep')).toThrow(
      new RangeError('RMSProp.sparseStep: data length 5 does not match its state length 4; a parameter cannot change size after it is registered (group 2, param 7)'),
    );
    expect(() => checkBuffers({ data, grad: null }, data.subarray(1), state, 1, 3)).toThrow(
      new RangeError('RMSProp.step: grad length 3 does not match data length 4 (group 1, param 3)'),
    );
  });

  it('check the optimizer-wide options', () => {
    expect(checkPolicy('skip', 'X')).toBe('skip');
    expect(() => checkPolicy('never', 'X')).toThrow(new TypeError(`X: invalid nonFinite: expected 'throw', 'skip' or 'apply', got string "never"`));
    expect(checkClip({}, 'clipNorm')).toBeNull();
    expect(checkClip({ clipNorm: 2 }, 'clipNorm')).toBe(2);
    expect(() => checkClip({ clipValue: NaN }, 'clipValue')).toThrow(new RangeError('RMSProp: invalid clipValue: expected a finite number > 0, got NaN'));
  });
});
