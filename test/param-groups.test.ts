import { describe, expect, it } from 'vitest';
import { OPTION_NAMES } from '../src/options.js';
import type { GroupHyper } from '../src/options.js';
import { buildGroups, locate, toGroupSpecs } from '../src/param-groups.js';
import type { Located, ParamGroup, ParamRef } from '../src/param-groups.js';
import { rmspropDefaults } from '../src/rmsprop-step.js';
import type { FloatArray } from '../src/rmsprop-step.js';
import { expectError } from './support/expect-error.js';
import { foreignArray } from './support/realm.js';

const base: GroupHyper = { ...rmspropDefaults, frozen: false };
const NAMES = OPTION_NAMES.join(', ');

const param = (n: number, name?: string): ParamRef => ({ data: new Float32Array(n), grad: null, ...(name === undefined ? {} : { name }) });
const onData = (data: FloatArray, name?: string): ParamRef => ({ data, grad: null, ...(name === undefined ? {} : { name }) });

/** Registers specs with nothing before them; the existing parameters for a later call. */
function register(specs: readonly unknown[], existing: readonly Located[] = [], groupCount = 0): { groups: ParamGroup[]; located: Located[] } {
  const { groups, params } = buildGroups(specs, base, existing, groupCount, 'X');
  return { groups, located: params.flat() };
}

describe('toGroupSpecs', () => {
  it('wraps an array of parameters into one group and passes groups through', () => {
    const p = param(1);
    expect(toGroupSpecs([p], 'X')).toEqual([{ params: [p] }]);
    const groups = [{ params: [p] }, { params: [param(2)], lr: 1 }];
    expect(toGroupSpecs(groups, 'X')).toBe(groups);
  });

  it.each([
    [null, 'null'],
    [undefined, 'undefined'],
    [{ params: [] }, 'an object'],
    [new Float32Array(2), 'a Float32Array of length 2'],
  ] as const)('rejects %o, which is not an array', (value, text) => {
    expectError(() => toGroupSpecs(value, 'X'), TypeError, `X: invalid params: expected an array of parameters or of parameter groups, got ${text}`);
  });

  it('rejects an empty array', () => {
    expectError(() => toGroupSpecs([], 'X'), RangeError, 'X: invalid params: the array is empty');
  });

  it('rejects parameters mixed with groups, naming the first entry that differs', () => {
    const p = param(1);
    expectError(() => toGroupSpecs([p, param(1), { params: [p] }], 'X'), TypeError, 'X: invalid params: entry 0 is a parameter but entry 2 is not; pass parameters or groups, not both');
    expectError(() => toGroupSpecs([{ params: [p] }, p], 'X'), TypeError, 'X: invalid params: entry 0 is a group but entry 1 is not; pass parameters or groups, not both');
  });
});

