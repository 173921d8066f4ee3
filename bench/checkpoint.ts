// `npm run bench:checkpoint -- [sizes...]`: saving and loading an optimizer's state, for one
// float32 parameter with momentum (two state buffers: 8 bytes of state per element), in every
// form the library offers:
//
//   stateDict()                   typed-array copies
//   stateToJSON / stateFromJSON   base64 JSON text (+ loadStateDict)
//   encodeState / decodeState     safetensors bytes (+ loadStateDict)
//   saveState / loadState         the same bytes through a file (rmsprop/node, atomic write)
//
// Each timing is the median of `ROUNDS` runs, in one process (node --expose-gc, a collection
// before each run). GB/s is state bytes per second. "extra" is the memory outside V8's heap
// (process.memoryUsage().arrayBuffers) held beyond the optimizer's own at the end of a phase,
// with everything that phase made still alive: the peak that phase adds.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { RMSProp, decodeState, encodeState, stateFromJSON, stateToJSON } from '../src/index.js';
import type { RMSPropStateDict } from '../src/index.js';
import { loadState, saveState } from '../src/node.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc (npm run bench:checkpoint does)');
const collect = gc;
const sizes = process.argv.slice(2).filter((a) => !a.startsWith('--')).map(Number);
const SIZES = sizes.length > 0 ? sizes : [1e7, 6e7, 1e8];
const ROUNDS = 3;
const dir = mkdtempSync(join(tmpdir(), 'rmsprop-bench-'));

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const external = (): number => process.memoryUsage().arrayBuffers;
const mb = (bytes: number): string => `${Math.round(bytes / 1e6)} MB`;

/** Median time of `fn` over ROUNDS runs, and the memory the last run left alive. */
async function time<R>(fn: () => R | Promise<R>): Promise<{ ms: number; extra: number; result: R }> {
  const ms: number[] = [];
  let result: R | undefined;
  let extra = 0;
  for (let r = 0; r < ROUNDS; r++) {
    result = undefined;
    collect();
    const before = external();
    const t = performance.now();
    result = await fn();
    ms.push(performance.now() - t);
    extra = external() - before;
  }
  return { ms: median(ms), extra, result: result as R };
}

interface Row {
  readonly n: number;
  readonly cells: Record<string, string>;
}

const rows: Row[] = [];
for (const n of SIZES) {
  const p = { data: new Float32Array(n), grad: new Float32Array(n).fill(0.01), name: 'w' };
  const opt = new RMSProp([p], { momentum: 0.9 });
  opt.step();
  const state = 8 * n;
  const rate = (ms: number): string => `${(state / ms / 1e6).toFixed(2)} GB/s`;
  const cells: Record<string, string> = {};
  const dict = await time(() => opt.stateDict());
  cells['stateDict()'] = `${dict.ms.toFixed(0)} ms`;
  // Base64 JSON: the text form, for comparison (it stops at V8's string limit).
  let text: string | null = null;
  try {
    const json = await time(() => stateToJSON(dict.result));
    text = json.result;
    cells['stateToJSON'] = `${json.ms.toFixed(0)} ms, ${(text.length / 1e6).toFixed(0)} M chars`;
  } catch (error) {
    cells['stateToJSON'] = `fails: ${(error as Error).message.slice(0, 60)}`;
  }
  if (text !== null) {
    const t = text;
    const parse = await time(() => opt.loadStateDict(stateFromJSON<RMSPropStateDict>(t)));
    cells['stateFromJSON + load'] = `${parse.ms.toFixed(0)} ms`;
  } else {
    cells['stateFromJSON + load'] = '—';
  }
  text = null;
  // Bytes: from the optimizer (its live buffers: one copy, the file's) and from a state dict.
  const encode = await time(() => encodeState(opt));
  cells['encodeState(opt)'] = `${encode.ms.toFixed(0)} ms, ${rate(encode.ms)}, extra ${mb(encode.extra)}`;
  const bytes = encode.result;
  const decode = await time(() => decodeState(bytes));
  cells['decodeState'] = `${decode.ms.toFixed(2)} ms, extra ${mb(decode.extra)}`;
  const decoded = decode.result;
  const load = await time(() => opt.loadStateDict(decoded));
  cells['loadStateDict'] = `${load.ms.toFixed(0)} ms, ${rate(load.ms)}, extra ${mb(load.extra)}`;
  const all = await time(() => opt.loadStateDict(decodeState(encodeState(opt))));
  cells['encode + decode + load'] = `${all.ms.toFixed(0)} ms, ${rate(all.ms)}`;
  const path = join(dir, 'state.safetensors');
  const save = await time(() => saveState(opt, path));
  cells['saveState (file, fsync)'] = `${save.ms.toFixed(0)} ms, ${rate(save.ms)}`;
  const read = await time(() => loadState(opt, path));
  cells['loadState (file)'] = `${read.ms.toFixed(0)} ms, ${rate(read.ms)}`;
  rows.push({ n, cells });
  console.error(`n = ${n}:`, cells);
}
rmSync(dir, { recursive: true, force: true });

const columns = Object.keys(rows[0]!.cells);
console.log(`| parameters (state) | ${columns.join(' | ')} |`);
console.log(`|---|${columns.map(() => '---').join('|')}|`);
for (const r of rows) console.log(`| ${r.n.toExponential(0)} (${mb(8 * r.n)}) | ${columns.map((c) => r.cells[c]).join(' | ')} |`);
console.log(`\nnpm run bench:checkpoint -- ${SIZES.join(' ')}; Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores), ${new Date().toISOString().slice(0, 10)}; median of ${ROUNDS}`);
