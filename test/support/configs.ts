// The configuration table the kernel tests run: every combination of the switches that has an
// effect (nesterov and lrInMomentum only with momentum, decoupling only with weight decay).
import { rmspropDefaults } from '../../src/index.js';
import type { RMSPropHyper } from '../../src/index.js';

export function switchCombinations(skip: (h: RMSPropHyper) => boolean = () => false): RMSPropHyper[] {
  const out: RMSPropHyper[] = [];
  for (const weightDecay of [0, 0.1])
    for (const decoupledWeightDecay of weightDecay > 0 ? [false, true] : [false])
      for (const momentum of [0, 0.9])
        for (const lrInMomentum of momentum > 0 ? [false, true] : [false])
          for (const nesterov of momentum > 0 ? [false, true] : [false])
            for (const centered of [false, true])
              for (const epsInSqrt of [false, true])
                for (const biasCorrection of [false, true]) {
                  const h = { ...rmspropDefaults, weightDecay, decoupledWeightDecay, momentum, lrInMomentum, nesterov, centered, epsInSqrt, biasCorrection };
                  if (!skip(h)) out.push(h);
                }
  return out;
}

/** A test title: the options that differ from the defaults. */
export function label(h: RMSPropHyper): string {
  return (
    Object.entries(h)
      .filter(([k, v]) => v !== (rmspropDefaults as unknown as Record<string, unknown>)[k])
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(' ') || 'defaults'
  );
}
