// `npm run soak`: a million steps of a mid-sized model, watching for what a long run can go
// wrong with: garbage collections caused by stepping (the target is none), heap growth, and
// values that stop being finite.
//
// The model: six tensors of 2 442 float32 elements in two groups (PyTorch's plain loop for one,
// the general loop with momentum, centered and weight decay for the other), gradients written
// in place from a linear congruential generator, the default nonFinite: 'throw' check on.
// Steps run in chunks with a turn of the event loop between them, so the PerformanceObserver
// sees every collection as it happens.
//
// `npm run soak` runs node with --no-memory-reducer: the full collection forced before the
// measured window arms V8's memory reducer, which some seconds later runs incremental
// mark-compacts to shrink the heap whatever the program allocates (a 1M-step run without the
// flag saw two, each reported as a kind 4 and a kind 8 event, and no scavenge). With the flag, a
// collection in the window is one that allocation caused.
import { PerformanceObserver } from 'node:perf_hooks';
import { RMSProp, cosineAnnealing, createArena } from '../src/index.js';

// `npm run soak -- [steps] [--schedule] [--set-lr] [--arena]`: --schedule gives the first group a
// cosineAnnealing learning rate; --set-lr instead sets that group's numeric lr from the same
// schedule in the training loop (`group.lr = schedule(t)`); --arena puts every tensor and its
// state in a SIMD arena.
const args = process.argv.slice(2);
const STEPS = Number(args.find((a) => !a.startsWith('--')) ?? 1_000_000);
const SCHEDULE = args.includes('--schedule');
const SET_LR = args.includes('--set-lr');
const schedule = cosineAnnealing(1e-4, { tMax: 10_000 });
const ARENA = args.includes('--arena') ? createArena(8 * 4096) : null;
const CHUNK = 10_000;
const WARMUP = 20_000;

const shapes = [1024, 32, 1024, 32, 320, 10];
// The generator's state lives in a typed array: a module-level `let` holding a number outside
// the small-integer range would allocate a heap number at every store.
const seed = new Uint32Array([12345]);
const params = shapes.map((n, i) => {
  const data = ARENA?.alloc(n) ?? new Float32Array(n);
  for (let j = 0; j < n; j++) data[j] = ((j * 7919 + i * 104729) % 2001) / 1000 - 1;
  return { name: `t${i}`, data, grad: ARENA?.alloc(n) ?? new Float32Array(n) };
});
const opt = new RMSProp(
  [
    { params: params.slice(0, 3), ...(SCHEDULE ? { lr: schedule } : {}) },
    { params: params.slice(3), momentum: 0.9, centered: true, weightDecay: 1e-4 },
  ],
  { lr: 1e-4, ...(ARENA === null ? {} : { arena: ARENA }) },
);

function fillGradients(): void {
  let x = seed[0]!;
  for (let i = 0; i < params.length; i++) {
    const p = params[i]!;
    const g = p.grad;
    const d = p.data;
    for (let j = 0; j < g.length; j++) {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      // noise around a pull towards zero: a stationary problem the optimizer can keep solving
      g[j] = (x / 4294967296 - 0.5) * 0.2 + 0.1 * d[j]!;
    }
  }
  seed[0] = x;
}

function allFinite(): boolean {
  for (const p of params) {
    const s = opt.getState(p)!;
    for (const a of [p.data, s.squareAvg, s.gradAvg, s.momentumBuffer]) {
      if (a === null) continue;
      for (let j = 0; j < a.length; j++) if (!Number.isFinite(a[j])) return false;
    }
  }
  return true;
}

const gcs: { kind: number; ms: number }[] = [];
// Collections are reported asynchronously: count those that started inside the measured window.
let windowStart = Infinity;
let windowEnd = Infinity;
const observer = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if (e.startTime < windowStart || e.startTime > windowEnd) continue;
    gcs.push({ kind: (e as { detail?: { kind?: number } }).detail?.kind ?? -1, ms: e.duration });
  }
});
observer.observe({ entryTypes: ['gc'] });

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const forceGc = (globalThis as { gc?: () => void }).gc;
const heapMiB = (): number => process.memoryUsage().heapUsed / 2 ** 20;

/** The training loop, in a function so that it is optimized (top-level loops of a module run in
 * unoptimized code, which boxes numbers: allocations that are the harness's, not the step's). */
function train(steps: number): void {
  const group = opt.paramGroups[0]!;
  const state = opt.getState(params[0]!)!; // its update count: the index a schedule is called with
  for (let t = 0; t < steps; t++) {
    fillGradients();
    if (SET_LR) group.lr = schedule(state.step);
    opt.step();
  }
}

// Warm up: let the JIT compile everything (compilation allocates), then measure from a clean heap.
for (let done = 0; done < WARMUP; done += 1000) train(1000);
await tick();
forceGc?.();
await tick();
const heapBefore = heapMiB();

let finiteChecks = 0;
let nonFinite = false;
const start = performance.now();
windowStart = start;
for (let done = 0; done < STEPS; done += CHUNK) {
  train(Math.min(CHUNK, STEPS - done));
  await tick();
  if ((done / CHUNK) % 10 === 0) {
    finiteChecks++;
    if (!allFinite()) {
      nonFinite = true;
      break;
    }
  }
}
windowEnd = performance.now();
const seconds = (windowEnd - start) / 1000;
await tick();
await tick();
const stepGcs = gcs.length;
forceGc?.();
await tick();
const heapAfter = heapMiB();
observer.disconnect();

const elements = shapes.reduce((a, b) => a + b, 0);
const lines = [
  `node ${process.version}, ${new Date().toISOString().slice(0, 10)}${forceGc ? '' : ' (run with --expose-gc for exact heap figures)'}`,
  `steps: ${STEPS} (after ${WARMUP} warm-up steps), ${params.length} tensors, ${elements} float32 elements, two groups${SCHEDULE ? ', the first with a cosineAnnealing lr' : ''}${SET_LR ? ', the first with its lr set from cosineAnnealing in the loop' : ''}${ARENA === null ? '' : ', in a SIMD arena'}`,
  `time: ${seconds.toFixed(1)} s, ${(STEPS / seconds).toFixed(0)} steps/s, ${((seconds * 1e9) / STEPS / elements).toFixed(2)} ns per element including the gradient fill`,
  `GC events while stepping: ${stepGcs}${stepGcs ? ` (${gcs.map((g) => `kind ${g.kind} ${g.ms.toFixed(2)} ms`).join(', ')})` : ''}`,
  `heap used: ${heapBefore.toFixed(2)} MiB before, ${heapAfter.toFixed(2)} MiB after (growth ${(heapAfter - heapBefore).toFixed(3)} MiB)`,
  `non-finite values: ${nonFinite ? 'FOUND' : 'none'} (${finiteChecks} checks of every parameter and buffer)`,
  `state: step ${opt.getState(params[0]!)!.step}, skipped ${opt.skippedSteps}`,
];
console.log(lines.join('\n'));
if (nonFinite || stepGcs > 0) process.exitCode = 1;
