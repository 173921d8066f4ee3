// One assertion for every error test: the call throws exactly this class (not a subclass or a
// parent) with exactly this message.
import { expect } from 'vitest';

type ErrorClass = new (message: string) => Error;

/** Asserts that `fn` throws an error whose constructor is `type` and whose message is `message`. */
export function expectError(fn: () => unknown, type: ErrorClass, message: string): void {
  let thrown: unknown = undefined;
  let threw = false;
  try {
    fn();
  } catch (error) {
    thrown = error;
    threw = true;
  }
  expect(threw, `expected a ${type.name}: ${message}`).toBe(true);
  expect(thrown).toBeInstanceOf(Error);
  expect((thrown as Error).constructor).toBe(type);
  expect((thrown as Error).message).toBe(message);
}
