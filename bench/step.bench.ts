// `npm run bench`: the RMSProp update, every implementation side by side in one process
// (tinybench, used directly), at n = 1e3 … 1e7 float32 elements.
//
// Rows: a bare loop doing PyTorch's plain update inline (the speed the TS kernel should reach);
// RMSProp.step() plain, momentum and centered, with the default nonFinite: 'throw' scan and
// plain without it ('apply'); the WebAssembly SIMD path (RMSProp with an arena) plain and
// momentum; TypedArray.set copying 20 bytes per element (the memory-bandwidth floor: the update
// reads param, grad and squareAvg and writes two of them, 20 bytes per element); TFJS 4.22's
// tf.train.rmsprop on its cpu and wasm backends.
//
// Rounds are interleaved: every round measures each row once, briefly, and the table reports
// each row's median over the rounds, so a slow spell of the machine hits every row alike. Each
// row is warmed up first (past on-stack replacement: the first call at 1e6+ elements is 4-6x
// slower). Buffers are allocated before the run and read after it.
//
// `npm run bench -- --quick` runs 1e3 … 1e5 with fewer rounds; `--no-tfjs` leaves TFJS out.
// npm run bench starts node with --expose-gc: a full collection runs before every measurement.
import { cpus } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { Bench } from 'tinybench';
import { RMSProp, createArena } from '../src/index.js';
import type { OptimizerOptions } from '../src/index.js';

const quick = process.argv.includes('--quick');
const withTfjs = !process.argv.includes('--no-tfjs');
const SIZES = quick ? [1e3, 1e4, 1e5] : [1e3, 1e4, 1e5, 1e6, 1e7];
const ROUNDS = quick ? 3 : 5;

/** PyTorch's plain update written inline: the speed the TS kernel should reach. */
function bareLoop(param: Float32Array, grad: Float32Array, sq: Float32Array, lr: number, alpha: number, eps: number): void {
  const beta = 1 - alpha;
  for (let i = 0; i < param.length; i++) {
    const g = grad[i]!;
    const v = alpha * sq[i]! + beta * g * g;
    sq[i] = v;
    param[i] = param[i]! - (lr * g) / (Math.sqrt(v) + eps);
  }
}

/** PyTorch's momentum update written inline. */
function bareMomentum(param: Float32Array, grad: Float32Array, sq: Float32Array, mb: Float32Array, lr: number, alpha: number, eps: number, mu: number): void {
  const beta = 1 - alpha;
  for (let i = 0; i < param.length; i++) {
    const g = grad[i]!;
    const v = alpha * sq[i]! + beta * g * g;
    sq[i] = v;
    const b = mu * mb[i]! + g / (Math.sqrt(v) + eps);
    mb[i] = b;
    param[i] = param[i]! - lr * b;
  }
}

/** PyTorch's centered update written inline (with this library's clamp). */
function bareCentered(param: Float32Array, grad: Float32Array, sq: Float32Array, ga: Float32Array, lr: number, alpha: number, eps: number): void {
  const beta = 1 - alpha;
  for (let i = 0; i < param.length; i++) {
    const g = grad[i]!;
    const v = alpha * sq[i]! + beta * g * g;
    sq[i] = v;
    const m = alpha * ga[i]! + beta * g;
    ga[i] = m;
    let s = v - m * m;
    if (s <= 0) s = 0;
    param[i] = param[i]! - (lr * g) / (Math.sqrt(s) + eps);
  }
}

function fill(a: Float32Array, seed: number): Float32Array {
  let x = seed >>> 0;
  for (let i = 0; i < a.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    a[i] = x / 4294967296 - 0.5;
  }
  return a;
}

interface Row {
  readonly name: string;
  /** Bytes of memory traffic per element (reads + writes the update needs). */
  readonly bytes: number;
  readonly run: () => void;
  /** Switches the TFJS backend before the row runs. */
  readonly backend?: string;
  readonly check: () => number;
}

