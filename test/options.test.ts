import { describe, expect, it } from 'vitest';
import { createArena } from '../src/arena.js';
import type { Arena } from '../src/backend.js';
import {
  OPTIMIZER_OPTIONS,
  OPTION_NAMES,
  checkArena,
  checkHyper,
  checkOptions,
  checkPolicy,
  inGroup,
  isFrozen,
  resolveHyper,
  resolveOptions,
} from '../src/options.js';
import type { GroupHyper, Mutable, RMSPropOptions } from '../src/options.js';
import { rmspropDefaults } from '../src/rmsprop-step.js';
import type { RMSPropHyper } from '../src/rmsprop-step.js';
import { expectError } from './support/expect-error.js';
import { revoked } from './support/realm.js';

const NAMES = 'lr, alpha, eps, weightDecay, momentum, centered, maximize, epsInSqrt, lrInMomentum, nesterov, initialAccumulator, biasCorrection, decoupledWeightDecay, frozen';
const groupDefaults: GroupHyper = { ...rmspropDefaults, frozen: false };

describe('checkOptions', () => {
  it('accepts every option at the edges of its range', () => {
    expect(() => checkOptions({ lr: 0, alpha: 0, eps: Number.MIN_VALUE, weightDecay: 0, momentum: 0, initialAccumulator: 0 }, 'X', -1, OPTIMIZER_OPTIONS)).not.toThrow();
    expect(() => checkOptions({ lr: Number.MAX_VALUE, alpha: 1 - 2 ** -53, eps: Number.MAX_VALUE, weightDecay: 1e300, momentum: 0.999999, initialAccumulator: 1e300 }, 'X', -1, OPTIMIZER_OPTIONS)).not.toThrow();
    expect(() => checkOptions({ centered: true, maximize: false, frozen: true }, 'X', 3, ['params'])).not.toThrow();
    expect(() => checkOptions({}, 'X', -1, OPTIMIZER_OPTIONS)).not.toThrow();
    expect(() => checkOptions(Object.create(null), 'X', -1, OPTIMIZER_OPTIONS)).not.toThrow();
  });

  it('takes undefined as not given, and a function as lr (a schedule)', () => {
    expect(() => checkOptions({ lr: undefined, centered: undefined }, 'X', -1, [])).not.toThrow();
    expect(() => checkOptions({ lr: (t: number) => 1 / (t + 1) }, 'X', 0, ['params'])).not.toThrow();
  });

  it.each([
    [{ lr: -1 }, RangeError, 'lr', 'a finite number >= 0', '-1'],
    [{ lr: Infinity }, RangeError, 'lr', 'a finite number >= 0', 'Infinity'],
    [{ lr: '0.1' }, TypeError, 'lr', 'a finite number >= 0', 'string "0.1"'],
    [{ alpha: 1 }, RangeError, 'alpha', 'a number in [0, 1)', '1'],
    [{ eps: 0 }, RangeError, 'eps', 'a finite number > 0', '0'],
    [{ weightDecay: NaN }, RangeError, 'weightDecay', 'a finite number >= 0', 'NaN'],
    [{ momentum: null }, TypeError, 'momentum', 'a number in [0, 1)', 'null'],
    [{ initialAccumulator: -0.5 }, RangeError, 'initialAccumulator', 'a finite number >= 0', '-0.5'],
    [{ centered: 1 }, TypeError, 'centered', 'a boolean', '1'],
    [{ frozen: 'yes' }, TypeError, 'frozen', 'a boolean', 'string "yes"'],
    [{ alpha: () => 0.9 }, TypeError, 'alpha', 'a number in [0, 1)', 'a function'],
  ] as const)('rejects %o, naming the option, the group and the value', (options, type, name, allowed, text) => {
    expectError(() => checkOptions(options, 'X', -1, []), type, `X: invalid ${name}: expected ${allowed}, got ${text}`);
    expectError(() => checkOptions(options, 'X', 2, ['params']), type, `X: invalid ${name} in group 2: expected ${allowed}, got ${text}`);
  });

  it('allows the extra keys it is told about, and no other', () => {
    expect(() => checkOptions({ params: [], lr: 1 }, 'X', 0, ['params'])).not.toThrow();
    expect(() => checkOptions({ nonFinite: 'bad', arena: 3 }, 'X', -1, OPTIMIZER_OPTIONS)).not.toThrow(); // the caller checks them
    expectError(() => checkOptions({ params: [] }, 'X', -1, OPTIMIZER_OPTIONS), TypeError, `X: unknown option "params"; the options are ${NAMES}`);
    expectError(() => checkOptions({ lr: 1, betas: [0.9, 0.99] }, 'X', 1, ['params']), TypeError, `X: unknown option "betas" in group 1; the options are ${NAMES}`);
  });

  it.each([
    ['learningRate', 'lr'],
    ['learning_rate', 'lr'],
    ['rho', 'alpha'],
    ['decay', 'alpha'],
    ['epsilon', 'eps'],
    ['weight_decay', 'weightDecay'],
    ['accumulate', 'MultiSteps'],
    ['clipValue', 'clipGradValue'],
    ['clipNorm', 'clipGradNorm'],
    ['clipGlobalNorm', 'clipGradNorm'],
  ])('points %s to %s', (key, name) => {
    expectError(() => checkOptions({ [key]: 0.5 }, 'X', 2, ['params']), TypeError, `X: unknown option "${key}" in group 2 (did you mean ${name}?); the options are ${NAMES}`);
    expectError(() => checkOptions({ [key]: 0.5 }, 'X', -1, OPTIMIZER_OPTIONS), TypeError, `X: unknown option "${key}" (did you mean ${name}?); the options are ${NAMES}`);
  });

  it.each(['nonFinite', 'arena'])('says that %s applies to the whole optimizer when a group sets it', (key) => {
    expectError(
      () => checkOptions({ params: [], [key]: 'skip' }, 'X', 1, ['params']),
      TypeError,
      `X: unknown option "${key}" in group 1 (${key} applies to the whole optimizer: set it in the optimizer options); the options are ${NAMES}`,
    );
  });

  it.each(['toString', 'constructor', 'hasOwnProperty', '__proto__', 'valueOf'])('does not mistake the own key %s for a known spelling', (key) => {
    const options = JSON.parse(`{"${key}": 1}`) as object;
    expectError(() => checkOptions(options, 'X', -1, OPTIMIZER_OPTIONS), TypeError, `X: unknown option "${key}"; the options are ${NAMES}`);
  });

  it('ignores inherited and non-enumerable keys', () => {
    const options = Object.create({ learningRate: 1 }) as object;
    Object.defineProperty(options, 'rho', { value: 0.9, enumerable: false });
    expect(() => checkOptions(options, 'X', -1, [])).not.toThrow();
  });

  it.each([
    [[], 'an array of length 0'],
    [null, 'null'],
    [0.01, '0.01'],
    ['lr', 'string "lr"'],
    [() => ({}), 'a function'],
  ] as const)('rejects options that are not a plain object: %o', (value, text) => {
    expectError(() => checkOptions(value, 'X', -1, OPTIMIZER_OPTIONS), TypeError, `X: invalid options: expected an object, got ${text}`);
    expectError(() => checkOptions(value, 'X', 1, ['params']), TypeError, `X: invalid group 1: expected an object with params, got ${text}`);
  });

  it('rejects a revoked Proxy as options with its TypeError, not the engine error', () => {
    const text = 'an object that throws when inspected (a revoked Proxy?)';
    expectError(() => checkOptions(revoked({ lr: 1 }), 'X', -1, OPTIMIZER_OPTIONS), TypeError, `X: invalid options: expected an object, got ${text}`);
    expectError(() => checkOptions(revoked({ params: [] }), 'X', 1, ['params']), TypeError, `X: invalid group 1: expected an object with params, got ${text}`);
  });
});

