// Reads test/fixtures/torch-rmsprop.json (made by make-torch-fixtures.py) and replays a case.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface FixtureStep {
  readonly set: readonly ({ readonly group: number } & Readonly<Record<string, number | boolean>>)[];
  readonly grads: readonly (readonly number[] | null)[];
  readonly params: readonly (readonly number[])[];
}

export interface FixtureState {
  readonly step: number;
  readonly squareAvg: readonly number[] | null;
  readonly gradAvg: readonly number[] | null;
  readonly momentumBuffer: readonly number[] | null;
}

export interface FixtureCase {
  readonly name: string;
  readonly dtype: 'float32' | 'float64';
  readonly options: Readonly<Record<string, number | boolean>>;
  readonly groups: readonly { readonly params: readonly number[]; readonly options: Readonly<Record<string, number | boolean>> }[] | null;
  readonly shapes: readonly (readonly number[])[];
  readonly init: readonly (readonly number[])[];
  readonly steps: readonly FixtureStep[];
  readonly finalState: readonly FixtureState[];
}

export interface Fixture {
  readonly torch: string;
  readonly cases: readonly FixtureCase[];
}

export function loadTorchFixture(): Fixture {
  const path = fileURLToPath(new URL('../fixtures/torch-rmsprop.json', import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8')) as Fixture;
}

/**
 * The error of `actual` against PyTorch's `expected`, relative to the larger of |expected| and
 * the largest magnitude in the tensor: a plain relative error, except for elements that are
 * near zero compared with their tensor, where a relative error means nothing (a value that
 * crosses zero carries the absolute rounding error of the larger values around it).
 */
export function tensorRelativeError(
  actual: ArrayLike<number>,
  expected: readonly number[],
  dtype: 'float32' | 'float64',
): number {
  // Subnormals carry fewer significant bits: measure against at least the smallest normal number.
  let scale = dtype === 'float64' ? 2 ** -1022 : 2 ** -126;
  for (const x of expected) scale = Math.max(scale, Math.abs(x));
  let worst = 0;
  for (let j = 0; j < expected.length; j++) {
    const b = expected[j]!;
    const a = actual[j]!;
    if (a === b) continue;
    const e = Math.abs(a - b) / Math.max(Math.abs(b), scale);
    worst = e > worst || Number.isNaN(e) ? e : worst;
  }
  return worst;
}
