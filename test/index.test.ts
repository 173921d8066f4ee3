import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';

describe('the package root', () => {
  it('exports exactly the public API', () => {
    expect(Object.keys(api).sort()).toEqual(['MultiSteps', 'RMSProp', 'SparseRows', 'clipGradNorm', 'clipGradValue', 'cosineAnnealing', 'createArena', 'createState', 'decodeState', 'encodeState', 'exponentialDecay', 'linearWarmup', 'loadTFJSWeights', 'oneCycle', 'presets', 'rmspropDefaults', 'rmspropStep', 'stateFromJSON', 'stateToJSON', 'stepDecay', 'tfjsWeights', 'zerosLike']);
  });
});