function rows(n: number): Row[] {
  const lr = 1e-3;
  const out: Row[] = [];
  const p = fill(new Float32Array(n), 1);
  const g = fill(new Float32Array(n), 2);
  const sq = new Float32Array(n);
  out.push({ name: 'bare loop (plain update inline)', bytes: 20, run: () => bareLoop(p, g, sq, lr, 0.99, 1e-8), check: () => p[0]! });
  const mb = new Float32Array(n);
  out.push({ name: 'bare loop, momentum', bytes: 28, run: () => bareMomentum(p, g, sq, mb, lr, 0.99, 1e-8, 0.9), check: () => p[0]! });
  const ga = new Float32Array(n);
  out.push({ name: 'bare loop, centered', bytes: 28, run: () => bareCentered(p, g, sq, ga, lr, 0.99, 1e-8), check: () => p[0]! });

  const ts = (name: string, bytes: number, options: OptimizerOptions): void => {
    const w = { data: fill(new Float32Array(n), 3), grad: fill(new Float32Array(n), 4) };
    const opt = new RMSProp([w], { lr, ...options });
    out.push({ name, bytes, run: () => opt.step(), check: () => w.data[0]! });
  };
  ts('RMSProp.step plain', 20, {});
  ts("RMSProp.step plain, nonFinite 'apply'", 20, { nonFinite: 'apply' });
  ts('RMSProp.step momentum', 28, { momentum: 0.9 });
  ts("RMSProp.step momentum, nonFinite 'apply'", 28, { momentum: 0.9, nonFinite: 'apply' });
  ts('RMSProp.step centered', 28, { centered: true });
  ts("RMSProp.step centered, nonFinite 'apply'", 28, { centered: true, nonFinite: 'apply' });
  if (n === 1e5) {
    // Many small tensors: 4 000 parameters of 25 elements, the same 100 000 elements in all; each
    // a Float32Array of its own, or all views of one buffer (the flat layout, stepped as a span).
    const many = Array.from({ length: 4000 }, (_, i) => ({ data: fill(new Float32Array(25), 10 + i), grad: fill(new Float32Array(25), 20000 + i) }));
    const opt = new RMSProp(many, { lr, nonFinite: 'apply' });
    out.push({ name: "RMSProp.step, 4 000 tensors of 25, nonFinite 'apply'", bytes: 20, run: () => opt.step(), check: () => many[0]!.data[0]! });
    const optScan = new RMSProp(many.map((w) => ({ data: w.data.slice(), grad: w.grad })), { lr });
    out.push({ name: 'RMSProp.step, 4 000 tensors of 25', bytes: 20, run: () => optScan.step(), check: () => many[0]!.data[0]! });
    const flatData = fill(new Float32Array(n), 11);
    const flatGrad = fill(new Float32Array(n), 12);
    const views = Array.from({ length: 4000 }, (_, i) => ({ data: flatData.subarray(25 * i, 25 * i + 25), grad: flatGrad.subarray(25 * i, 25 * i + 25) }));
    const optFlat = new RMSProp(views, { lr, nonFinite: 'apply' });
    out.push({ name: "RMSProp.step, 4 000 views of 25 of one buffer, nonFinite 'apply'", bytes: 20, run: () => optFlat.step(), check: () => flatData[0]! });
    const optFlatScan = new RMSProp(views.map((w) => ({ data: w.data, grad: w.grad })), { lr });
    out.push({ name: 'RMSProp.step, 4 000 views of 25 of one buffer', bytes: 20, run: () => optFlatScan.step(), check: () => flatData[0]! });
  }

  // One arena per size for the SIMD rows: data, grad and state of two parameters.
  const arena = createArena(8 * Math.ceil(n / 4) * 4 + 64);
  const simd = (name: string, bytes: number, options: OptimizerOptions): void => {
    const w = { data: fill(arena.alloc(n), 5), grad: fill(arena.alloc(n), 6) };
    const opt = new RMSProp([w], { lr, arena, nonFinite: 'apply', ...options });
    out.push({ name, bytes, run: () => opt.step(), check: () => w.data[0]! });
  };
  simd("SIMD (arena) plain, nonFinite 'apply'", 20, {});
  simd("SIMD (arena) momentum, nonFinite 'apply'", 28, { momentum: 0.9 });

  const src = fill(new Float32Array(5 * n), 7);
  const dst = new Float32Array(5 * n);
  out.push({ name: 'copy 20 B/element (TypedArray.set): the floor', bytes: 20, run: () => dst.set(src), check: () => dst[0]! });

  if (withTfjs) {
    for (const backend of ['cpu', 'wasm']) {
      if (backend === 'cpu' && n > 1e6) continue; // ~355 ns/element: seconds per step
      tf.setBackend(backend);
      const name = `tfjs-${backend}-${n}`;
      const v = tf.variable(tf.tensor1d(fill(new Float32Array(n), 8)), true, name);
      const grad = tf.tensor1d(fill(new Float32Array(n), 9));
      const opt = tf.train.rmsprop(lr, 0.9, 0, 1e-7);
      out.push({
        name: `TFJS 4.22 tf.train.rmsprop, ${backend} backend`,
        bytes: 20,
        backend,
        run: () => opt.applyGradients({ [name]: grad }),
        check: () => v.dataSync()[0]!,
      });
    }
  }
  return out;
}

