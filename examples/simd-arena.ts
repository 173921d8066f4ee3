import { RMSProp, createArena } from 'rmsprop';

// Parameters and gradients allocated in an arena (one WebAssembly.Memory): the optimizer keeps
// its state there too and steps them with the f32x4 SIMD kernel.
const n = 100_000;
const arena = createArena(4 * n + 64);
const w = { name: 'w', data: arena.alloc(n), grad: arena.alloc(n) };
for (let i = 0; i < n; i++) w.data[i] = Math.sin(i); // some starting point

const opt = new RMSProp([w], { lr: 0.01, momentum: 0.9, arena });
for (let step = 0; step < 100; step++) {
  w.grad.set(w.data); // gradient of sum(w^2) / 2
  opt.step();
}
let norm = 0;
for (const x of w.data) norm += x * x;
console.log(`|w| after 100 steps: ${Math.sqrt(norm).toFixed(3)} (from ${Math.sqrt(n / 2).toFixed(1)})`);
// (end of the README snippet)
export { arena, norm, opt, w };
