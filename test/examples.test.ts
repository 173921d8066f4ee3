// The README's quickstarts are the files in examples/, verbatim up to their
// "(end of the README snippet)" line, and each runs here, in Node and in Chromium.
import { describe, expect, it } from 'vitest';
import readme from '../README.md?raw';
import flatSource from '../examples/flat-buffers.ts?raw';
import microgradSource from '../examples/micrograd.ts?raw';
import pageSource from '../examples/page.html?raw';
import simdSource from '../examples/simd-arena.ts?raw';
import threadsSource from '../examples/threads.ts?raw';

const snippet = (source: string): string => source.slice(0, source.indexOf('// (end of the README snippet)')).trim();

describe('the README quickstarts', () => {
  it.each([
    ['examples/micrograd.ts', microgradSource],
    ['examples/flat-buffers.ts', flatSource],
    ['examples/simd-arena.ts', simdSource],
    ['examples/threads.ts', threadsSource],
  ])('show %s verbatim', (_name, source) => {
    expect(source).toContain('// (end of the README snippet)');
    expect(readme).toContain('```ts\n' + snippet(source) + '\n```');
  });

  it('show the <script type="module"> of examples/page.html verbatim (d: the page runs in test/package.test.ts)', () => {
    const script = pageSource.slice(pageSource.indexOf('<script type="module">'), pageSource.indexOf('</script>') + 9);
    const dedented = script.split('\n').map((l, i) => (i > 0 && l.startsWith('    ') ? l.slice(4) : l)).join('\n');
    expect(readme).toContain('```html\n' + dedented + '\n```');
  });

  it('(a) an engine with { data, grad } tensors: fits the line', async () => {
    const { loss, w, b } = await import('../examples/micrograd.js');
    expect(loss).toBeLessThan(1e-4);
    expect(w.data[0]).toBeCloseTo(2, 2);
    expect(w.data[1]).toBeCloseTo(-3, 2);
    expect(b.data[0]).toBeCloseTo(0.5, 2);
  });

  it('(b) flat buffers and subarray views: every element, from 0.25 to 3 away, ends near zero', async () => {
    const { params } = await import('../examples/flat-buffers.js');
    expect(params.length).toBe(12);
    // RMSProp's steps are about lr in size whatever the gradient's scale: it ends hovering
    // within a few steps of zero.
    for (const x of params) expect(Math.abs(x)).toBeLessThan(0.1);
  });

  it.runIf(typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string')(
    '(f) the threaded arena (in Node; in a browser it needs a cross-origin isolated Worker): the norm falls, the workers end',
    async () => {
      const { arena, norm, w } = await import('../examples/threads.js');
      expect(arena.threads).toBe(2);
      expect(arena.closed).toBe(true);
      expect(Math.sqrt(norm)).toBeLessThan(0.1 * Math.sqrt(w.data.length / 2));
    },
  );

  it('(e) the SIMD arena: state in the arena, the norm falls', async () => {
    const { arena, norm, opt, w } = await import('../examples/simd-arena.js');
    expect(arena.owns(opt.getState(w)!.momentumBuffer!)).toBe(true);
    expect(Math.sqrt(norm)).toBeLessThan(0.1 * Math.sqrt(w.data.length / 2));
  });
});
