// Seeded pseudo-random numbers for tests: the study's generators (mulberry32 + Box-Muller), the
// same values on every run.
import { gaussian } from '../../bench/convergence/random.js';

export { gaussian, rng } from '../../bench/convergence/random.js';

/** n standard-normal values times `scale`. */
export function normals(random: () => number, n: number, scale = 1): number[] {
  const normal = gaussian(random);
  return Array.from({ length: n }, () => normal() * scale);
}
