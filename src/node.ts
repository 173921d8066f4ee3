/// <reference types="node" />
/**
 * Checkpoint files in Node: a safetensors file (`encodeState`'s bytes) written atomically (a
 * temporary file beside it, fsync, rename, fsync of the folder) straight from the optimizer's
 * memory, and read into one buffer.
 *
 * @module rmsprop/node
 */
import { randomBytes } from 'node:crypto';
import { close, fsync, openSync, writeSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { RMSProp } from './optimizer.js';
import { decodeState, layout } from './safetensors.js';
import type { RMSPropStateDict } from './state-dict.js';

/** The most one `read` or `write` call moves (Node refuses more than 2 GiB at once). */
const CHUNK = 1 << 30;

/**
 * Writes an optimizer's state (or a state dict) to `path` as a safetensors file (the bytes of
 * `encodeState`), atomically: to a temporary file in the same folder, flushed to disk, then
 * renamed over `path`, so that a crash leaves either the old file or the new one, never half of
 * one. The state's buffers are written before the call returns its promise, straight from the
 * optimizer's memory (no copy: the operating system's file cache takes them), so steps taken
 * while the flush and rename finish do not change the file.
 *
 * @throws What `encodeState` throws, and the file system's errors (with the path); a failed
 *   save leaves `path` as it was and removes its temporary file.
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
  const { header, tensors } = layout(state, 'saveState'); // views of the state as it is now
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fail = (error: unknown): Error => new Error(`saveState: cannot write ${JSON.stringify(path)}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  let fd = -1;
  try {
    fd = openSync(temporary, 'wx');
    // Synchronously: nothing can step the optimizer until every byte is in the file.
    for (const part of [header, ...tensors]) {
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
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw fail(error);
  }
  // The rename itself is durable once the folder is flushed (not possible on every platform).
  try {
    const folder = await open(dirname(path), 'r');
    await folder.sync().finally(() => folder.close());
  } catch {
    // Windows cannot open a folder for flushing; the rename is as durable as the platform makes it.
  }
}

/**
 * Reads a safetensors file written by {@link saveState}, `encodeState` or
 * tools/torch_rmsprop_state.py into the optimizer: the file is read into one buffer, decoded
 * into views of it (`decodeState`, which checks the whole file first) and loaded with
 * `opt.loadStateDict`, which checks it against the optimizer's parameters before it writes.
 * Peak memory beyond the optimizer's own: the file's size.
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
  let bytes: Uint8Array;
  try {
    const file = await open(path, 'r');
    try {
      const size = (await file.stat()).size;
      bytes = new Uint8Array(size);
      for (let at = 0; at < size; ) {
        const { bytesRead } = await file.read(bytes, at, Math.min(CHUNK, size - at), at);
        if (bytesRead === 0) throw new Error(`the file shrank while it was read (${at} of ${size} bytes)`);
        at += bytesRead;
      }
    } finally {
      await file.close();
    }
  } catch (error) {
    throw new Error(`loadState: cannot read ${JSON.stringify(path)}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  try {
    opt.loadStateDict(decodeState(bytes));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`loadState: ${JSON.stringify(path)}: ${message}`, { cause: error });
  }
}
