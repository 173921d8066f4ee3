/// <reference lib="dom" />
// The threaded arena: the same bits as the single-threaded arena whatever the number of threads,
// for every switch combination and sizes that do not divide evenly; batches of many parameters;
// faults (a worker that throws, one that ends without a word) reported, bounded, recoverable.
// In Node; in the browser run (not cross-origin isolated) it checks the refusal and threads: 1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RMSProp, createArena, createState, rmspropDefaults } from '../src/index.js';
import type { Arena, RMSPropHyper, RMSPropOptions, RMSPropState } from '../src/index.js';
import { createThreadedArena } from '../src/threads.js';
import { injectFault } from '../src/threads-faults.js';
import type { ThreadedArena } from '../src/threads.js';
import { label, switchCombinations } from './support/configs.js';
import { normals, rng } from './support/random.js';

const inNode = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';

const CONFIGS: RMSPropHyper[] = [
  ...switchCombinations(),
  { ...rmspropDefaults, maximize: true, momentum: 0.5, centered: true },
  { ...rmspropDefaults, maximize: true, weightDecay: 0.01 },
  { ...rmspropDefaults, lr: 0.1, alpha: 0.9, eps: 1e-3, initialAccumulator: 1 },
];

/** Bit patterns, so that -0, NaN payloads and every last bit count. */
const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));

describe.runIf(inNode)('the threaded arena: the same bits as one thread', () => {
  const N = 70_001;
  let arenas: { arena: Arena; p: Float32Array; g: Float32Array; sq: Float32Array; ga: Float32Array; mb: Float32Array }[] = [];
  let threaded: ThreadedArena[] = [];

  beforeAll(async () => {
    threaded = [await createThreadedArena(5 * N + 64, { threads: 2, minParallel: 0 }), await createThreadedArena(5 * N + 64, { threads: 3, minParallel: 0 })];
    arenas = [createArena(5 * N + 64), ...threaded].map((arena) => ({
      arena,
      p: arena.alloc(N),
      g: arena.alloc(N),
      sq: arena.alloc(N),
      ga: arena.alloc(N),
      mb: arena.alloc(N),
    }));
  });
  afterAll(() => threaded.forEach((a) => a.close()));

  it.each(CONFIGS.map((h) => [label(h), h] as const))('%s, at 1, 3, 5, 4 097 and 70 001 elements, 2 and 3 threads', (_l, hyper) => {
    const random = rng(11);
    for (const n of [1, 3, 5, 4097, N]) {
      const init = Float32Array.from(normals(random, n));
      const grads = [0, 1, 2].map((t) => Float32Array.from(normals(random, n, t === 1 ? 40 : 0.7)));
      const results = arenas.map(({ arena, p, g, sq, ga, mb }) => {
        const data = p.subarray(0, n);
        data.set(init);
        const state: RMSPropState = { squareAvg: sq.subarray(0, n).fill(hyper.initialAccumulator), gradAvg: ga.subarray(0, n).fill(0), momentumBuffer: mb.subarray(0, n).fill(0), step: 0 };
        const took: boolean[] = [];
        for (const grad of grads) {
          g.subarray(0, n).set(grad);
          took.push(arena.step(data, g.subarray(0, n), state, hyper));
        }
        return { took, step: state.step, out: [data, state.squareAvg, state.gradAvg!, state.momentumBuffer!].map((a) => Array.from(bits(a as Float32Array))) };
      });
      for (const r of results.slice(1)) {
        expect(r.took).toEqual(results[0]!.took);
        expect(r.step).toBe(results[0]!.step);
        expect(r.out, `n = ${n}`).toEqual(results[0]!.out);
      }
    }
  });
});

