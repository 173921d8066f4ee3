// Seeded pseudo-random numbers for tests (mulberry32 + Box-Muller): same values on every run.
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussian(random: () => number): () => number {
  return () => {
    const u = 1 - random();
    const v = random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

/** n standard-normal values times `scale`. */
export function normals(random: () => number, n: number, scale = 1): number[] {
  const normal = gaussian(random);
  return Array.from({ length: n }, () => normal() * scale);
}
