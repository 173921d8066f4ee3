// test/fixtures/torch-rmsprop.json (made by make-torch-fixtures.py), imported as a module so
// that the suite runs in Node and in a browser alike.
import torchFixture from '../fixtures/torch-rmsprop.json' with { type: 'json' };

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
  return torchFixture as Fixture;
}

