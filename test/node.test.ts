import { chmodSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RMSProp, encodeState } from '../src/index.js';
import type { RMSPropStateDict } from '../src/index.js';
import { loadState, saveState } from '../src/node.js';
import readme from '../README.md?raw';
import exampleSource from '../examples/checkpoint.ts?raw';
import { encodeState as encodeAsUsers } from 'rmsprop'; // the example's import (src/ in the tests, dist/ to tsc)
import { snapshot } from './support/snapshot.js';

const dir = mkdtempSync(join(tmpdir(), 'rmsprop-node-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function build(seed: number): { p: { data: Float32Array; grad: Float32Array; name: string }; opt: RMSProp } {
  const p = { data: Float32Array.from({ length: 6 }, (_, i) => Math.sin(seed + i)), grad: Float32Array.from({ length: 6 }, (_, i) => Math.cos(seed * i)), name: 'w' };
  const opt = new RMSProp([p], { momentum: 0.9, centered: true });
  opt.step();
  return { p, opt };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('saveState and loadState (rmsprop/node)', () => {
  it('write the bytes of encodeState and read them back into an optimizer, every bit', async () => {
    const { opt } = build(1);
    const path = join(dir, 'a.safetensors');
    await saveState(opt, path);
    expect(new Uint8Array(readFileSync(path))).toEqual(encodeState(opt));
    const twin = build(2).opt;
    await loadState(twin, path);
    expect(encodeState(twin)).toEqual(encodeState(opt));
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('save the state as it was when called, whatever steps follow before the write ends', async () => {
    const { opt } = build(3);
    const expected = encodeState(opt);
    const path = join(dir, 'b.safetensors');
    const saving = saveState(opt, path);
    opt.step();
    await saving;
    expect(new Uint8Array(readFileSync(path))).toEqual(expected);
  });

  it('leave the old file as it was when the save fails, and no temporary file behind', async () => {
    const path = join(dir, 'c.safetensors');
    writeFileSync(path, 'old');
    const bad = { ...build(4).opt.stateDict(), version: 3 } as unknown as RMSPropStateDict;
    await expect(saveState(bad, path)).rejects.toThrow('saveState: invalid version: expected 2, got 3');
    const missing = join(dir, 'no-such-folder', 'd.safetensors');
    const error = await rejection(saveState(build(4).opt, missing));
    expect(error.message).toMatch(new RegExp(`^saveState: cannot write "${missing}": ENOENT`));
    expect(readFileSync(path, 'utf8')).toBe('old');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('name the path and what is wrong when a load fails, and change nothing', async () => {
    const { opt } = build(5);
    const before = snapshot(opt);
    const missing = join(dir, 'missing.safetensors');
    expect((await rejection(loadState(opt, missing))).message).toMatch(new RegExp(`^loadState: cannot read "${missing}": ENOENT`));
    const truncated = join(dir, 'truncated.safetensors');
    writeFileSync(truncated, encodeState(build(6).opt).subarray(0, 100));
    expect((await rejection(loadState(opt, truncated))).message).toMatch(new RegExp(`^loadState: "${truncated}": decodeState: truncated: the header's length is \\d+ bytes, but the file ends 92 bytes after the length$`));
    const other = join(dir, 'other.safetensors');
    await saveState(new RMSProp([{ data: new Float32Array(2), grad: null, name: 'w' }]), other);
    expect((await rejection(loadState(opt, other))).message).toBe(
      `loadState: "${other}": RMSProp.loadStateDict: invalid groups[0].params[0].squareAvg: expected a Float32Array of length 6 (every state needs it), got a Float32Array of length 2`,
    );
    expect(snapshot(opt)).toEqual(before);
  });
});

describe('saveState and loadState at their edges', () => {
  it('save to a file name as long as the folder allows (the temporary name is short)', async () => {
    const { opt } = build(7);
    const path = join(dir, `${'c'.repeat(240)}.safetensors`);
    await saveState(opt, path);
    expect(new Uint8Array(readFileSync(path))).toEqual(encodeState(opt));
    rmSync(path);
  });

  it('write through a symbolic link to its target, and keep the file\'s permissions', async () => {
    const { opt } = build(10);
    const target = join(dir, 'run-42.safetensors');
    const link = join(dir, 'latest.safetensors');
    writeFileSync(target, 'previous checkpoint');
    chmodSync(target, 0o600);
    symlinkSync(target, link);
    await saveState(opt, link);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(new Uint8Array(readFileSync(target))).toEqual(encodeState(opt));
    expect(statSync(target).mode & 0o777).toBe(0o600);
    rmSync(link);
    rmSync(target);
  });

  it('name the path in every error, the state\'s own included', async () => {
    const { opt } = build(8);
    const path = join(dir, 'e.safetensors');
    opt.paramGroups[0]!.alpha = 1.5;
    expect((await rejection(saveState(opt, path))).message).toBe(`saveState: cannot write "${path}": RMSProp.stateDict: invalid alpha in group 0: expected a number in [0, 1), got 1.5`);
    opt.paramGroups[0]!.alpha = 0.99;
    await expect(saveState(opt, 42 as unknown as string)).rejects.toThrow(new TypeError('saveState: invalid path: expected a string, got 42'));
    await expect(loadState(opt, null as unknown as string)).rejects.toThrow(new TypeError('loadState: invalid path: expected a string, got null'));
  });

  it('read the header before the data: a file that is not a state is refused without reading its data', async () => {
    // A sparse file of a terabyte: reading it whole would fail allocating, not name the header.
    const path = join(dir, 'weights.safetensors');
    const text = '{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[262144,1048576],"data_offsets":[0,1099511627776]}}';
    const head = new Uint8Array(8 + text.length);
    new DataView(head.buffer).setBigUint64(0, BigInt(text.length), true);
    head.set(new TextEncoder().encode(text), 8);
    writeFileSync(path, head);
    truncateSync(path, head.length + 2 ** 40);
    const { opt } = build(9);
    expect((await rejection(loadState(opt, path))).message).toBe(`loadState: "${path}": decodeState: __metadata__.format is string "pt"; expected "rmsprop-state"`);
    rmSync(path);
  });
});

describe("the README's checkpoint example (examples/checkpoint.ts)", () => {
  it('is in the README verbatim, and resumes the run where it was saved', async () => {
    const snippet = exampleSource.slice(0, exampleSource.indexOf('// (end of the README snippet)')).trim();
    expect(readme).toContain('```ts\n' + snippet + '\n```');
    const { opt, path, resumed, w } = await import('../examples/checkpoint.js');
    expect(resumed.getState(w)!.step).toBe(100);
    expect(encodeAsUsers(resumed)).toEqual(encodeAsUsers(opt));
    rmSync(path);
  });
});
