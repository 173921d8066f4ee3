// How a trajectory is compared with a reference trajectory.

/** Parameters after each step: trajectory[step][param][element]. */
export type Trajectory = readonly (readonly ArrayLike<number>[])[];

/**
 * The worst error of `actual` against `expected` over a whole run: for each parameter, the largest
 * absolute difference at any step, divided by the largest magnitude that parameter reaches in
 * the reference run. A plain relative error means nothing for an element that crosses zero (it
 * carries the rounding error of the larger values it came from), and a one-element parameter has
 * no neighbours to take a scale from; its own run does. Subnormal scales count as the smallest
 * normal number of the type, since subnormals carry fewer significant bits.
 */
export function trajectoryError(actual: Trajectory, expected: Trajectory, dtype: 'float32' | 'float64'): number {
  if (actual.length !== expected.length) return Infinity;
  const floor = dtype === 'float64' ? 2 ** -1022 : 2 ** -126;
  let worst = 0;
  const params = expected[0]?.length ?? 0;
  for (let i = 0; i < params; i++) {
    let scale = floor;
    let diff = 0;
    for (let t = 0; t < expected.length; t++) {
      const e = expected[t]![i]!;
      const a = actual[t]![i]!;
      if (a.length !== e.length) return Infinity;
      for (let j = 0; j < e.length; j++) {
        scale = Math.max(scale, Math.abs(e[j]!));
        const d = Math.abs(a[j]! - e[j]!);
        diff = d > diff || Number.isNaN(d) ? d : diff;
      }
    }
    const err = diff / scale;
    worst = err > worst || Number.isNaN(err) ? err : worst;
  }
  return worst;
}
