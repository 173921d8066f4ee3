/**
 * Formats a value for an error message: numbers as written (`-0`, `NaN`, `Infinity`), strings
 * quoted, objects by their kind.
 *
 * @internal
 */
export function describe(value: unknown): string {
  const type = typeof value;
  if (type === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (type === 'string') return `string ${JSON.stringify(value)}`;
  if (type === 'bigint') return `bigint ${String(value)}n`;
  if (type === 'symbol' || type === 'function') return `a ${type}`;
  if (type !== 'object' || value === null) return String(value); // boolean, undefined, null
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) {
    const name = value.constructor.name;
    const length = 'length' in value ? `of length ${String(value.length)}` : `of ${value.byteLength} bytes`;
    return `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name} ${length}`;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  const name = proto === Object.prototype || proto === null ? '' : (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' ? `an instance of ${name}` : 'an object';
}
