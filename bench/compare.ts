// `npm run bench:compare -- <dir A> <dir B>`: two builds of the library side by side in one
// process, for "is this change slower?" questions that separate bench runs are too noisy to
// answer. Each directory is a build's `dist/` (its index.js is imported); rows are interleaved,
// 9 rounds, the median kept. To compare with an older commit:
//
//   git worktree add /tmp/old <commit> && (cd /tmp/old && npm ci && npm run build)
//   npm run bench:compare -- /tmp/old/dist dist
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Lib from '../src/index.js';

const dirs = process.argv.slice(2);
if (dirs.length !== 2) throw new Error('usage: npm run bench:compare -- <dist A> <dist B>');
const libs = (await Promise.all(dirs.map((d) => import(pathToFileURL(resolve(d, 'index.js')).href)))) as (typeof Lib)[];

function fill(a: Float32Array, seed: number): Float32Array {
  let x = seed >>> 0;
  for (let i = 0; i < a.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    a[i] = x / 4294967296 - 0.5;
  }
  return a;
}

interface Row {
  key: string;
  lib: number;
  n: number;
  run: () => void;
}
const rows: Row[] = [];
libs.forEach((lib, li) => {
  const add = (key: string, n: number, opt: Lib.RMSProp): void => void rows.push({ key, lib: li, n, run: () => opt.step() });
  for (const n of [1e3, 1e5]) {
    for (const [name, options] of [['plain', {}], ['momentum', { momentum: 0.9 }], ['centered', { centered: true }]] as const) {
      const w = { data: fill(new Float32Array(n), 3), grad: fill(new Float32Array(n), 4) };
      add(`${name}, n = ${n}`, n, new lib.RMSProp([w], { lr: 1e-3, nonFinite: 'apply', ...options }));
    }
    const arena = lib.createArena(3 * n + 64);
    const w = { data: fill(arena.alloc(n), 5), grad: fill(arena.alloc(n), 6) };
    add(`SIMD arena, n = ${n}`, n, new lib.RMSProp([w], { lr: 1e-3, arena, nonFinite: 'apply' }));
  }
  const many = Array.from({ length: 4000 }, (_, i) => ({ data: fill(new Float32Array(25), 10 + i), grad: fill(new Float32Array(25), 20000 + i) }));
  add('4 000 separate tensors of 25', 1e5, new lib.RMSProp(many, { lr: 1e-3, nonFinite: 'apply' }));
  const data = fill(new Float32Array(1e5), 11);
  const grad = fill(new Float32Array(1e5), 12);
  const views = Array.from({ length: 4000 }, (_, i) => ({ data: data.subarray(25 * i, 25 * i + 25), grad: grad.subarray(25 * i, 25 * i + 25) }));
  add('4 000 views of 25 of one buffer', 1e5, new lib.RMSProp(views, { lr: 1e-3, nonFinite: 'apply' }));
  // Engines that hand over new objects every step: every pair is checked again.
  const fresh: { data: Float32Array; grad: Float32Array }[] = Array.from({ length: 4000 }, (_, i) => ({ data: fill(new Float32Array(25), 40000 + i), grad: new Float32Array(25) }));
  const optFresh = new lib.RMSProp(fresh, { lr: 1e-3, nonFinite: 'apply' });
  rows.push({
    key: '4 000 tensors of 25, new data and grad arrays every step',
    lib: li,
    n: 1e5,
    run: () => {
      for (const p of fresh) {
        const d = new Float32Array(25);
        d.set(p.data);
        p.data = d;
        p.grad = fill(new Float32Array(25), 7);
      }
      optFresh.step();
    },
  });
  const sliced = views.map((p) => ({ ...p }));
  const optSliced = new lib.RMSProp(sliced, { lr: 1e-3, nonFinite: 'apply' });
  rows.push({
    key: '4 000 views of one buffer, new views every step',
    lib: li,
    n: 1e5,
    run: () => {
      sliced.forEach((p, i) => {
        p.data = data.subarray(25 * i, 25 * i + 25);
        p.grad = grad.subarray(25 * i, 25 * i + 25);
      });
      optSliced.step();
    },
  });
});

function time(f: () => void, ms: number): number {
  let reps = 0;
  const t0 = performance.now();
  let t: number;
  do {
    f();
    reps++;
    t = performance.now();
  } while (t - t0 < ms);
  return ((t - t0) * 1e6) / reps;
}
for (const r of rows) time(r.run, 100);
const samples = new Map(rows.map((r) => [r, [] as number[]]));
for (let round = 0; round < 9; round++) for (const r of rows) samples.get(r)!.push(time(r.run, 60) / r.n);
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const at = (key: string, lib: number): number => median(samples.get(rows.find((r) => r.key === key && r.lib === lib)!)!);

console.log(`node ${process.version}, ${new Date().toISOString().slice(0, 10)}; A = ${dirs[0]}, B = ${dirs[1]}; ns per element, median of 9 interleaved rounds, nonFinite 'apply'\n`);
console.log('| row | A | B | B / A |\n|---|---:|---:|---:|');
for (const key of new Set(rows.map((r) => r.key))) {
  const [a, b] = [at(key, 0), at(key, 1)];
  console.log(`| ${key} | ${a.toFixed(2)} | ${b.toFixed(2)} | ${(b / a).toFixed(2)}x |`);
}