describe('checkHyper', () => {
  it('accepts the defaults and the edges of every range', () => {
    expect(() => checkHyper(rmspropDefaults, 'Y', 0)).not.toThrow();
    expect(() => checkHyper({ ...rmspropDefaults, lr: 0, alpha: 0, eps: Number.MIN_VALUE, momentum: 1 - 2 ** -53, weightDecay: Number.MAX_VALUE, initialAccumulator: Number.MAX_VALUE }, 'Y', 0)).not.toThrow();
  });

  it.each([
    ['lr', -1, RangeError, 'a finite number >= 0', '-1'],
    ['lr', Infinity, RangeError, 'a finite number >= 0', 'Infinity'],
    ['lr', '0.1', TypeError, 'a finite number >= 0', 'string "0.1"'],
    ['alpha', 1, RangeError, 'a number in [0, 1)', '1'],
    ['alpha', NaN, RangeError, 'a number in [0, 1)', 'NaN'],
    ['eps', 0, RangeError, 'a finite number > 0', '0'],
    ['eps', Infinity, RangeError, 'a finite number > 0', 'Infinity'],
    ['weightDecay', Infinity, RangeError, 'a finite number >= 0', 'Infinity'],
    ['momentum', NaN, RangeError, 'a number in [0, 1)', 'NaN'],
    ['momentum', undefined, TypeError, 'a number in [0, 1)', 'undefined'],
    ['initialAccumulator', -1, RangeError, 'a finite number >= 0', '-1'],
    ['centered', 0, TypeError, 'a boolean', '0'],
    ['maximize', null, TypeError, 'a boolean', 'null'],
    ['epsInSqrt', 'false', TypeError, 'a boolean', 'string "false"'],
    ['lrInMomentum', undefined, TypeError, 'a boolean', 'undefined'],
    ['nesterov', 1, TypeError, 'a boolean', '1'],
    ['biasCorrection', {}, TypeError, 'a boolean', 'an object'],
    ['decoupledWeightDecay', [], TypeError, 'a boolean', 'an array of length 0'],
  ] as const)('rejects %s = %o, naming the group', (name, bad, type, allowed, text) => {
    const hyper = { ...rmspropDefaults, [name]: bad } as unknown as RMSPropHyper;
    expectError(() => checkHyper(hyper, 'Y', 4), type, `Y: invalid ${name} in group 4: expected ${allowed}, got ${text}`);
    expectError(() => checkHyper(hyper, 'Y', -1), type, `Y: invalid ${name}: expected ${allowed}, got ${text}`);
  });

  it('names the first bad field in the documented order', () => {
    expectError(() => checkHyper({ ...rmspropDefaults, nesterov: 0, eps: -1 } as unknown as RMSPropHyper, 'Y', 0), RangeError, 'Y: invalid eps in group 0: expected a finite number > 0, got -1');
  });
});

