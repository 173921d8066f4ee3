// The test suite's stand-in for a device's maxStorageBufferBindingSize: SwiftShader takes minutes a
// step over a real binding's worth of elements, so the tests of parameters bound in parts lower
// it. Not part of any entry point.

/**
 * The binding size `GPURMSProp` plans with instead of the device's, in bytes; `undefined` in use.
 *
 * @internal
 */
export let bindingLimit: number | undefined;

/** Sets {@link bindingLimit} (tests only). @internal */
export function setBindingLimit(bytes: number | undefined): void {
  bindingLimit = bytes;
}
