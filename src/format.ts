/**
 * Formats a value for an error message: numbers as written (`-0`, `NaN`, `Infinity`), strings
 * quoted, objects by their kind. Never throws, whatever the value: a revoked Proxy, a throwing
 * `constructor` getter and a typed array from another realm are named as such.
 *
 * @internal
 */
export function formatValue(value: unknown): string {
  const type = typeof value;
  if (type === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (type === 'string') {
    // Cut: a hostile file's string can be megabytes, and a message is read by a person.
    const text = value as string;
    return text.length > 100 ? `string ${JSON.stringify(`${text.slice(0, 100)}…`)} (${text.length} characters)` : `string ${JSON.stringify(text)}`;
  }
  if (type === 'bigint') return `bigint ${String(value)}n`;
  if (type === 'symbol' || type === 'function') return `a ${type}`;
  if (type !== 'object' || value === null) return String(value); // boolean, undefined, null
  const object = value as object;
  if (ArrayBuffer.isView(object)) {
    // The typed array's own internal name, which its Symbol.toStringTag may hide (and which is
    // the same in any realm); a DataView has none.
    const name = (TYPED_ARRAY_NAME?.call(object) as string | undefined) ?? 'DataView';
    let size: string;
    let gone = '';
    try {
      size = 'length' in object ? `of length ${String(object.length)}` : `of ${object.byteLength} bytes`;
      object.buffer.slice(0, 0); // throws on a detached buffer
    } catch {
      size = name === 'DataView' ? 'of 0 bytes' : 'of length 0';
      gone = ' (detached)';
    }
    const realm = isForeign(object, name)
      ? ` from another realm (an iframe or vm context: it fails instanceof here; copy it with ${name}.from())`
      : '';
    return `${/^[AEIO]/.test(name) ? 'an' : 'a'} ${name} ${size}${gone}${realm}`;
  }
  try {
    if (Array.isArray(object)) return `an array of length ${(object as unknown[]).length}`;
    for (const T of [Float32Array, Float64Array]) {
      if (object instanceof T) return `an object posing as a ${T.name} (a Proxy?), not a typed array`;
    }
    const proto: unknown = Object.getPrototypeOf(object);
    if (proto === Object.prototype || proto === null) return 'an object';
    const name: unknown = (object as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' && name !== '' ? `an instance of ${name}` : 'an object';
  } catch {
    return 'an object that throws when inspected (a revoked Proxy?)';
  }
}

/** `%TypedArray%.prototype[Symbol.toStringTag]`'s getter: a typed array's internal name. */
const TYPED_ARRAY_NAME = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Int8Array.prototype) as object, Symbol.toStringTag)?.get;

/** Whether a view was made in another realm (an iframe, a worker's copy, a vm context). */
function isForeign(view: ArrayBufferView, name: string): boolean {
  const here = (globalThis as unknown as Record<string, unknown>)[name];
  return typeof here === 'function' && !(view instanceof (here as new () => object));
}
