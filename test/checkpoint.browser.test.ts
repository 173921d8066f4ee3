// Runs in Chromium only: docs/checkpoints.md's browser storage examples (examples/checkpoint-browser.ts,
// shown there verbatim), each saving an optimizer's state and loading it into a twin.
import { describe, expect, it } from 'vitest';
import doc from '../docs/checkpoints.md?raw';
import source from '../examples/checkpoint-browser.ts?raw';
import { downloadLink, loadBlob, loadFromIndexedDB, loadFromOPFS, saveToIndexedDB, saveToOPFS } from '../examples/checkpoint-browser.js';
import { RMSProp, encodeState } from 'rmsprop'; // as the example imports it

function build(): { opt: RMSProp; twin: RMSProp } {
  const make = () => [{ name: 'w', data: new Float32Array([1, -2, 3]), grad: new Float32Array([0.5, 0.25, -1]) }];
  const opt = new RMSProp(make(), { momentum: 0.9, centered: true });
  opt.step();
  opt.step();
  return { opt, twin: new RMSProp(make(), { momentum: 0.9, centered: true }) };
}

describe('checkpoints in the browser (docs/checkpoints.md)', () => {
  it('shows examples/checkpoint-browser.ts verbatim', () => {
    const body = source.slice(source.indexOf('\n') + 1).trim(); // without the lib="dom" line
    expect(doc).toContain('```ts\n' + body + '\n```');
  });

  it('a Blob behind a download link, read back as a picked file would be', async () => {
    const { opt, twin } = build();
    const link = downloadLink(opt);
    expect(link.download).toBe('optimizer.safetensors');
    await loadBlob(twin, await (await fetch(link.href)).blob());
    URL.revokeObjectURL(link.href);
    expect(encodeState(twin)).toEqual(encodeState(opt));
  });

  it('the origin private file system', async () => {
    const { opt, twin } = build();
    await saveToOPFS(opt, 'test-optimizer.safetensors');
    await loadFromOPFS(twin, 'test-optimizer.safetensors');
    expect(encodeState(twin)).toEqual(encodeState(opt));
  });

  it('IndexedDB', async () => {
    const { opt, twin } = build();
    await saveToIndexedDB(opt, 'test-optimizer');
    await loadFromIndexedDB(twin, 'test-optimizer');
    expect(encodeState(twin)).toEqual(encodeState(opt));
  });
});
