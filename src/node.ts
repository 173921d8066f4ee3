/// <reference types="node" />
/**
 * Checkpoint files in Node: a safetensors file (`encodeState`'s bytes) written atomically (a
 * temporary file beside it, fsync, rename, fsync of the folder) straight from the optimizer's
 * memory, and read header first, then its tensors.
 *
 * @module rmsprop/node
 */
import { randomBytes } from 'node:crypto';
import { close, fchmodSync, fsync, openSync, realpathSync, statSync, writeSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { RMSProp } from './optimizer.js';
import { headerLength, layout, materialize, planOf } from './safetensors.js';
import type { Entry } from './safetensors.js';
import { invalid } from './checks.js';
import type { RMSPropStateDict } from './state-dict.js';

/** The most one `read` or `write` call moves (Node refuses more than 2 GiB at once). */
const CHUNK = 1 << 30;

/**
 * Writes an optimizer's state (or a state dict) to `path` as a safetensors file (the bytes of
 * `encodeState`), atomically: to a temporary file in the same folder, flushed to disk, then
 * renamed over `path`, so that a crash leaves either the old file or the new one, never half of
 * one. The state's buffers are written before the call returns its promise, straight from the
 * optimizer's memory (no copy: the operating system's file cache takes them), so steps taken
 * while the flush and rename finish do not change the file. A `path` that is a symbolic link is
 * written through (the link stays, its target is replaced), and an existing file keeps its
 * permissions.
 *
 * @throws TypeError for a `path` that is not a string; otherwise an Error that names the path
 *   and holds what failed as its `cause` (what `encodeState` throws, a file system error). A
 *   failed save leaves `path` as it was and removes its temporary file.
 *
 * @example
 * ```ts
 * import { loadState, saveState } from 'rmsprop/node';
 *
 * await saveState(opt, 'checkpoints/optimizer.safetensors');
 * // later, with an optimizer built over the same parameters:
 * await loadState(opt, 'checkpoints/optimizer.safetensors');
 * ```
 */
export async function saveState(state: RMSProp | RMSPropStateDict, path: string): Promise<void> {
  if (typeof path !== 'string') throw new TypeError(invalid('saveState', 'path', 'a string', path));
  const fail = (error: unknown): Error => new Error(`saveState: cannot write ${JSON.stringify(path)}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  let parts: ReturnType<typeof layout>;
  try {
    parts = layout(state, 'saveState'); // views of the state as it is now
  } catch (error) {
    throw fail(error);
  }
  // Through a symbolic link to its target, keeping the target's permissions (all synchronous:
  // the state must be written before anything else can run).
  let target = path;
  let mode: number | undefined;
  try {
    target = realpathSync(path);
    mode = statSync(target).mode & 0o7777;
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ENOENT') throw fail(error);
  }
  // Short, whatever the file's name: a name the folder allows stays allowed with it.
  const temporary = join(dirname(target), `.rmsprop-${randomBytes(8).toString('hex')}.tmp`);
  let fd = -1;
  try {
    fd = openSync(temporary, 'wx', mode ?? 0o666);
    if (mode !== undefined) fchmodSync(fd, mode); // exactly, whatever the umask
    // Synchronously: nothing can step the optimizer until every byte is in the file.
    for (const part of [parts.header, ...parts.tensors]) {
      for (let at = 0; at < part.length; ) at += writeSync(fd, part, at, Math.min(CHUNK, part.length - at));
    }
    await new Promise<void>((resolve, reject) => fsync(fd, (error) => (error ? reject(error) : resolve())));
  } catch (error) {
    if (fd >= 0) await new Promise((resolve) => close(fd, resolve));
    await unlink(temporary).catch(() => undefined);
    throw fail(error);
  }
  try {
    await new Promise<void>((resolve, reject) => close(fd, (error) => (error ? reject(error) : resolve())));
    await rename(temporary, target);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw fail(error);
  }
  // The rename itself is durable once the folder is flushed (not possible on every platform).
  try {
    const folder = await open(dirname(target), 'r');
    await folder.sync().finally(() => folder.close());
  } catch {
    // Windows cannot open a folder for flushing; the rename is as durable as the platform makes it.
  }
}

/**
 * Reads a safetensors file written by {@link saveState}, `encodeState` or
 * tools/torch_rmsprop_state.py into the optimizer: its header first, checked completely as
 * `decodeState` checks it (a file that is not a state is refused before its data is read), then
 * each tensor into an array of its own, which `opt.loadStateDict` checks against the
 * optimizer's parameters before it copies them in. Peak memory beyond the optimizer's own: the
 * file's size. Files of any size (the data is never one allocation, which Node 20 caps at 4 GiB).
 *
 * @throws Error naming the path and what is wrong (no such file, truncated or corrupt, a state
 *   that does not fit the optimizer); the optimizer is then exactly as it was.
 *
 * @example
 * ```ts
 * import { loadState } from 'rmsprop/node';
 *
 * await loadState(opt, 'checkpoints/optimizer.safetensors');
 * ```
 */
export async function loadState(opt: RMSProp, path: string): Promise<void> {
  if (typeof path !== 'string') throw new TypeError(invalid('loadState', 'path', 'a string', path));
  let file: FileHandle | undefined;
  let step = 'read';
  try {
    file = await open(path, 'r');
    const size = (await file.stat()).size;
    // `length` bytes from `at`, in memory aligned for elements of `element` bytes.
    const read = async (at: number, length: number, element = 1): Promise<Uint8Array> => {
      step = 'read';
      const bytes = new Uint8Array(new (element === 8 ? Float64Array : element === 4 ? Float32Array : Uint8Array)(Math.ceil(length / element)).buffer, 0, length);
      for (let done = 0; done < length; ) {
        const { bytesRead } = await file!.read(bytes, done, Math.min(CHUNK, length - done), at + done);
        if (bytesRead === 0) throw new Error(`the file shrank while it was read (${at + done} of ${size} bytes)`);
        done += bytesRead;
      }
      step = 'check';
      return bytes;
    };
    // The header first, checked completely, and only then the data it describes: each tensor
    // into an array of its own (no one allocation of the whole data, which Node 20 caps at 4 GiB).
    const n = headerLength(await read(0, Math.min(8, size)), size);
    const plan = planOf(await read(8, n), size - 8 - n);
    const tensors = new Map<Entry, Uint8Array>();
    for (const e of plan.entries) tensors.set(e, await read(8 + n + e.begin, e.end - e.begin, e.dtype === 'F64' ? 8 : 4));
    const state = materialize(plan, (e) => tensors.get(e)!);
    opt.loadStateDict(state);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`loadState: ${step === 'read' ? 'cannot read ' : ''}${JSON.stringify(path)}: ${message}`, { cause: error });
  } finally {
    await file?.close();
  }
}
