// Runs in Chromium only: the same seeded run there and in Node gives the same bits.
import { commands } from 'vitest/browser';
import { describe, expect, it } from 'vitest';
import { seededRun } from './support/seeded-run.js';

declare module 'vitest/browser' {
  interface BrowserCommands {
    nodeSeededRun(seed: number): Promise<string[]>;
  }
}

describe('a seeded run', () => {
  it.each([1, 2, 3])('gives bit-identical parameters in Chromium and in Node (seed %i)', async (seed) => {
    const here = seededRun(seed);
    const inNode = await commands.nodeSeededRun(seed);
    expect((globalThis as { navigator?: { userAgent: string } }).navigator?.userAgent).toMatch(/Chrome/);
    expect(here).toEqual(inNode);
  });
});
