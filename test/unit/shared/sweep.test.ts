import { describe, expect, it } from 'vitest';
import { axisLength, sweepCount, sweepInput } from '../../../shared/sweep.js';

describe('sweep extraction', () => {
  it('counts the cartesian product and walks it like nested loops in file order', () => {
    const sweep = { a: [1, 2], b: { range: [0, 3] as [number, number] }, c: ['x'] };
    expect(sweepCount(sweep)).toBe(6);
    expect([...Array(6).keys()].map((i) => sweepInput(sweep, i))).toEqual([
      { a: 1, b: 0, c: 'x' },
      { a: 1, b: 1, c: 'x' },
      { a: 1, b: 2, c: 'x' },
      { a: 2, b: 0, c: 'x' },
      { a: 2, b: 1, c: 'x' },
      { a: 2, b: 2, c: 'x' },
    ]);
  });

  it('handles steps, negative steps and fractional steps without float noise', () => {
    expect(axisLength({ range: [0, 1_000_000, 10_000] })).toBe(100);
    expect(axisLength({ range: [10, 0, -3] })).toBe(4);
    expect(axisLength({ range: [0, 1, 0.1] })).toBe(10);
    expect(sweepInput({ t: { range: [0, 1, 0.1] } }, 3)).toEqual({ t: 0.3 });
  });

  it('finds the input of task 999,999 of a million without materialising the rest', () => {
    const sweep = { from: { range: [0, 1_000_000] as [number, number] } };
    expect(sweepCount(sweep)).toBe(1_000_000);
    expect(sweepInput(sweep, 999_999)).toEqual({ from: 999_999 });
  });
});
