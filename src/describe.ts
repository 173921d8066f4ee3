/**
 * Formats a value for an error message: numbers as written (`-0`, `NaN`, `Infinity`), strings
 * quoted, objects by their kind.
 *
 * @internal
 */
export function describe(value: unknown): string {
  switch (typeof value) {
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'string':
      return `string ${JSON.stringify(value)}`;
    case 'bigint':
      return `bigint ${value}n`;
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
    default:
      break;
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) {
    const name = value.constructor.name;
    const length = 'length' in value ? `of length ${String(value.length)}` : `of ${value.byteLength} bytes`;
    return `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name} ${length}`;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) return 'an object';
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' ? `an instance of ${name}` : 'an object';
}
