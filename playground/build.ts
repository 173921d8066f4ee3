/**
 * Bundles the playground page's code (playground/*.ts, the study's Adam and SGD, d3-contour,
 * d3-scale and d3-scale-chromatic) into docs/playground/playground.js with esbuild. The package
 * itself is not bundled: every import of src/<module>.js becomes an import of dist/<module>.js,
 * so the page loads the package's own files as plain ES modules, as a user's page would.
 *
 * Usage: `node build/playground/build.js [outfile]` (after `npm run build:tools`).
 *
 * @module
 */
import { build } from 'esbuild';
import type { Plugin } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { repositoryRoot } from './serve.js';

const root = repositoryRoot();

/** Maps `../src/<name>.js` to the external `../../dist/<name>.js` (relative to docs/playground/). */
const packageFromDist: Plugin = {
  name: 'package-from-dist',
  setup(b) {
    b.onResolve({ filter: /\/src\/[\w.-]+\.js$/ }, (args) => ({
      path: `../../dist/${args.path.slice(args.path.lastIndexOf('/src/') + 5)}`,
      external: true,
    }));
  },
};

/** The first line of the bundle. */
export const BANNER = '// Generated from playground/*.ts by `npm run playground` (playground/build.ts); do not edit.';

/**
 * Writes the page's bundle to `outfile` and returns its size in bytes.
 *
 * @example
 * ```ts
 * await buildPlayground('docs/playground/playground.js');
 * ```
 */
export async function buildPlayground(outfile: string): Promise<number> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: ['playground/main.ts'],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    legalComments: 'eof',
    banner: { js: BANNER },
    outfile,
    plugins: [packageFromDist],
    metafile: true,
    logLevel: 'warning',
  });
  return Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2] ?? 'docs/playground/playground.js';
  const bytes = await buildPlayground(out);
  console.log(`playground: ${out} (${bytes} bytes)`);
}