describe.runIf(inNode)('RMSProp over a threaded arena', () => {
  /** Trains the same parameters (sizes) over `arena` and returns every buffer's bits. */
  function train(arena: Arena, sizes: readonly number[], options: RMSPropOptions, steps: number, flat = false): number[][] {
    const random = rng(3);
    const total = sizes.reduce((a, b) => a + b, 0);
    const dataAll = flat ? arena.alloc(total) : null, gradAll = flat ? arena.alloc(total) : null;
    let at = 0;
    const params = sizes.map((n) => {
      const p = flat ? { data: dataAll!.subarray(at, at + n), grad: gradAll!.subarray(at, at + n) } : { data: arena.alloc(n), grad: arena.alloc(n) };
      at += n;
      p.data.set(normals(random, n));
      return p;
    });
    const opt = new RMSProp(params, { ...options, arena });
    for (let t = 0; t < steps; t++) {
      for (const p of params) p.grad.set(normals(random, p.grad.length, 1 + t));
      opt.step();
    }
    const dict = opt.stateDict();
    const saved = dict.groups.flatMap((g) => g.params);
    return [
      ...params.map((p) => Array.from(bits(p.data as Float32Array))),
      ...saved.flatMap((s) => [s.squareAvg, s.gradAvg, s.momentumBuffer].filter((x) => x !== null).map((x) => Array.from(bits(x as Float32Array)))),
      saved.map((s) => s.step),
    ];
  }

  const sizes = [5, 4097, 1, 30_011, 3, 12_345, 70_003];
  const capacity = 6 * (sizes.reduce((a, b) => a + b, 0) + 64);

  it.each([
    ['plain', { nonFinite: 'apply' }],
    ['momentum, centered, nesterov, weight decay', { momentum: 0.9, centered: true, nesterov: true, weightDecay: 0.01 }],
    ['Keras: eps in the root, lr in the buffer, decoupled decay', { epsInSqrt: true, lrInMomentum: true, decoupledWeightDecay: true, weightDecay: 0.004, momentum: 0.5 }],
  ] as const)('%s: parameters of odd sizes stepped in one batch, split across 2 and 3 threads', async (_l, options) => {
    const one = train(createArena(capacity), sizes, options as RMSPropOptions, 4);
    for (const threads of [2, 3]) {
      const arena = await createThreadedArena(capacity, { threads, minParallel: 0 });
      try {
        expect(train(arena, sizes, options as RMSPropOptions, 4)).toEqual(one);
      } finally {
        arena.close();
      }
    }
  });

  it('a flat layout (one span) and 2 500 separate parameters (three batches) give the same bits', async () => {
    const many = Array.from({ length: 2500 }, (_, i) => 1 + ((i * 7919) % 53));
    const cap = 6 * (many.reduce((a, b) => a + b, 0) + 4 * many.length + 64);
    for (const flat of [true, false]) {
      const one = train(createArena(cap), many, { momentum: 0.9 }, 3, flat);
      const arena = await createThreadedArena(cap, { threads: 2, minParallel: 0 });
      try {
        expect(train(arena, many, { momentum: 0.9 }, 3, flat)).toEqual(one);
      } finally {
        arena.close();
      }
    }
  });

  it('below minParallel the calling thread steps alone, with the same bits', async () => {
    const arena = await createThreadedArena(capacity, { threads: 2 });
    try {
      expect(arena.minParallel).toBe(8192);
      expect(train(arena, [5, 17, 1000], { momentum: 0.9 }, 3)).toEqual(train(createArena(capacity), [5, 17, 1000], { momentum: 0.9 }, 3));
    } finally {
      arena.close();
    }
  });
});

