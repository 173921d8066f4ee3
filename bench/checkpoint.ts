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
// before each run). GB/s is state bytes per second. The "peak" columns run a whole save and load
// in a child process of their own and report its resident set's high-water mark above what it
// was once the optimizer was built (VmHWM): the memory a checkpoint
// adds at its worst. "bare copy into new memory" is the floor of any encoder that returns new
// bytes: the operating system maps and zeroes fresh memory page by page as it is first written
// (on this VM about 1 GB/s, and it varies from run to run).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { RMSProp, decodeState, encodeState, stateFromJSON, stateToJSON } from '../src/index.js';
import type { RMSPropStateDict } from '../src/index.js';
import { loadState, saveState } from '../src/node.js';

// `--peak <path> <n>`: one child process per path, reporting the resident set's high-water mark
// above what it was once the optimizer was built: the memory a whole save-and-load adds at its peak.
const peakAt = process.argv.indexOf('--peak');
/**
 * The resident set's high-water mark, in bytes: Linux's VmHWM, which belongs to this program
 * (getrusage's maxRSS keeps the parent's from before the exec); elsewhere maxRSS.
 */
function highWater(): number {
  if (existsSync('/proc/self/status')) {
    const kB = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kB !== undefined) return Number(kB) * 1024;
  }
  return process.resourceUsage().maxRSS * 1024;
}

if (peakAt >= 0) {
  const kind = process.argv[peakAt + 1]!;
  const n = Number(process.argv[peakAt + 2]);
  const p = { data: new Float32Array(n), grad: new Float32Array(n).fill(0.01), name: 'w' };
  const opt = new RMSProp([p], { momentum: 0.9 });
  opt.step();
  const base = highWater();
  const folder = mkdtempSync(join(tmpdir(), 'rmsprop-peak-'));
  if (kind === 'bytes') opt.loadStateDict(decodeState(encodeState(opt)));
  else if (kind === 'dict') opt.loadStateDict(decodeState(encodeState(opt.stateDict())));
  else {
    await saveState(opt, join(folder, 's.safetensors'));
    await loadState(opt, join(folder, 's.safetensors'));
  }
  rmSync(folder, { recursive: true, force: true });
  console.log(JSON.stringify({ extra: highWater() - base, state: 8 * n }));
  process.exit(0);
}

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc (npm run bench:checkpoint does)');
const collect = gc;
const sizes = process.argv.slice(2).filter((a) => !a.startsWith('--')).map(Number);
const SIZES = sizes.length > 0 ? sizes : [1e7, 6e7, 1e8];
const ROUNDS = 5;
const dir = mkdtempSync(join(tmpdir(), 'rmsprop-bench-'));

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mb = (bytes: number): string => `${Math.round(bytes / 1e6)} MB`;

/** Median time of `fn` over ROUNDS runs, and what the last run gave. */
async function time<R>(fn: () => R | Promise<R>): Promise<{ ms: number; result: R }> {
  const ms: number[] = [];
  let result: R | undefined;
  for (let r = 0; r < ROUNDS; r++) {
    result = undefined;
    collect();
    const t = performance.now();
    result = await fn();
    ms.push(performance.now() - t);
  }
  return { ms: median(ms), result: result as R };
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
  // The floor for any encoder that returns new bytes: the state copied into fresh memory, which
  // the operating system must map and zero page by page as it is first written.
  const s = opt.getState(p)!;
  const floor = await time(() => {
    const out = new Uint8Array(state);
    out.set(new Uint8Array(s.squareAvg.buffer, s.squareAvg.byteOffset, s.squareAvg.byteLength));
    out.set(new Uint8Array(s.momentumBuffer!.buffer, s.momentumBuffer!.byteOffset, s.momentumBuffer!.byteLength), 4 * n);
    return out;
  });
  cells['bare copy into new memory'] = `${floor.ms.toFixed(0)} ms, ${rate(floor.ms)}`;
  // Bytes: from the optimizer (its live buffers: one copy, the file's).
  const encode = await time(() => encodeState(opt));
  cells['encodeState(opt)'] = `${encode.ms.toFixed(0)} ms, ${rate(encode.ms)}`;
  const bytes = encode.result;
  const decode = await time(() => decodeState(bytes));
  cells['decodeState'] = `${decode.ms.toFixed(2)} ms`;
  const decoded = decode.result;
  const load = await time(() => opt.loadStateDict(decoded));
  cells['loadStateDict'] = `${load.ms.toFixed(0)} ms, ${rate(load.ms)}`;
  const all = await time(() => opt.loadStateDict(decodeState(encodeState(opt))));
  cells['encode + decode + load'] = `${all.ms.toFixed(0)} ms, ${rate(all.ms)}`;
  const path = join(dir, 'state.safetensors');
  const save = await time(() => saveState(opt, path));
  cells['saveState (file, fsync)'] = `${save.ms.toFixed(0)} ms, ${rate(save.ms)}`;
  const read = await time(() => loadState(opt, path));
  cells['loadState (file)'] = `${read.ms.toFixed(0)} ms, ${rate(read.ms)}`;
  for (const [kind, label] of [['bytes', 'peak: decodeState(encodeState(opt)) + load'], ['dict', 'peak: the same from opt.stateDict()'], ['file', 'peak: saveState + loadState']] as const) {
    const out = execFileSync(process.execPath, [process.argv[1]!, '--peak', kind, String(n)], { encoding: 'utf8' });
    const { extra } = JSON.parse(out) as { extra: number };
    cells[label] = `${mb(extra)} (${(extra / state).toFixed(2)}x the state)`;
  }
  rows.push({ n, cells });
  console.error(`n = ${n}:`, cells);
}
rmSync(dir, { recursive: true, force: true });

const columns = Object.keys(rows[0]!.cells);
console.log(`| parameters (state) | ${columns.join(' | ')} |`);
console.log(`|---|${columns.map(() => '---').join('|')}|`);
for (const r of rows) console.log(`| ${r.n.toExponential(0)} (${mb(8 * r.n)}) | ${columns.map((c) => r.cells[c]).join(' | ')} |`);
console.log(`\nnpm run bench:checkpoint -- ${SIZES.join(' ')}; Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores), ${new Date().toISOString().slice(0, 10)}; median of ${ROUNDS}`);
