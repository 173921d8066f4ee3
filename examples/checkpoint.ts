import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RMSProp } from 'rmsprop';
import { loadState, saveState } from 'rmsprop/node';

const path = join(tmpdir(), 'optimizer.safetensors');
const w = { name: 'w', data: new Float32Array([0.5, -1.5, 2]), grad: new Float32Array(3) };
const opt = new RMSProp([w], { lr: 0.01, momentum: 0.9 });
for (let step = 0; step < 100; step++) {
  w.grad.set(w.data); // loss = sum(w^2) / 2
  opt.step();
}
await saveState(opt, path); // a safetensors file, written atomically

// Later, or in another process: an optimizer over the same parameters, then its state back.
const resumed = new RMSProp([w], { lr: 0.01, momentum: 0.9 });
await loadState(resumed, path);
console.log(`resumed at step ${resumed.getState(w)!.step}`); // resumed at step 100
// (end of the README snippet)
export { opt, path, resumed, w };
