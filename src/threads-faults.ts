// A test hook of the threaded arena (threads.ts), in a module of its own so that no entry point
// exports it: test/threads.test.ts makes workers fail on purpose through it.

/** The fault the next parallel step's workers are told to commit: 0 none, 3 throw, 4 die. */
let pending = 0;

/**
 * Test hook: the next parallel step (of any threaded arena) has its workers fail (`'fault'`:
 * they throw inside the step) or end without a word (`'die'`).
 *
 * @internal
 */
export function injectFault(kind: 'fault' | 'die'): void {
  pending = kind === 'fault' ? 3 : 4;
}

/** The pending fault's command, or 0. @internal */
export function pendingFault(): number {
  return pending;
}

/** Forgets the pending fault, once a parallel step has used it. @internal */
export function clearFault(): void {
  pending = 0;
}