interface Result {
  readonly n: number;
  readonly name: string;
  readonly bytes: number;
  readonly ns: number;
}

async function measure(n: number): Promise<Result[]> {
  const list = rows(n);
  for (const row of list) {
    if (row.backend) await tf.setBackend(row.backend);
    for (let i = 0; i < (n >= 1e6 ? 3 : 20); i++) row.run(); // warm up, past OSR
  }
  const samples = new Map<string, number[]>(list.map((r) => [r.name, []]));
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let round = 0; round < ROUNDS; round++) {
    for (const row of list) {
      if (row.backend) await tf.setBackend(row.backend);
      // TFJS's cpu backend allocates tensors at every step; collect before each row so that no
      // row pays for another's garbage.
      gc?.();
      const slow = row.backend === 'cpu' || n >= 1e7;
      const bench = new Bench({ time: quick ? 60 : slow ? 150 : 250, warmupTime: 0, warmupIterations: 0, iterations: slow ? 2 : 5 });
      bench.add(row.name, row.run);
      await bench.run();
      const r = bench.tasks[0]!.result;
      if (r.state !== 'completed') throw new Error(`${row.name} did not complete: ${r.state}`);
      samples.get(row.name)!.push((r.latency.mean * 1e6) / n);
    }
  }
  for (const row of list) if (!Number.isFinite(row.check())) throw new Error(`${row.name} produced a non-finite value`);
  return list.map((row) => {
    const s = [...samples.get(row.name)!].sort((a, b) => a - b);
    return { n, name: row.name, bytes: row.bytes, ns: s[Math.floor(s.length / 2)]! };
  });
}

await tf.setBackend('wasm');
await tf.setBackend('cpu');
const results: Result[] = [];
for (const n of SIZES) {
  results.push(...(await measure(n)));
  process.stderr.write(`measured n = ${n}\n`);
}

// A row by its exact name, else the first whose name starts with `prefix`.
const find = (n: number, prefix: string): Result | undefined =>
  results.find((r) => r.n === n && r.name === prefix) ?? results.find((r) => r.n === n && r.name.startsWith(prefix));
