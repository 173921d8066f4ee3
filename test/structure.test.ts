// The architecture, checked: no import cycles between the source files (type-only imports
// included), a small optimizer class, features that depend on the class and never the other
// way round, an index that only re-exports, and a kernel file with no imports.
import { describe, expect, it } from 'vitest';

const sources = import.meta.glob<string>('../src/*.ts', { query: '?raw', import: 'default', eager: true });
const files = new Map(Object.entries(sources).map(([path, text]) => [path.slice('../src/'.length), text]));

/** Every module a file imports or re-exports from, `import type` included. */
function imports(text: string): string[] {
  const found = [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+['"]\.\/([\w-]+)\.js['"]/gm)].map((m) => `${m[1]}.ts`);
  return [...new Set(found)];
}

const graph = new Map([...files].map(([file, text]) => [file, imports(text)]));

/** A cycle through the graph as a list of files, or null. */
function findCycle(): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string): string[] | null => {
    if (state.get(file) === 'done') return null;
    if (state.get(file) === 'open') return [...path.slice(path.indexOf(file)), file];
    state.set(file, 'open');
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      const cycle = visit(next);
      if (cycle !== null) return cycle;
    }
    path.pop();
    state.set(file, 'done');
    return null;
  };
  for (const file of graph.keys()) {
    const cycle = visit(file);
    if (cycle !== null) return cycle;
  }
  return null;
}

/** Every file `file` depends on, directly or not. */
function dependencies(file: string, seen = new Set<string>()): Set<string> {
  for (const next of graph.get(file) ?? []) {
    if (!seen.has(next)) {
      seen.add(next);
      dependencies(next, seen);
    }
  }
  return seen;
}

describe('the source tree', () => {
  it('reads every source file', () => {
    expect(files.size).toBeGreaterThan(15);
    expect(graph.get('optimizer.ts')).toContain('rmsprop-step.ts');
  });

  it('has no import cycle, type-only imports included', () => {
    expect(findCycle()).toBeNull();
  });

  it('finds a cycle when there is one (the check can fail)', () => {
    graph.set('rmsprop-step.ts', ['optimizer.ts']);
    try {
      expect(findCycle()).not.toBeNull();
    } finally {
      graph.set('rmsprop-step.ts', []);
    }
  });

  it('keeps the kernel file free of imports, so it can be copied alone', () => {
    expect(graph.get('rmsprop-step.ts')).toEqual([]);
    expect(files.get('rmsprop-step.ts')).not.toMatch(/^\s*import\b/m);
  });

  it("has an index that only re-exports (after the module's doc comment)", () => {
    const lines = files.get('index.ts')!.replace(/^\/\*\*[\s\S]*?\*\/\n/, '').split('\n').filter((l) => l.trim() !== '');
    for (const line of lines) expect(line).toMatch(/^export (type )?\{[^}]+\} from '\.\/[\w-]+\.js';$/);
  });

  it('keeps the RMSProp class body, TSDoc included, at most 250 lines', () => {
    const lines = files.get('optimizer.ts')!.split('\n');
    const start = lines.findIndex((l) => l.startsWith('export class RMSProp'));
    const end = lines.findIndex((l, i) => i > start && l === '}');
    expect(start).toBeGreaterThan(0);
    expect(end - start + 1).toBeLessThanOrEqual(250);
  });

  it('lets no feature into the class: the optimizer depends on none of them, nor on the WebAssembly glue', () => {
    const used = dependencies('optimizer.ts');
    for (const feature of ['clipping.ts', 'multi-steps.ts', 'sparse-rows.ts', 'state-json.ts', 'presets.ts', 'schedules.ts', 'arena.ts', 'simd-step.ts', 'wasm-module.ts', 'base64.ts']) {
      expect(used.has(feature), feature).toBe(false);
    }
  });

  it('has the features depend on the class, not the other way round', () => {
    for (const feature of ['multi-steps.ts', 'sparse-rows.ts']) expect(dependencies(feature).has('optimizer.ts'), feature).toBe(true);
  });
});