describe('buildGroups', () => {
  it('resolves options, freezes each group params array, and gives the parameters as read', () => {
    const a = param(2, 'a');
    const b = param(3);
    const spec = { params: [a, b], lr: 0.5 };
    const { groups, params } = buildGroups([spec], base, [], 0, 'X');
    expect(groups).toHaveLength(1);
    const g = groups[0]!;
    expect(g).toEqual({ params: [a, b], ...base, lr: 0.5 });
    expect(Object.keys(g)).toEqual(['params', ...OPTION_NAMES]);
    expect(Object.isFrozen(g.params)).toBe(true);
    expect(g.params).not.toBe(spec.params);
    expect(() => {
      (g as { params: unknown }).params = [];
    }).toThrow(TypeError);
    expect(params).toEqual([
      [
        { param: a, data: a.data, name: 'a', group: 0, index: 0 },
        { param: b, data: b.data, name: undefined, group: 0, index: 1 },
      ],
    ]);
    expect(spec).toEqual({ params: [a, b], lr: 0.5 }); // the spec is not touched
  });

  it('falls back to the base for every option a group does not set', () => {
    const { groups } = register([{ params: [param(1)] }, { params: [param(1)], momentum: 0.9, centered: true }]);
    expect(groups[0]).toMatchObject(base);
    expect(groups[1]).toMatchObject({ ...base, momentum: 0.9, centered: true });
  });

  it('reads data and name once each: what was read is what is registered', () => {
    const reads = { data: 0, name: 0 };
    const data = new Float32Array(2);
    const p = {
      get data(): Float32Array {
        reads.data++;
        return data;
      },
      get name(): string {
        reads.name++;
        return 'w';
      },
      grad: null,
    };
    const { located } = register([{ params: [p] }]);
    expect(reads).toEqual({ data: 1, name: 1 });
    expect(located[0]).toEqual({ param: p, data, name: 'w', group: 0, index: 0 });
  });

  it('numbers new groups after the existing ones in its results and messages', () => {
    const first = register([{ params: [param(1)] }, { params: [param(1)] }]);
    const { located } = register([{ params: [param(1), param(1)] }], first.located, 2);
    expect(located.map((l) => [l.group, l.index])).toEqual([
      [2, 0],
      [2, 1],
    ]);
    expectError(() => register([{ params: [param(1)] }, { params: [] }], first.located, 2), RangeError, 'X: group 3 has no parameters');
  });

  it.each([
    [null, TypeError, 'X: invalid group 0: expected an object with params, got null'],
    [[param(1)], TypeError, 'X: invalid group 0: expected an object with params, got an array of length 1'],
    [{}, TypeError, 'X: invalid params in group 0: expected an array, got undefined'],
    [{ params: new Float32Array(2) }, TypeError, 'X: invalid params in group 0: expected an array, got a Float32Array of length 2'],
    [{ params: [] }, RangeError, 'X: group 0 has no parameters'],
    [{ params: [param(1)], lr: -1 }, RangeError, 'X: invalid lr in group 0: expected a finite number >= 0, got -1'],
    [{ params: [param(1)], rho: 0.9 }, TypeError, `X: unknown option "rho" in group 0 (did you mean alpha?); the options are ${NAMES}`],
    [{ params: [param(1)], nonFinite: 'skip' }, TypeError, `X: unknown option "nonFinite" in group 0 (nonFinite applies to the whole optimizer: set it in the optimizer options); the options are ${NAMES}`],
  ] as const)('rejects the group %o', (spec, type, message) => {
    expectError(() => register([spec]), type, message);
  });

  it.each([
    [3, TypeError, 'X: invalid param: expected an object with data and grad, got 3 (group 0, param 1)'],
    [null, TypeError, 'X: invalid param: expected an object with data and grad, got null (group 0, param 1)'],
    [new Float32Array(2), TypeError, 'X: invalid data: expected a Float32Array or Float64Array, got undefined (group 0, param 1)'],
    [{ grad: null }, TypeError, 'X: invalid data: expected a Float32Array or Float64Array, got undefined (group 0, param 1)'],
    [{ data: [1, 2], grad: null }, TypeError, 'X: invalid data: expected a Float32Array or Float64Array, got an array of length 2 (group 0, param 1)'],
    [{ data: new Int32Array(2), grad: null }, TypeError, 'X: invalid data: expected a Float32Array or Float64Array, got an Int32Array of length 2 (group 0, param 1)'],
    [{ data: new Float32Array(2), grad: null, name: '' }, TypeError, 'X: invalid name: expected a non-empty string or no name, got string "" (group 0, param 1)'],
    [{ data: new Float32Array(2), grad: null, name: 3 }, TypeError, 'X: invalid name: expected a non-empty string or no name, got 3 (group 0, param 1)'],
    [{ data: new Float32Array(2), grad: null, name: null }, TypeError, 'X: invalid name: expected a non-empty string or no name, got null (group 0, param 1)'],
  ] as const)('rejects the parameter %o', (p, type, message) => {
    expectError(() => register([{ params: [param(1), p] }]), type, message);
  });

  it('says why data from another realm or a Proxy is refused', async () => {
    const foreign = await foreignArray('Float32Array', [1, 2]);
    expectError(
      () => register([{ params: [onData(foreign)] }]),
      TypeError,
      'X: invalid data: expected a Float32Array or Float64Array, got a Float32Array of length 2 from another realm (an iframe or vm context: it fails instanceof here; copy it with Float32Array.from()) (group 0, param 0)',
    );
    expectError(
      () => register([{ params: [onData(new Proxy(new Float32Array(2), {}))] }]),
      TypeError,
      'X: invalid data: expected a Float32Array or Float64Array, got an object posing as a Float32Array (a Proxy?), not a typed array (group 0, param 0)',
    );
  });

  it('rejects a parameter given twice, in one group, across groups, or already registered', () => {
    const p = param(2);
    expectError(() => register([{ params: [param(1), p, p] }]), Error, 'X: a parameter appears twice: (group 0, param 1) and (group 0, param 2)');
    expectError(() => register([{ params: [p] }, { params: [param(1), p] }]), Error, 'X: a parameter appears twice: (group 0, param 0) and (group 1, param 1)');
    const first = register([{ params: [param(1), p] }]);
    expectError(() => register([{ params: [p] }], first.located, 1), Error, 'X: a parameter appears twice: (group 0, param 1) and (group 1, param 0)');
  });

  it('rejects a name used twice, in the new groups or against the registered ones', () => {
    expectError(() => register([{ params: [param(1, 'w'), param(1), param(1, 'w')] }]), Error, 'X: duplicate parameter name "w": (group 0, param 0) and (group 0, param 2)');
    const first = register([{ params: [param(1, 'w')] }]);
    expectError(() => register([{ params: [param(1, 'v'), param(1, 'w')] }], first.located, 1), Error, 'X: duplicate parameter name "w": (group 0, param 0) and (group 1, param 1)');
  });

  it('allows names to repeat only when absent', () => {
    expect(register([{ params: [param(1), param(1), param(1, 'a')] }]).groups).toHaveLength(1);
  });

});

