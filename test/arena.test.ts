import { describe, expect, it } from 'vitest';
import { createArena, isArena } from '../src/arena.js';

describe('createArena', () => {
  it('hands out zeroed, 16-byte aligned, non-overlapping views until it is full', () => {
    const arena = createArena(10);
    const a = arena.alloc(3);
    const b = arena.alloc(5);
    expect(a.byteOffset % 16).toBe(0);
    expect(b.byteOffset % 16).toBe(0);
    expect(b.byteOffset).toBeGreaterThanOrEqual(a.byteOffset + 16);
    expect(Array.from(b)).toEqual([0, 0, 0, 0, 0]);
    expect(arena.used).toBe(12);
    expect(arena.owns(a)).toBe(true);
    expect(arena.owns(new Float32Array(3))).toBe(false);
    expect(() => arena.alloc(1)).toThrow(
      new RangeError('Arena.alloc: the arena is full: 1 values asked for, 0 free of 10; create a larger arena'),
    );
    expect(arena.alloc(0).length).toBe(0);
  });

  it('never grows, so views stay attached', () => {
    const arena = createArena(1 << 16);
    const view = arena.alloc(1 << 16);
    expect(() => arena.alloc(4)).toThrow(RangeError);
    view[0] = 1;
    expect(view[0]).toBe(1);
    expect(view.buffer.byteLength).toBeGreaterThan(0);
  });

  it.each([[0], [-1], [1.5], [NaN], [2 ** 28 + 1], ['8']])('rejects a capacity of %o', (capacity) => {
    expect(() => createArena(capacity as number)).toThrow(RangeError);
    expect(() => createArena(capacity as number)).toThrow('createArena: invalid capacity: expected a whole number from 1 to 2^28 (float32 values), got ');
  });

  it('rejects a bad length', () => {
    expect(() => createArena(8).alloc(-1)).toThrow(new RangeError('Arena.alloc: invalid length: expected a whole number >= 0, got -1'));
  });

  it('is recognised only when made by createArena', () => {
    expect(isArena(createArena(4))).toBe(true);
    expect(isArena({ memory: {}, alloc: () => new Float32Array(1) })).toBe(false);
  });
});