describe.runIf(inNode)('faults', () => {
  const n = 50_000;
  async function setup(timeout = 10_000): Promise<{ arena: ThreadedArena; w: { data: Float32Array; grad: Float32Array }; opt: RMSProp }> {
    const arena = await createThreadedArena(5 * n + 64, { threads: 2, minParallel: 0, timeout });
    const w = { data: arena.alloc(n).fill(1), grad: arena.alloc(n).fill(0.5) };
    const opt = new RMSProp([w], { arena, momentum: 0.9 });
    opt.step();
    return { arena, w, opt };
  }

  it('a worker that throws inside a step: the step throws saying so, and so does every later step until close()', async () => {
    const { arena, w, opt } = await setup();
    try {
      injectFault('fault');
      expect(() => opt.step()).toThrow(/ThreadedArena\.step: worker 1 failed: a fault injected by a test; this step's updates may be partly written: restore .* checkpoint/);
      const before = Array.from(w.data);
      expect(() => opt.step()).toThrow(/worker 1 failed: .* nothing was written.*close\(\) the arena/);
      expect(Array.from(w.data)).toEqual(before);
      arena.close();
      expect(opt.step()).toBe(true); // alone on this thread from now on
    } finally {
      arena.close();
    }
  });

  it('a worker that ends without a word: the step gives up after the timeout, writes nothing, and the optimizer is rebuilt from its state dict', async () => {
    const { arena, w, opt } = await setup(300);
    try {
      injectFault('die');
      const data = Array.from(w.data), state = opt.stateDict();
      const t = performance.now();
      expect(() => opt.step()).toThrow(/ThreadedArena\.step: 1 of 1 workers did not answer within 300 ms; nothing was written/);
      expect(performance.now() - t).toBeLessThan(5000);
      expect(Array.from(w.data)).toEqual(data);
      expect(opt.stateDict()).toEqual(state);
      expect(() => opt.step()).toThrow(/did not answer within 300 ms; nothing was written/);
      // Rebuild: a new arena and optimizer, the parameters copied, the state loaded.
      const fresh = await createThreadedArena(5 * n + 64, { threads: 2, minParallel: 0 });
      const single = createArena(5 * n + 64);
      try {
        const rebuilt = [fresh, single].map((a) => {
          const v = { data: a.alloc(n), grad: a.alloc(n).fill(0.25) };
          v.data.set(w.data);
          const o = new RMSProp([v], { arena: a, momentum: 0.9 });
          o.loadStateDict(opt.stateDict());
          o.step();
          return Array.from(bits(v.data));
        });
        expect(rebuilt[0]).toEqual(rebuilt[1]);
      } finally {
        fresh.close();
      }
    } finally {
      arena.close();
    }
  });

  it('decides to wake the workers from the whole step, not its last batch of 1 024 calls', async () => {
    const arena = await createThreadedArena(6 * (1024 * 2000 + 4) + 8192, { threads: 2 });
    try {
      const params = [...Array.from({ length: 1024 }, () => 2000), 4].map((k) => ({ data: arena.alloc(k).fill(1), grad: arena.alloc(k).fill(0.5) }));
      const opt = new RMSProp(params, { arena, nonFinite: 'apply' });
      opt.step();
      opt.step(); // the step before was large: this one is split, and the next too
      injectFault('fault');
      expect(() => opt.step()).toThrow(/worker 1 failed: a fault injected by a test/);
    } finally {
      arena.close();
    }
  });

  it('begin() twice is an immediate error that leaves the arena working', async () => {
    const arena = await createThreadedArena(5 * n + 64, { threads: 2, minParallel: 0, timeout: 3000 });
    try {
      const w = { data: arena.alloc(n).fill(1), grad: arena.alloc(n).fill(0.5) };
      const opt = new RMSProp([w], { arena });
      opt.step();
      arena.begin();
      const t = performance.now();
      expect(() => opt.step()).toThrow(/ThreadedArena\.begin: called again before end\(\): a step is being recorded/);
      expect(performance.now() - t).toBeLessThan(1000);
      arena.end();
      expect(opt.step()).toBe(true);
    } finally {
      arena.close();
    }
  });

  it('a direct step that throws after waking the workers lets them go: the next step is not blamed on them', async () => {
    const arena = await createThreadedArena(6 * n + 64, { threads: 2, minParallel: 0, timeout: 3000 });
    try {
      const p = arena.alloc(n).fill(1), g = arena.alloc(n).fill(0.5);
      const state = Object.freeze(createState(p, rmspropDefaults, (like) => arena.alloc(like.length)));
      expect(() => arena.step(p, g, state, rmspropDefaults)).toThrow(TypeError); // ++state.step on a frozen object
      const w = { data: arena.alloc(n).fill(1), grad: arena.alloc(n).fill(0.5) };
      const opt = new RMSProp([w], { arena });
      const t = performance.now();
      expect(opt.step()).toBe(true);
      expect(performance.now() - t).toBeLessThan(1000);
    } finally {
      arena.close();
    }
  });

  it('close() is idempotent, reports closed, is Symbol.dispose, and later steps give the same bits alone', async () => {
    const arena = await createThreadedArena(1000, { threads: 2, minParallel: 0 });
    expect(arena.closed).toBe(false);
    const dispose = (Symbol as { dispose?: symbol }).dispose;
    if (dispose) (arena as unknown as Record<symbol, () => void>)[dispose]!();
    else arena.close();
    expect(arena.closed).toBe(true);
    arena.close();
    const single = createArena(1000);
    const out = [arena, single].map((a) => {
      const p = a.alloc(7).fill(2), g = a.alloc(7).fill(-1);
      const s = createState(p, rmspropDefaults, (like) => a.alloc(like.length));
      expect(a.step(p, g, s, rmspropDefaults)).toBe(true);
      return Array.from(p);
    });
    expect(out[0]).toEqual(out[1]);
  });

  it('workers never keep Node alive: a process that forgets close() exits', async () => {
    const { spawnSync } = await import('node:child_process');
    const url = new URL('../dist/threads.js', import.meta.url).href;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import { createThreadedArena } from '${url}'; const a = await createThreadedArena(1000, { threads: 3 }); console.log(a.threads);`], { timeout: 20_000, encoding: 'utf8' });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('3');
  });
});

describe('createThreadedArena', () => {
  it.each([
    [{ threads: 0 }, /createThreadedArena: invalid threads: expected a whole number from 1 to 64, got 0/],
    [{ threads: 1.5 }, /invalid threads: .* got 1\.5/],
    [{ threads: 65 }, /invalid threads: .* got 65/],
    [{ threads: '2' }, /invalid threads: .* got string "2"/],
    [{}, /invalid threads: .* got undefined/],
    [{ threads: 2, minParallel: -1 }, /invalid minParallel: expected a whole number >= 0, got -1/],
    [{ threads: 2, timeout: 0 }, /invalid timeout: expected a number of milliseconds > 0 and at most 2\^31, got 0/],
    [{ threads: 2, minparallel: 3 }, /createThreadedArena: unknown option "minparallel"; the options are threads, minParallel, timeout/],
    [null, /createThreadedArena: invalid options: expected an object with threads, got null/],
  ])('refuses %j, naming the option', async (options, message) => {
    await expect(createThreadedArena(1000, options as never)).rejects.toThrow(message);
  });

  it('refuses a bad capacity as createArena does', async () => {
    await expect(createThreadedArena(0, { threads: 1 })).rejects.toThrow(/createThreadedArena: invalid capacity: expected a whole number from 1 to 2\^28/);
  });

  it('with threads: 1 starts no worker and needs no isolation, anywhere', async () => {
    const arena = await createThreadedArena(100, { threads: 1 });
    const p = arena.alloc(5).fill(1), g = arena.alloc(5).fill(1);
    const s = createState(p, rmspropDefaults, (like) => arena.alloc(like.length));
    expect(arena.step(p, g, s, rmspropDefaults)).toBe(true);
    expect(p[0]).toBeCloseTo(0.9, 6);
    arena.close();
  });

  it.runIf(!inNode)('in a page that is not cross-origin isolated, says which headers shared memory needs', async () => {
    expect((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated).toBe(false);
    await expect(createThreadedArena(1000, { threads: 2 })).rejects.toThrow(
      /createThreadedArena: 2 threads: shared memory needs a cross-origin isolated page: serve it with the headers `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp` \(docs\/threads\.md\); or use threads: 1/,
    );
  });
});
