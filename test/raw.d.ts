// Vite's `?raw` imports: a file's text, in Node and in the browser runs alike.
declare module '*?raw' {
  const text: string;
  export default text;
}

// Vite's `import.meta.glob`, as test/structure.test.ts uses it: every matched file's text.
interface ImportMeta {
  glob<T>(pattern: string, options: { query: '?raw'; import: 'default'; eager: true }): Record<string, T>;
}
