// Everything an optimizer holds, bit for bit: what "a call that throws has changed nothing" is
// checked against (an untouched twin's snapshot, or the one taken before the call).
import type { FloatArray, RMSProp } from '../../src/index.js';

/** A buffer's bytes (so NaN payloads and -0 compare exactly), or null. */
export const bytes = (a: FloatArray | null): number[] | null => (a === null ? null : Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)));

/** The policy, skipped steps, every group's options and every parameter's data and state. */
export function snapshot(opt: RMSProp): unknown {
  return {
    nonFinite: opt.nonFinite,
    skipped: opt.skippedSteps,
    groups: opt.paramGroups.map((g) => ({
      ...g,
      lr: Object.is(g.lr, -0) ? '-0' : g.lr,
      params: g.params.map((p) => {
        const s = opt.getState(p)!;
        return [bytes(p.data), bytes(s.squareAvg), bytes(s.gradAvg), bytes(s.momentumBuffer), s.step];
      }),
    })),
  };
}
