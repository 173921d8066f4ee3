/**
 * The playground's 2-D objectives: each a loss `f(x, y)`, its gradient, its minimum value, the
 * region the page shows, and a start and learning rates at which every optimizer's path is worth
 * watching (the page starts there; every value can be changed).
 *
 * @module
 */

/** Learning rates the page starts with for each family of optimizer. */
export interface StartingRates {
  readonly rmsprop: number;
  readonly adam: number;
  readonly sgd: number;
}

/**
 * One objective of the page.
 *
 * @example
 * ```ts
 * const q = objectives.find((o) => o.id === 'rosenbrock')!;
 * q.f(1, 1); // 0, its minimum
 * ```
 */
export interface Objective {
  /** Stable id, used in the page's select and URL. */
  readonly id: string;
  /** Name shown to the reader. */
  readonly name: string;
  /** The formula, as text. */
  readonly formula: string;
  /** One sentence on what it shows. */
  readonly note: string;
  /** The loss, evaluated in float64. */
  readonly f: (x: number, y: number) => number;
  /** Writes `[df/dx, df/dy]` at `(x, y)` into `out`. */
  readonly grad: (x: number, y: number, out: Float32Array | Float64Array) => void;
  /** The smallest value of `f` (the loss plot shows `f - fMin`). */
  readonly fMin: number;
  /** Where `f` takes the value `fMin`, marked on the map. */
  readonly minima: readonly (readonly [number, number])[];
  /** The region drawn: `[xMin, xMax, yMin, yMax]`. */
  readonly view: readonly [number, number, number, number];
  /** Where a run starts until the reader clicks elsewhere. */
  readonly start: readonly [number, number];
  /** Learning rates the page starts with. */
  readonly lr: StartingRates;
}

const S = Math.SQRT1_2;

/**
 * The objectives, in the order of the page's select.
 *
 * @example
 * ```ts
 * for (const o of objectives) console.log(o.name, o.f(...o.start) - o.fMin);
 * ```
 */
export const objectives: readonly Objective[] = [
  {
    id: 'quadratic',
    name: 'Ill-conditioned quadratic (axis-aligned)',
    formula: 'f = (x² / 10 + 10 y²) / 2',
    note: 'Curvatures 0.1 along x and 10 along y. SGD\u2019s step along y is 100 |y / x| times its step along x: it zig-zags across the valley, then crawls along it. RMSProp scales each coordinate by its own gradients: its first step is as long along x as along y.',
    f: (x, y) => (x * x / 10 + 10 * y * y) / 2,
    grad: (x, y, out) => {
      out[0] = x / 10;
      out[1] = 10 * y;
    },
    fMin: 0,
    minima: [[0, 0]],
    view: [-6, 6, -3, 3],
    start: [-5, 2],
    lr: { rmsprop: 0.02, adam: 0.05, sgd: 0.18 },
  },
  {
    id: 'rotated',
    name: 'Ill-conditioned quadratic (rotated 45°)',
    formula: 'f = (u² / 10 + 10 v²) / 2,  u = (x + y)/√2,  v = (x − y)/√2',
    note: 'The same valley turned 45°: the steep direction mixes both coordinates, so per-coordinate scaling no longer fits it, and RMSProp loses most of its advantage.',
    f: (x, y) => {
      const u = (x + y) * S, v = (x - y) * S;
      return (u * u / 10 + 10 * v * v) / 2;
    },
    grad: (x, y, out) => {
      const u = (x + y) * S, v = (x - y) * S;
      const du = u / 10, dv = 10 * v;
      out[0] = (du + dv) * S;
      out[1] = (du - dv) * S;
    },
    fMin: 0,
    minima: [[0, 0]],
    view: [-5, 5, -5, 5],
    start: [-4, -2],
    lr: { rmsprop: 0.02, adam: 0.05, sgd: 0.18 },
  },
  {
    id: 'rosenbrock',
    name: 'Rosenbrock',
    formula: 'f = (1 − x)² + 100 (y − x²)²',
    note: 'A curved, flat-bottomed valley to the minimum at (1, 1): getting into the valley is easy, following it is not.',
    f: (x, y) => (1 - x) ** 2 + 100 * (y - x * x) ** 2,
    grad: (x, y, out) => {
      const r = y - x * x;
      out[0] = -2 * (1 - x) - 400 * x * r;
      out[1] = 200 * r;
    },
    fMin: 0,
    minima: [[1, 1]],
    view: [-2, 2, -1, 3],
    start: [-1.5, 2.5],
    lr: { rmsprop: 0.01, adam: 0.05, sgd: 0.001 },
  },
  {
    id: 'saddle',
    name: 'Saddle',
    formula: 'f = x² / 2 − y² / 2 + y⁴ / 4',
    note: 'A saddle at the origin between two minima at (0, ±1). Started near y = 0 the gradient along y is tiny: SGD waits there; RMSProp divides by the small gradient and leaves at once.',
    f: (x, y) => x * x / 2 - y * y / 2 + y ** 4 / 4,
    grad: (x, y, out) => {
      out[0] = x;
      out[1] = -y + y * y * y;
    },
    fMin: -0.25,
    minima: [[0, 1], [0, -1]],
    view: [-2.5, 2.5, -2, 2],
    start: [-2, 0.001],
    lr: { rmsprop: 0.01, adam: 0.02, sgd: 0.05 },
  },
  {
    id: 'beale',
    name: 'Beale',
    formula: 'f = (1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²',
    note: 'Non-convex, with gradients from 0 to 10⁵ across the square; the minimum is at (3, 0.5). Gradient size alone is a poor guide to step size here.',
    f: (x, y) => (1.5 - x + x * y) ** 2 + (2.25 - x + x * y * y) ** 2 + (2.625 - x + x * y * y * y) ** 2,
    grad: (x, y, out) => {
      const y2 = y * y, y3 = y2 * y;
      const a = 1.5 - x + x * y, b = 2.25 - x + x * y2, c = 2.625 - x + x * y3;
      out[0] = 2 * a * (y - 1) + 2 * b * (y2 - 1) + 2 * c * (y3 - 1);
      out[1] = 2 * a * x + 4 * b * x * y + 6 * c * x * y2;
    },
    fMin: 0,
    minima: [[3, 0.5]],
    view: [-4.5, 4.5, -4.5, 4.5],
    start: [1, 1.5],
    lr: { rmsprop: 0.01, adam: 0.05, sgd: 0.001 },
  },
  {
    id: 'himmelblau',
    name: 'Himmelblau',
    formula: 'f = (x² + y − 11)² + (x + y² − 7)²',
    note: 'Four minima of equal depth: which one a path reaches depends on the start and on how the optimizer scales its steps.',
    f: (x, y) => (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2,
    grad: (x, y, out) => {
      const a = x * x + y - 11, b = x + y * y - 7;
      out[0] = 4 * a * x + 2 * b;
      out[1] = 2 * a + 4 * b * y;
    },
    fMin: 0,
    minima: [[3, 2], [-2.805118, 3.131312], [-3.77931, -3.283186], [3.584428, -1.848126]],
    view: [-5, 5, -5, 5],
    start: [0, 0],
    lr: { rmsprop: 0.02, adam: 0.05, sgd: 0.005 },
  },
];
