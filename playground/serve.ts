/**
 * A static file server for the repository on 127.0.0.1, gzip-compressing text as any real static
 * host does. `npm run playground` uses it to serve docs/playground/ (which loads dist/); the
 * playground's test and benchmark use it too.
 *
 * Usage: `node build/playground/serve.js [port]` (default 8321, or a free port if that one is
 * taken); prints the page's URL and serves until stopped.
 *
 * @module
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
  '.md': 'text/markdown; charset=utf-8',
};

/** The repository: the nearest folder above this file with a package.json. */
export function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

/** A running server: its base URL and how to stop it. */
export interface Served {
  readonly server: Server;
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  close(): Promise<void>;
}

/**
 * Serves `root` on 127.0.0.1 at `port` (0: any free port). Paths outside `root` get 403, missing
 * files 404; a folder serves its index.html. Text is gzipped when the client accepts it. With
 * `isolated`, every response carries the two headers that make a page cross-origin isolated
 * (`Cross-Origin-Opener-Policy: same-origin`, `Cross-Origin-Embedder-Policy: require-corp`).
 *
 * @example
 * ```ts
 * const { origin, close } = await serve(repositoryRoot(), 0);
 * console.log(`${origin}/docs/playground/`);
 * await close();
 * ```
 */
export async function serve(root: string, port: number, options: { isolated?: boolean } = {}): Promise<Served> {
  const base = normalize(root + sep);
  const server = createServer((req, res) => {
    let path: string;
    try {
      path = normalize(join(base, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
    } catch {
      return void res.writeHead(400).end();
    }
    if (!path.startsWith(base) && path + sep !== base) return void res.writeHead(403).end();
    if (existsSync(path) && statSync(path).isDirectory()) {
      if (!(req.url ?? '').split('?')[0]!.endsWith('/')) return void res.writeHead(301, { location: `${req.url}/` }).end();
      path = join(path, 'index.html');
    }
    let body: Buffer;
    try {
      body = readFileSync(path);
    } catch {
      return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
    const type = TYPES[extname(path)] ?? 'application/octet-stream';
    const headers: Record<string, string | number> = { 'content-type': type, 'cache-control': 'no-cache' };
    if (options.isolated) {
      // Cross-origin isolation: what a page needs for SharedArrayBuffer (the threaded arena).
      headers['cross-origin-opener-policy'] = 'same-origin';
      headers['cross-origin-embedder-policy'] = 'require-corp';
    }
    if (/^text\/|json|svg|wasm/.test(type) && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
      body = gzipSync(body);
      headers['content-encoding'] = 'gzip';
      headers['vary'] = 'accept-encoding';
    }
    headers['content-length'] = body.length;
    res.writeHead(200, headers).end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  return {
    server,
    origin: `http://127.0.0.1:${actual}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const wanted = Number(process.argv[2] ?? 8321);
  const root = repositoryRoot();
  for (const need of ['dist/optimizer.js', 'docs/playground/playground.js'])
    if (!existsSync(join(root, need))) throw new Error(`playground: ${need} is missing; run \`npm run playground\`, which builds it`);
  let served: Served;
  try {
    served = await serve(root, wanted);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    served = await serve(root, 0);
  }
  console.log(`rmsprop playground: ${served.origin}/docs/playground/  (Ctrl-C stops it)`);
}
