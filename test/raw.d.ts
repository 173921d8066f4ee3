// Vite's `?raw` imports: a file's text, in Node and in the browser runs alike.
declare module '*?raw' {
  const text: string;
  export default text;
}
