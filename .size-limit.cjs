// Size budget, checked by `npm run size` (part of npm test): minified and gzipped with esbuild.
// The WebAssembly bytes (src/wasm-module.ts) are counted on their own line, not in the library's.
const external = (config) => ({ ...config, external: [...(config.external ?? []), './wasm-module.js'] });

module.exports = [
  { name: 'the kernel alone (rmsprop/step)', path: 'dist/rmsprop-step.js', gzip: true, limit: '1 kB' },
  { name: 'the whole library, WebAssembly bytes left out', path: 'dist/index.js', gzip: true, limit: '6 kB', modifyEsbuildConfig: external },
  { name: 'the WebAssembly bytes (base64), for the record', path: 'dist/wasm-module.js', gzip: true, limit: '2 kB' },
];