describe('locate', () => {
  const a = param(1, 'a');
  const b = param(1);
  const c = param(1, 'c');
  const d = param(1);
  const { groups } = register([{ params: [a, b] }, { params: [c, d] }]);
  const fail = (name: string, group: string, index: string): string =>
    `P: invalid params[3]: expected a parameter of this optimizer (by name, or by group and index when it has none), got name ${name}, group ${group}, index ${index}`;

  it('finds a named parameter by its name, wherever the entry says it was', () => {
    expect(locate(groups, { name: 'c' }, 'P', 'params[3]')).toEqual({ param: c, group: 1, index: 0 });
    expect(locate(groups, { name: 'a', group: 1, index: 1 }, 'P', 'params[3]')).toEqual({ param: a, group: 0, index: 0 });
  });

  it('finds an unnamed parameter by group and index, with name null', () => {
    expect(locate(groups, { name: null, group: 0, index: 1 }, 'P', 'params[3]')).toEqual({ param: b, group: 0, index: 1 });
    expect(locate(groups, { name: null, group: 1, index: 1 }, 'P', 'params[3]')).toEqual({ param: d, group: 1, index: 1 });
  });

  it('does not find a named parameter by group and index', () => {
    expectError(() => locate(groups, { name: null, group: 1, index: 0 }, 'P', 'params[3]'), Error, fail('null', '1', '0'));
  });

  it.each([
    [{ name: 'z' }, fail('string "z"', 'undefined', 'undefined')],
    [{ name: '' }, fail('string ""', 'undefined', 'undefined')],
    [{ group: 0, index: 1 }, fail('undefined', '0', '1')],
    [{ name: null, group: 2, index: 0 }, fail('null', '2', '0')],
    [{ name: null, group: 0, index: 2 }, fail('null', '0', '2')],
    [{ name: null, group: -1, index: 0 }, fail('null', '-1', '0')],
    [{ name: null, group: 0, index: 0.5 }, fail('null', '0', '0.5')],
    [{ name: null, group: '0', index: 1 }, fail('null', 'string "0"', '1')],
    [{ name: null, group: 0, index: NaN }, fail('null', '0', 'NaN')],
    [{ name: 3, group: 0, index: 1 }, fail('3', '0', '1')],
    [null, fail('undefined', 'undefined', 'undefined')],
    [7, fail('undefined', 'undefined', 'undefined')],
    [[], fail('undefined', 'undefined', 'undefined')],
  ] as const)('fails for the entry %o, naming its path and what it held', (entry, message) => {
    expectError(() => locate(groups, entry, 'P', 'params[3]'), Error, message);
  });
});

describe('registration with parameters that cannot be read', () => {
  it('names the parameter instead of passing on a raw engine error (a revoked Proxy, a throwing getter)', () => {
    const { proxy, revoke } = Proxy.revocable({ data: new Float32Array(1), grad: null }, {});
    revoke();
    expectError(
      () => buildGroups([{ params: [{ data: new Float32Array(1), grad: null }, proxy] }], { ...rmspropDefaults, frozen: false }, [], 0, 'X'),
      TypeError,
      "X: invalid param: reading its data or name threw (Cannot perform 'get' on a proxy that has been revoked) (group 0, param 1)",
    );
    const throwing = { get data(): Float32Array { throw new Error('no data'); }, grad: null };
    expectError(() => toGroupSpecs([throwing], 'X') && buildGroups([{ params: [throwing] }], { ...rmspropDefaults, frozen: false }, [], 0, 'X'), TypeError, 'X: invalid param: reading its data or name threw (no data) (group 0, param 0)');
  });
});
