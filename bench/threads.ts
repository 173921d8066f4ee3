// `npm run bench` (second part): the threaded arena against the single-threaded one and against
// PyTorch, side by side in one run. For each variant (plain, momentum 0.9, centered, momentum +
// centered, weight decay 0.01 + momentum 0.9) and size (1e3 … 1e7 float32 elements), one
// parameter, RMSProp with nonFinite: 'apply' (no scan: PyTorch does none):
//
//   1 thread   createArena (the WebAssembly SIMD path)
//   2 threads  createThreadedArena({ threads: 2, minParallel: 0 }): split at every size, to find
//              the crossover below which one thread is faster
//   default    createThreadedArena({ threads: 2 }): what a user gets (alone below minParallel)
//
// Rounds are interleaved (every round measures every row once, tinybench used directly; the
// median over rounds is reported). Then, in the same run, bench/torch_rmsprop.py times
// torch.optim.RMSprop with 1 and 2 threads for the same variants and sizes, when
// `/usr/bin/python3 -c "import torch"` works; its figures are marked as torch's.
//
// `npm run bench:threads -- --quick`: 1e3 … 1e5, fewer rounds; `--no-torch` leaves torch out.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { RMSProp, createArena } from '../src/index.js';
import type { Arena, RMSPropOptions } from '../src/index.js';
import { createThreadedArena } from '../src/threads.js';
import type { ThreadedArena } from '../src/threads.js';

const quick = process.argv.includes('--quick');
const withTorch = !process.argv.includes('--no-torch');
const SIZES = quick ? [1e3, 1e4, 1e5] : [1e3, 1e4, 3e4, 1e5, 1e6, 1e7];
const ROUNDS = quick ? 3 : 5;
const VARIANTS: Readonly<Record<string, RMSPropOptions>> = {
  plain: {},
  momentum: { momentum: 0.9 },
  centered: { centered: true },
  'momentum + centered': { momentum: 0.9, centered: true },
  'weight decay + momentum': { weightDecay: 0.01, momentum: 0.9 },
};
const ARENAS = ['1 thread', '2 threads', 'default'] as const;
type ArenaName = (typeof ARENAS)[number];

/** The three arenas for one size: 5 n values hold the data, the gradient and three state buffers. */
async function arenasFor(n: number): Promise<Record<ArenaName, Arena>> {
  const capacity = 5 * n + 64;
  return {
    '1 thread': createArena(capacity),
    '2 threads': await createThreadedArena(capacity, { threads: 2, minParallel: 0 }),
    default: await createThreadedArena(capacity, { threads: 2 }),
  };
}

/** An optimizer over one parameter of `n` elements in `arena`, its state there too. */
function optimizer(arena: Arena, n: number, options: RMSPropOptions): RMSProp {
  const w = { data: arena.alloc(n), grad: arena.alloc(n) };
  for (let i = 0; i < n; i++) {
    w.data[i] = Math.sin(i);
    w.grad[i] = 0.1 * Math.cos(3 * i);
  }
  // lr 1e-8: over the million steps a size takes, no parameter reaches the weight-decayed
  // equilibrium where the gradient vanishes and the averages decay into (slow) subnormal numbers.
  return new RMSProp([w], { lr: 1e-8, ...options, arena, nonFinite: 'apply' });
}

interface Result {
  readonly variant: string;
  readonly row: string;
  readonly n: number;
  readonly ns: number;
}
const results: Result[] = [];

for (const n of SIZES) {
  for (const [variant, options] of Object.entries(VARIANTS)) {
    const arenas = await arenasFor(n);
    const rows = ARENAS.map((a) => ({ a, opt: optimizer(arenas[a], n, options) }));
    for (const { opt } of rows) for (let i = 0; i < (n >= 1e6 ? 3 : 30); i++) opt.step();
    const samples = new Map<string, number[]>(ARENAS.map((a) => [a, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const { a, opt } of rows) {
        const bench = new Bench({ time: quick ? 50 : n >= 1e7 ? 150 : 200, warmupTime: 0, warmupIterations: 0, iterations: n >= 1e7 ? 2 : 5 });
        bench.add(a, () => void opt.step());
        await bench.run();
        const r = bench.tasks[0]!.result;
        if (r.state !== 'completed') throw new Error(`${variant}, ${a}, n = ${n}: ${r.state}`);
        samples.get(a)!.push((r.latency.mean * 1e6) / n);
      }
    }
    for (const a of ARENAS) {
      const s = [...samples.get(a)!].sort((x, y) => x - y);
      results.push({ variant, row: a, n, ns: s[Math.floor(s.length / 2)]! });
      (arenas[a] as Partial<ThreadedArena>).close?.();
    }
  }
  process.stderr.write(`measured n = ${n}\n`);
}

// PyTorch, in the same run, after this library's rows (not at the same time: both would share the cores).
let torchVersion: string | null = null;
if (withTorch && spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) {
  const script = fileURLToPath(new URL('../../bench/torch_rmsprop.py', import.meta.url));
  const out = JSON.parse(
    execFileSync('/usr/bin/python3', [script, '--sizes', SIZES.join(','), '--threads', '1,2', '--rounds', String(ROUNDS)], { encoding: 'utf8', maxBuffer: 1 << 24 }),
  ) as { torch: string; rows: { variant: string; threads: number; n: number; ns: number }[] };
  torchVersion = out.torch;
  for (const r of out.rows) results.push({ variant: r.variant, row: `torch, ${r.threads} thread${r.threads > 1 ? 's' : ''}`, n: r.n, ns: r.ns });
} else if (withTorch) {
  process.stderr.write('torch is not importable by /usr/bin/python3 (apt-get install -y python3-torch): its rows are left out\n');
}

const at = (variant: string, row: string, n: number): number | undefined => results.find((r) => r.variant === variant && r.row === row && r.n === n)?.ns;
const rowNames = [...new Set(results.map((r) => r.row))];
const head = (n: number): string => `n = ${n.toExponential(0).replace('+', '')}`;
console.log(
  `node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${new Date().toISOString().slice(0, 10)}, ${ROUNDS} interleaved rounds, median` +
    (torchVersion ? `; torch ${torchVersion} (bench/torch_rmsprop.py) in the same run` : '; torch not measured'),
);
console.log('');
console.log('ns per element of one step (RMSProp with nonFinite: "apply"; torch.optim.RMSprop, float32):');
for (const variant of Object.keys(VARIANTS)) {
  console.log('');
  console.log(`${variant}:`);
  console.log('');
  console.log(`| | ${SIZES.map(head).join(' | ')} |`);
  console.log(`|---|${SIZES.map(() => '---:').join('|')}|`);
  for (const row of rowNames) console.log(`| ${row} | ${SIZES.map((n) => at(variant, row, n)?.toFixed(3) ?? '').join(' | ')} |`);
}
console.log('');
// The crossover: the smallest size from which two threads beat one, for every variant.
for (const variant of Object.keys(VARIANTS)) {
  const wins = SIZES.filter((n) => at(variant, '2 threads', n)! < at(variant, '1 thread', n)!);
  const from = SIZES.find((n) => SIZES.filter((m) => m >= n).every((m) => wins.includes(m)));
  console.log(`${variant}: two threads faster from n = ${from === undefined ? 'none measured' : from.toExponential(0).replace('+', '')} on`);
}
