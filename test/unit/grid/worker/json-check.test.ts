// findNonJson names the first value JSON would lose or mangle.
import { describe, expect, it } from 'vitest';
import { findNonJson } from '../../../../electron/grid/worker/json-check.js';

describe('findNonJson', () => {
  it('accepts plain JSON', () => {
    expect(findNonJson({ a: [1, 'x', null, true, { b: -0.5 }], c: undefined })).toBeUndefined();
    expect(findNonJson(Object.create(null))).toBeUndefined();
  });

  it.each([
    [undefined, 'output: a undefined'],
    [{ f: () => 1 }, 'output.f: a function'],
    [{ n: [1, Number.NaN] }, 'output.n[1]: NaN is not a JSON number'],
    [{ big: 1n }, 'output.big: a bigint'],
    [[new Date(0)], 'output[0]: a Date (only plain objects and arrays are JSON)'],
    [[1, undefined], 'output[1]: a undefined'],
  ])('names the bad part of %o', (value, message) => {
    expect(findNonJson(value)).toBe(message);
  });

  it('detects cycles but not shared references', () => {
    const shared = { x: 1 };
    expect(findNonJson({ a: shared, b: shared })).toBeUndefined();
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(findNonJson(loop)).toBe('output.self: a circular reference');
  });
});
