// The public API is documented: TSDoc with an example on every export and every public member
// of RMSProp, and docs/api (TypeDoc, `npm run docs:api`) generated from the current source.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Every `export` declaration (and public class member) with the TSDoc block just above it. */
function declarations(file: string): { name: string; doc: string }[] {
  const text = readFileSync(join(root, 'src', file), 'utf8');
  const out: { name: string; doc: string }[] = [];
  const re = /(\/\*\*(?:(?!\*\/)[\s\S])*\*\/)\s*\n\s*(?:export\s+(?:declare\s+)?(?:function|class|interface|type|const)\s+(\w+)|(?:get |set )?(\w+)\s*(?:<[^>]*>)?\()/g;
  for (const m of text.matchAll(re)) out.push({ name: m[2] ?? m[3]!, doc: m[1]! });
  // Exports with no TSDoc at all.
  for (const m of text.matchAll(/(^|\n)(?!\s*\*)[^\n]*?\n\s*export\s+(?:function|class|interface|type|const)\s+(\w+)/g)) {
    const before = text.slice(0, m.index + m[0].length);
    if (!/\*\/\s*\n\s*export\s+(?:function|class|interface|type|const)\s+\w+$/.test(before)) out.push({ name: m[2]!, doc: '' });
  }
  return out;
}

describe('the API documentation', () => {
  const publicFiles = ['rmsprop-step.ts', 'optimizer.ts', 'options.ts', 'param-groups.ts', 'presets.ts', 'state-dict.ts', 'state-json.ts', 'backend.ts', 'arena.ts', 'schedules.ts', 'clipping.ts', 'multi-steps.ts', 'sparse-rows.ts', 'safetensors.ts', 'node.ts', 'tfjs-weights.ts', 'webgpu.ts', 'rmsprop-step.wgsl.ts', 'threads.ts'];
  it.each(publicFiles)('has TSDoc with an @example on every public declaration of src/%s', (file) => {
    const missing = declarations(file)
      .filter((d) => !d.doc.includes('@internal'))
      .filter((d) => !['constructor'].includes(d.name) || !d.doc.includes('@example'))
      .filter((d) => !d.doc.includes('@example'))
      .map((d) => d.name);
    expect(missing).toEqual([]);
  });

  it('in docs/api is what TypeDoc makes of the current source (npm run docs:api)', () => {
    const out = mkdtempSync(join(tmpdir(), 'rmsprop-api-'));
    try {
      execFileSync('node', [join(root, 'node_modules/typedoc/bin/typedoc'), '--out', out], { cwd: root, stdio: 'pipe' });
      const files = (dir: string): string[] =>
        readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
      const made = files(out).map((f) => relative(out, f)).sort();
      const committed = files(join(root, 'docs/api')).map((f) => relative(join(root, 'docs/api'), f)).sort();
      expect(committed).toEqual(made);
      for (const f of made) expect(readFileSync(join(root, 'docs/api', f)).equals(readFileSync(join(out, f))), f).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});
