// Typed arrays made in another realm (a vm context in Node, an iframe in a browser): real typed
// arrays that fail `instanceof` here.

interface Frame {
  readonly contentWindow: Readonly<Record<string, unknown>> | null;
  remove(): void;
}
interface Doc {
  readonly body: { appendChild(node: Frame): unknown };
  createElement(tag: 'iframe'): Frame;
}

type Name = 'Float32Array' | 'Float64Array';

/** A typed array of `values` made by another realm's `Float32Array` or `Float64Array`. */
export async function foreignArray(name: Name, values: readonly number[]): Promise<Float32Array> {
  const doc = (globalThis as { document?: Doc }).document;
  if (doc === undefined) {
    const vm = (await import(/* @vite-ignore */ 'node:vm')) as typeof import('node:vm');
    return vm.runInNewContext(`${name}.from(${JSON.stringify(values)})`) as Float32Array;
  }
  const iframe = doc.createElement('iframe');
  doc.body.appendChild(iframe);
  const T = iframe.contentWindow![name] as Float32ArrayConstructor;
  const array = T.from(values);
  iframe.remove();
  return array;
}

/** A view whose buffer has been transferred away (detached): length and byteLength 0. */
export function detached<T extends ArrayBufferView>(view: T): T {
  structuredClone(view.buffer, { transfer: [view.buffer as ArrayBuffer] });
  return view;
}

/** A revoked Proxy of `target`: any inspection of it throws. */
export function revoked<T extends object>(target: T): T {
  const { proxy, revoke } = Proxy.revocable(target, {});
  revoke();
  return proxy;
}

/** `bytes` copied into another realm's `Uint8Array` (whose buffer is that realm's `ArrayBuffer`). */
export async function foreignBytes(bytes: Uint8Array): Promise<Uint8Array> {
  const doc = (globalThis as { document?: Doc }).document;
  if (doc === undefined) {
    const vm = (await import(/* @vite-ignore */ 'node:vm')) as typeof import('node:vm');
    const make = vm.runInNewContext('(n) => new Uint8Array(n)') as (n: number) => Uint8Array;
    const out = make(bytes.length);
    out.set(bytes);
    return out;
  }
  const iframe = doc.createElement('iframe');
  doc.body.appendChild(iframe);
  const out = new (iframe.contentWindow!['Uint8Array'] as Uint8ArrayConstructor)(bytes.length);
  out.set(bytes);
  iframe.remove();
  return out;
}
