import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';

describe('the package root', () => {
  it('exports exactly the public API', () => {
    expect(Object.keys(api).sort()).toEqual(['RMSProp', 'createArena', 'createState', 'presets', 'rmspropDefaults', 'rmspropStep', 'zerosLike']);
  });
});
