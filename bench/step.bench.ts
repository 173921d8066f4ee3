// `npm run bench`: the RMSProp update against a bare loop doing the same arithmetic, and the
// machine's copy bandwidth, measured side by side in one process with tinybench. `RMSProp.step`
// runs with the default nonFinite: 'throw' (a read-only scan of the gradient first) except in
// the row that says 'apply', which shows what the scan costs.
//
// Reports ns per element and each implementation's ratio to the bare loop. Every buffer is
// allocated before the run; the parameters are read after it so nothing is optimised away.
import { cpus } from 'node:os';
import { Bench } from 'tinybench';
import { RMSProp, createState, rmspropDefaults, rmspropStep } from '../src/index.js';

const SIZES = [1e3, 1e4, 1e5, 1e6, 1e7];
const quick = process.argv.includes('--quick');

/** The plain update written inline: the speed the kernel should reach. */
function bareLoop(param: Float32Array, grad: Float32Array, sq: Float32Array, lr: number, alpha: number, eps: number): void {
  const beta = 1 - alpha;
  for (let i = 0; i < param.length; i++) {
    const g = grad[i]!;
    const v = alpha * sq[i]! + beta * g * g;
    sq[i] = v;
    param[i] = param[i]! - (lr * g) / (Math.sqrt(v) + eps);
  }
}

function filled(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    a[i] = x / 2147483648 - 0.5;
  }
  return a;
}

interface Row {
  readonly n: number;
  readonly name: string;
  readonly nsPerElement: number;
}

async function measure(n: number): Promise<Row[]> {
  const time = quick ? 100 : n >= 1e6 ? 1500 : 600;
  const bench = new Bench({ time, warmupTime: quick ? 50 : 300, iterations: 8 });
  const lr = 1e-3;
  const param = filled(n, 1);
  const grad = filled(n, 2);
  const sq = new Float32Array(n);
  bench.add('bare loop', () => bareLoop(param, grad, sq, lr, 0.99, 1e-8));

  const kState = createState(param, rmspropDefaults);
  const hyper = { ...rmspropDefaults, lr };
  bench.add('rmspropStep (kernel)', () => rmspropStep(param, grad, kState, hyper));

  for (const [name, options] of [
    ['RMSProp.step plain', {}],
    ["RMSProp.step plain, nonFinite 'apply' (no scan)", { nonFinite: 'apply' }],
    ['RMSProp.step momentum', { momentum: 0.9 }],
    ['RMSProp.step centered', { centered: true }],
  ] as const) {
    const p = { data: filled(n, 3), grad: filled(n, 4) };
    const opt = new RMSProp([p], { lr, ...options });
    bench.add(name, () => opt.step());
  }

  // Copy bandwidth: TypedArray.set over 5 floats per element (read 20 bytes, write 20 bytes).
  const src = filled(5 * n, 5);
  const dst = new Float32Array(5 * n);
  bench.add('copy 20 B/element (TypedArray.set)', () => dst.set(src));

  await bench.run();
  if (!Number.isFinite(param[0]! + dst[0]!)) throw new Error('benchmark produced a non-finite value');
  return bench.tasks.map((task) => {
    const r = task.result;
    if (r.state !== 'completed') throw new Error(`${task.name} did not complete: ${r.state}`);
    return { n, name: task.name, nsPerElement: (r.latency.mean * 1e6) / n };
  });
}

const rows: Row[] = [];
for (const n of quick ? SIZES.slice(0, 3) : SIZES) rows.push(...(await measure(n)));

console.log(`node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${new Date().toISOString().slice(0, 10)}`);
console.log('| implementation | ' + SIZES.filter((n) => rows.some((r) => r.n === n)).map((n) => `n = ${n.toExponential(0)}`).join(' | ') + ' |');
console.log('|---|' + SIZES.filter((n) => rows.some((r) => r.n === n)).map(() => '---').join('|') + '|');
for (const name of [...new Set(rows.map((r) => r.name))]) {
  const cells = SIZES.filter((n) => rows.some((r) => r.n === n)).map((n) => {
    const row = rows.find((r) => r.n === n && r.name === name)!;
    const bare = rows.find((r) => r.n === n && r.name === 'bare loop')!;
    return `${row.nsPerElement.toFixed(2)} ns (${(row.nsPerElement / bare.nsPerElement).toFixed(2)}x)`;
  });
  console.log(`| ${name} | ${cells.join(' | ')} |`);
}