describe('resolveHyper', () => {
  const fresh = (): Mutable<RMSPropHyper> => ({ ...rmspropDefaults });

  it('copies every field of the group into `into`, and returns it', () => {
    const group: GroupHyper = {
      lr: 0.5,
      alpha: 0.5,
      eps: 0.25,
      weightDecay: 0.125,
      momentum: 0.75,
      centered: true,
      maximize: true,
      epsInSqrt: true,
      lrInMomentum: true,
      nesterov: true,
      initialAccumulator: 2,
      biasCorrection: true,
      decoupledWeightDecay: true,
      frozen: true,
    };
    const into = fresh();
    expect(resolveHyper(group, into, 0, 'P', 0)).toBe(into);
    const { frozen: _frozen, ...hyper } = group;
    expect(into).toStrictEqual(hyper);
  });

  it('calls a schedule once with t and takes its value as lr', () => {
    const seen: number[] = [];
    const into = fresh();
    resolveHyper({ ...groupDefaults, lr: (t) => (seen.push(t), 1 / (t + 1)) }, into, 3, 'P', 0);
    expect(seen).toEqual([3]);
    expect(into.lr).toBe(0.25);
  });

  it.each([
    [NaN, RangeError, 'NaN'],
    [-1, RangeError, '-1'],
    [Infinity, RangeError, 'Infinity'],
    [-Infinity, RangeError, '-Infinity'],
    ['0.1', TypeError, 'string "0.1"'],
    [undefined, TypeError, 'undefined'],
    [null, TypeError, 'null'],
  ] as const)("rejects a schedule's value of %o, naming group and update", (value, type, text) => {
    const into = fresh();
    const group = { ...groupDefaults, lr: (() => value) as unknown as (t: number) => number };
    expectError(() => resolveHyper(group, into, 7, 'RMSProp.step', 2), type, `RMSProp.step: invalid lr in group 2: the schedule's value for update 7: expected a finite number >= 0, got ${text}`);
  });

  it('accepts 0 from a schedule, and passes on the error a schedule throws, naming the group and the update', () => {
    const into = fresh();
    resolveHyper({ ...groupDefaults, lr: () => 0 }, into, 0, 'P', 0);
    expect(into.lr).toBe(0);
    const boom = new Error('boom');
    expect(() =>
      resolveHyper(
        {
          ...groupDefaults,
          lr: () => {
            throw boom;
          },
        },
        fresh(),
        7,
        'P',
        2,
      ),
    ).toThrow(new Error('P: the lr schedule of group 2 threw at update 7: boom', { cause: boom }));
    try {
      resolveHyper({ ...groupDefaults, lr: () => { throw boom; } }, fresh(), 7, 'P', 2);
    } catch (error) {
      expect((error as Error).cause).toBe(boom);
    }
    // Not a function one can call: a class.
    expectError(() => resolveHyper({ ...groupDefaults, lr: class {} as never }, fresh(), 0, 'P', 0), Error, "P: the lr schedule of group 0 threw at update 0: Class constructor lr cannot be invoked without 'new'");
  });

  it('checks every field after copying, naming the group', () => {
    expectError(() => resolveHyper({ ...groupDefaults, alpha: 1 }, fresh(), 0, 'P', 3), RangeError, 'P: invalid alpha in group 3: expected a number in [0, 1), got 1');
    expectError(() => resolveHyper({ ...groupDefaults, lr: -2 }, fresh(), 0, 'P', 1), RangeError, 'P: invalid lr in group 1: expected a finite number >= 0, got -2');
    expectError(() => resolveHyper({ ...groupDefaults, centered: 'yes' } as unknown as GroupHyper, fresh(), 0, 'P', 0), TypeError, 'P: invalid centered in group 0: expected a boolean, got string "yes"');
  });
});