const names = [...new Set(results.map((r) => r.name))];
const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(`node ${process.version}, ${cpu}, ${cpus().length} cores, ${new Date().toISOString().slice(0, 10)}, ${ROUNDS} interleaved rounds, median`);
console.log('');
console.log('ns per element (GB/s of the memory traffic the update needs):');
console.log('');
console.log(`| implementation | ${SIZES.map((n) => `n = ${n.toExponential(0).replace('+', '')}`).join(' | ')} |`);
console.log(`|---|${SIZES.map(() => '---:').join('|')}|`);
for (const name of names) {
  const cells = SIZES.map((n) => {
    const r = results.find((x) => x.n === n && x.name === name);
    return r ? `${r.ns.toFixed(2)} (${(r.bytes / r.ns).toFixed(1)})` : '—';
  });
  console.log(`| ${name} | ${cells.join(' | ')} |`);
}
console.log('');
console.log('ratios (time / time of the reference):');
console.log('');
const ratio = (a: string, b: string): string[] =>
  SIZES.map((n) => {
    const x = find(n, a);
    const y = find(n, b);
    return x && y ? `${(x.ns / y.ns).toFixed(2)}x` : '—';
  });
console.log(`| ratio | ${SIZES.map((n) => `n = ${n.toExponential(0).replace('+', '')}`).join(' | ')} |`);
console.log(`|---|${SIZES.map(() => '---:').join('|')}|`);
const ratios: [string, string, string][] = [
  ["TS plain 'apply' / bare loop (target <= 1.1)", "RMSProp.step plain, nonFinite 'apply'", 'bare loop (plain'],
  ["TS momentum 'apply' / bare momentum (target <= 1.1)", "RMSProp.step momentum, nonFinite 'apply'", 'bare loop, momentum'],
  ["TS centered 'apply' / bare centered (target <= 1.1)", "RMSProp.step centered, nonFinite 'apply'", 'bare loop, centered'],
  ['TS plain with the scan / bare loop', 'RMSProp.step plain', 'bare loop (plain'],
  ["4 000 views of one buffer 'apply' / flat bare loop (target <= 1.2)", "RMSProp.step, 4 000 views of 25 of one buffer, nonFinite 'apply'", 'bare loop (plain'],
  ['4 000 views of one buffer with the scan / flat bare loop', 'RMSProp.step, 4 000 views of 25 of one buffer', 'bare loop (plain'],
  ["4 000 separate tensors 'apply' / flat bare loop", "RMSProp.step, 4 000 tensors of 25, nonFinite 'apply'", 'bare loop (plain'],
  ['4 000 separate tensors with the scan / flat bare loop', 'RMSProp.step, 4 000 tensors of 25', 'bare loop (plain'],
  ['SIMD plain / copy floor (target <= 2)', 'SIMD (arena) plain', 'copy'],
  ['TS plain / copy floor', "RMSProp.step plain, nonFinite 'apply'", 'copy'],
];
const speedups: [string, string, string][] = [
  ['SIMD plain vs bare loop (target >= 6)', 'bare loop (plain', 'SIMD (arena) plain'],
  ['SIMD momentum vs bare momentum', 'bare loop, momentum', 'SIMD (arena) momentum'],
  ['SIMD plain vs TFJS wasm (target >= 7 from 1e5)', 'TFJS 4.22 tf.train.rmsprop, wasm', 'SIMD (arena) plain'],
  ['SIMD plain vs TFJS cpu (target >= 45)', 'TFJS 4.22 tf.train.rmsprop, cpu', 'SIMD (arena) plain'],
];
for (const [label, a, b] of ratios) console.log(`| ${label} | ${ratio(a, b).join(' | ')} |`);
console.log('');
console.log('speed-ups (time of the slower / time of the faster):');
console.log('');
console.log(`| speed-up | ${SIZES.map((n) => `n = ${n.toExponential(0).replace('+', '')}`).join(' | ')} |`);
console.log(`|---|${SIZES.map(() => '---:').join('|')}|`);
for (const [label, a, b] of speedups) console.log(`| ${label} | ${ratio(a, b).join(' | ')} |`);
