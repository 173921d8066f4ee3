// src/wasm-module.ts and src/wasm-module-shared.ts are generated from wasm/rmsprop.wat: they must
// match their source. (Node only: it reads the repository's files.)
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain JS build script, no types
import { assemble, render } from '../scripts/build-wasm.mjs';
import { WASM_MODULE_BASE64 } from '../src/wasm-module.js';
import { WASM_SHARED_MODULE_BASE64 } from '../src/wasm-module-shared.js';

describe('the generated WebAssembly modules', () => {
  it('src/wasm-module.ts is assembled from wasm/rmsprop.wat as committed (run npm run build:wasm after editing it)', async () => {
    const bytes = (await assemble()) as Uint8Array;
    expect(readFileSync(new URL('../src/wasm-module.ts', import.meta.url), 'utf8')).toBe(render(bytes));
  });

  it('src/wasm-module-shared.ts is the same module importing a shared memory, as committed', async () => {
    const bytes = (await assemble(true)) as Uint8Array;
    expect(readFileSync(new URL('../src/wasm-module-shared.ts', import.meta.url), 'utf8')).toBe(render(bytes, true));
    const shared = Buffer.from(WASM_SHARED_MODULE_BASE64, 'base64'), plain = Buffer.from(WASM_MODULE_BASE64, 'base64');
    expect(WebAssembly.validate(shared)).toBe(true);
    // Only the memory import's limits differ (flags 0x00 min 1 -> 0x03 min 1 max 65536): 3 more bytes.
    expect(shared.length).toBe(plain.length + 3);
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true } as WebAssembly.MemoryDescriptor);
    expect(() => new WebAssembly.Instance(new WebAssembly.Module(shared), { env: { memory } })).not.toThrow();
    expect(() => new WebAssembly.Instance(new WebAssembly.Module(plain), { env: { memory } })).toThrow();
  });
});
