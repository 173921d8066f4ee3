// src/wasm-module.ts is generated from wasm/rmsprop.wat: it must match its source. (Node only:
// it reads the repository's files.)
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain JS build script, no types
import { assemble, render } from '../scripts/build-wasm.mjs';

describe('src/wasm-module.ts', () => {
  it('is assembled from wasm/rmsprop.wat as committed (run npm run build:wasm after editing it)', async () => {
    const bytes = (await assemble()) as Uint8Array;
    expect(readFileSync(new URL('../src/wasm-module.ts', import.meta.url), 'utf8')).toBe(render(bytes));
  });
});
