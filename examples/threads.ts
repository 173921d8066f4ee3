import { RMSProp } from 'rmsprop';
import { createThreadedArena } from 'rmsprop/threads';

// A million parameters stepped on two threads: this one and a worker. In a browser, run this in
// a Worker of a cross-origin isolated page (docs/threads.md says why and how).
const n = 1_000_000;
const arena = await createThreadedArena(5 * n + 64, { threads: 2 });
const w = { data: arena.alloc(n), grad: arena.alloc(n) };
for (let i = 0; i < n; i++) w.data[i] = Math.sin(i);

const opt = new RMSProp([w], { lr: 0.01, momentum: 0.9, arena, nonFinite: 'apply' });
for (let step = 0; step < 100; step++) {
  w.grad.set(w.data); // gradient of sum(w^2) / 2
  opt.step(); // synchronous: each thread steps half of the elements
}
arena.close(); // ends the worker; the arena's views stay readable
let norm = 0;
for (const x of w.data) norm += x * x;
console.log(`|w| after 100 steps on ${arena.threads} threads: ${Math.sqrt(norm).toFixed(3)}`);
// (end of the README snippet)

export { arena, norm, w };
