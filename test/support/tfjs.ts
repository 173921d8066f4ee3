// TFJS 4.22 (tfjs-core + the cpu backend) as a live reference: runs tf.train.rmsprop on the
// given initial values and gradients and returns the parameters after every step.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

let ready: Promise<boolean> | null = null;
let unique = 0;

export interface TfjsRun {
  readonly lr: number;
  readonly decay: number;
  readonly momentum: number;
  readonly epsilon?: number;
  readonly centered?: boolean;
}

export async function tfjsRmsprop(
  run: TfjsRun,
  init: readonly (readonly number[])[],
  grads: readonly (readonly (readonly number[])[])[],
): Promise<number[][][]> {
  ready ??= tf.setBackend('cpu');
  await ready;
  const names = init.map(() => `rmsprop-test-${unique++}`);
  const vars = init.map((v, i) => tf.variable(tf.tensor1d([...v], 'float32'), true, names[i]));
  const opt = tf.train.rmsprop(run.lr, run.decay, run.momentum, run.epsilon, run.centered ?? false);
  const trajectory: number[][][] = [];
  for (const step of grads) {
    tf.tidy(() => {
      const map: Record<string, tf.Tensor> = {};
      step.forEach((g, i) => (map[names[i]!] = tf.tensor1d([...g], 'float32')));
      opt.applyGradients(map);
    });
    trajectory.push(vars.map((v) => Array.from(v.dataSync())));
  }
  opt.dispose();
  vars.forEach((v) => v.dispose());
  return trajectory;
}
