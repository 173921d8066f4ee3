import { describe, expect, it } from 'vitest';
import { OPTION_NAMES, checkHyper, checkOptions, resolveOptions } from '../src/options.js';
import { rmspropDefaults } from '../src/rmsprop-step.js';
import type { RMSPropHyper } from '../src/rmsprop-step.js';

describe('checkOptions', () => {
  it('accepts every option at the edges of its range', () => {
    expect(() => checkOptions({ lr: 0, alpha: 0, eps: Number.MIN_VALUE, weightDecay: 0, momentum: 0 }, 'X', -1, ['nonFinite'])).not.toThrow();
    expect(() => checkOptions({ lr: Number.MAX_VALUE, alpha: 1 - 2 ** -53, eps: Number.MAX_VALUE, weightDecay: 1e300, momentum: 0.999999 }, 'X', -1, ['nonFinite'])).not.toThrow();
    expect(() => checkOptions({ centered: true, maximize: false }, 'X', 3, ['params'])).not.toThrow();
    expect(() => checkOptions({}, 'X', -1, ['nonFinite'])).not.toThrow();
  });

  it('allows the extra key it is told about, and no other', () => {
    expect(() => checkOptions({ params: [], lr: 1 }, 'X', 0, ['params'])).not.toThrow();
    expect(() => checkOptions({ params: [] }, 'X', -1, ['nonFinite'])).toThrow(
      new TypeError('X: unknown option "params"; the options are lr, alpha, eps, weightDecay, momentum, centered, maximize, epsInSqrt, lrInMomentum, nesterov, initialAccumulator, biasCorrection, decoupledWeightDecay, frozen'),
    );
  });

  it.each([
    ['learningRate', 'lr'],
    ['learning_rate', 'lr'],
    ['rho', 'alpha'],
    ['decay', 'alpha'],
    ['epsilon', 'eps'],
    ['weight_decay', 'weightDecay'],
  ])('points %s to %s', (key, name) => {
    expect(() => checkOptions({ [key]: 0.5 }, 'X', 2, ['params'])).toThrow(`X: unknown option "${key}" in group 2 (did you mean ${name}?)`);
  });

  it('does not mistake inherited object properties for spellings', () => {
    expect(() => checkOptions({ toString: 1 }, 'X', -1, ['nonFinite'])).toThrow(
      new TypeError('X: unknown option "toString"; the options are lr, alpha, eps, weightDecay, momentum, centered, maximize, epsInSqrt, lrInMomentum, nesterov, initialAccumulator, biasCorrection, decoupledWeightDecay, frozen'),
    );
  });

  it('rejects options that are not a plain object', () => {
    expect(() => checkOptions([], 'X', -1, ['nonFinite'])).toThrow(new TypeError('X: invalid options: expected an object, got an array of length 0'));
    expect(() => checkOptions(null, 'X', 1, ['params'])).toThrow(new TypeError('X: invalid group 1: expected an object with params, got null'));
  });
});

describe('checkHyper', () => {
  it('accepts the defaults and rejects any field out of range, naming the group', () => {
    expect(() => checkHyper(rmspropDefaults, 'Y', 0)).not.toThrow();
    for (const [name, bad] of [
      ['lr', -1],
      ['alpha', 1],
      ['eps', 0],
      ['weightDecay', Infinity],
      ['momentum', NaN],
    ] as const) {
      const hyper = { ...rmspropDefaults, [name]: bad } as RMSPropHyper;
      expect(() => checkHyper(hyper, 'Y', 4)).toThrow(RangeError);
      expect(() => checkHyper(hyper, 'Y', 4)).toThrow(`Y: invalid ${name} in group 4: expected `);
    }
    expect(() => checkHyper({ ...rmspropDefaults, maximize: null } as unknown as RMSPropHyper, 'Y', 0)).toThrow(
      new TypeError('Y: invalid maximize in group 0: expected a boolean, got null'),
    );
  });
});

describe('resolveOptions', () => {
  it('takes each option given and the base for the rest, in one fixed key order', () => {
    const r = resolveOptions({ ...rmspropDefaults, lr: 0.5, frozen: false }, { momentum: 0.9, centered: true, frozen: true });
    expect(r).toStrictEqual({ ...rmspropDefaults, lr: 0.5, momentum: 0.9, centered: true, frozen: true });
    expect(Object.keys(r)).toEqual([...OPTION_NAMES]);
  });

  it('keeps an explicit 0 or false rather than falling back', () => {
    const r = resolveOptions({ ...rmspropDefaults, lr: 0.5, centered: true, frozen: true }, { lr: 0, centered: false, frozen: false });
    expect(r.frozen).toBe(false);
    expect(r.lr).toBe(0);
    expect(r.centered).toBe(false);
  });
});