describe('isFrozen', () => {
  it('reads a boolean', () => {
    expect(isFrozen({ frozen: false }, 'P', 0)).toBe(false);
    expect(isFrozen({ frozen: true }, 'P', 0)).toBe(true);
  });

  it.each([
    [undefined, 'undefined'],
    [0, '0'],
    ['true', 'string "true"'],
    [null, 'null'],
  ] as const)('rejects %o, naming the group', (value, text) => {
    expectError(() => isFrozen({ frozen: value }, 'P', 2), TypeError, `P: invalid frozen in group 2: expected a boolean, got ${text}`);
  });

  it('reads a getter once', () => {
    let reads = 0;
    const group = {
      get frozen(): boolean {
        reads++;
        return true;
      },
    };
    expect(isFrozen(group, 'P', 0)).toBe(true);
    expect(reads).toBe(1);
  });
});

describe('checkPolicy', () => {
  it.each(['throw', 'skip', 'apply'] as const)('returns %s', (policy) => {
    expect(checkPolicy(policy, 'X')).toBe(policy);
  });

  it.each([
    ['never', 'string "never"'],
    ['Skip', 'string "Skip"'],
    [undefined, 'undefined'],
    [null, 'null'],
    [0, '0'],
  ] as const)('rejects %o', (value, text) => {
    expectError(() => checkPolicy(value, 'RMSProp.nonFinite'), TypeError, `RMSProp.nonFinite: invalid nonFinite: expected 'throw', 'skip' or 'apply', got ${text}`);
  });
});

describe('checkArena', () => {
  it('gives null when there is none, and the arena when there is', () => {
    expect(checkArena(undefined, 'X')).toBeNull();
    const arena = createArena(8);
    expect(checkArena(arena, 'X')).toBe(arena);
  });

  it('takes anything with step and alloc functions (a backend that keeps the contract)', () => {
    const backend = { step: () => false, alloc: (n: number) => new Float32Array(n) } as unknown as Arena;
    expect(checkArena(backend, 'X')).toBe(backend);
  });

  it.each([
    [null, 'null'],
    [{}, 'an object'],
    [{ alloc: () => new Float32Array(1) }, 'an object'],
    [{ step: () => true, alloc: 1 }, 'an object'],
    [8, '8'],
    [new ArrayBuffer(8), 'an instance of ArrayBuffer'],
  ] as const)('rejects %o', (value, text) => {
    expectError(() => checkArena(value, 'RMSProp'), TypeError, `RMSProp: invalid arena: expected an arena from createArena(), got ${text}`);
  });
});

describe('inGroup', () => {
  it('names a group, or nothing for the optimizer', () => {
    expect(inGroup(0)).toBe(' in group 0');
    expect(inGroup(-1)).toBe('');
  });
});

describe('resolveOptions', () => {
  it('takes each option given and the base for the rest, in one fixed key order', () => {
    const r = resolveOptions({ ...groupDefaults, lr: 0.5 }, { momentum: 0.9, centered: true, frozen: true });
    expect(r).toStrictEqual({ ...rmspropDefaults, lr: 0.5, momentum: 0.9, centered: true, frozen: true });
    expect(Object.keys(r)).toEqual([...OPTION_NAMES]);
  });

  it('keeps an explicit 0 or false rather than falling back, and takes undefined as not given', () => {
    const r = resolveOptions({ ...groupDefaults, lr: 0.5, centered: true, frozen: true }, { lr: 0, centered: false, frozen: false, alpha: undefined } as unknown as RMSPropOptions);
    expect(r.frozen).toBe(false);
    expect(r.lr).toBe(0);
    expect(r.centered).toBe(false);
    expect(r.alpha).toBe(rmspropDefaults.alpha);
  });

  it('with no options, copies the base option fields and nothing else', () => {
    const base = { ...groupDefaults, lr: 0.25, params: [], extra: 1 } as GroupHyper;
    const r = resolveOptions(base);
    expect(r).not.toBe(base);
    expect(r).toStrictEqual({ ...groupDefaults, lr: 0.25 });
    expect(Object.keys(r)).toEqual([...OPTION_NAMES]);
  });

  it('keeps a schedule as lr', () => {
    const schedule = (t: number): number => t;
    expect(resolveOptions(groupDefaults, { lr: schedule }).lr).toBe(schedule);
  });
});
