import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  JSON_LIMITS,
  JsonLimitError,
  checkJson,
  readJson,
  type JsonLimits,
} from '../../../shared/bounded-json.js';

const small: JsonLimits = {
  maxBytes: 10_000,
  maxDepth: 4,
  maxKeys: 3,
  maxItems: 5,
  maxStringLength: 10,
};
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('the bounded JSON reader', () => {
  it('reads what JSON.parse reads, when it is within the limits', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
        const text = JSON.stringify(v);
        expect(readJson(text, JSON_LIMITS.body, 'body')).toEqual(JSON.parse(text));
        expect(checkJson(v, JSON_LIMITS.output, 'result')).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('refuses nesting past maxDepth, naming where, without recursion (100,000 deep)', () => {
    expect(readJson(nested(4), small, 'body')).toEqual([[[[]]]]);
    expect(() => readJson(nested(5), small, 'body')).toThrow(
      'body too deep: [0][0][0][0]: nested more than 4 levels',
    );
    expect(() => readJson(`{"a":{"b":[1,{"c":[[]]}]}}`, small, 'body')).toThrow(
      /body too deep: a\.b\[1\]\.c: nested more than 4 levels/,
    );
    for (const depth of [2_000, 100_000]) {
      expect(() => readJson(nested(depth), JSON_LIMITS.body, 'body')).toThrow(JsonLimitError);
      let v: unknown = [];
      for (let i = 1; i < depth; i++) v = [v];
      const err = checkJson(v, JSON_LIMITS.output, 'result', 'output');
      expect(err?.message).toMatch(
        /^result too deep: output\[0\]\[0\].*nested more than 128 levels$/,
      );
    }
  });

  it('refuses too many keys or items, too long strings and too many bytes', () => {
    expect(() => readJson('[1,2,3,4,5,6]', small, 'x')).toThrow(/x too many items/);
    expect(() => readJson('{"a":1,"b":2,"c":3,"d":4}', small, 'x')).toThrow(/x too many keys/);
    expect(() => readJson('["01234567890"]', small, 'x')).toThrow(/x string too long: \[0\]/);
    expect(() => readJson('"x"'.padEnd(20_000, ' '), small, 'x')).toThrow(/x too large/);
    expect(checkJson([1, 2, 3, 4, 5, 6], small, 'x')?.problem).toBe('too many items');
    expect(checkJson({ a: 'x'.repeat(11) }, small, 'x')?.field).toBe('a');
    // Brackets and commas inside strings are text, not structure.
    expect(readJson('["[[[[[,,,,,\\"]]]"]', { ...small, maxStringLength: 20 }, 'x')).toEqual([
      '[[[[[,,,,,"]]]',
    ]);
  });

  it('refuses prototype-poisoning keys when asked, also when escaped', () => {
    const opts = { refuseProtoKeys: true };
    expect(() => readJson('{"a":{"__proto__":1}}', JSON_LIMITS.body, 'body', opts)).toThrow(
      /a\.__proto__/,
    );
    expect(() => readJson('{"\\u005f_proto__":1}', JSON_LIMITS.body, 'body', opts)).toThrow(
      /__proto__/,
    );
    expect(() =>
      readJson('{"constructor":{"prototype":{}}}', JSON_LIMITS.body, 'body', opts),
    ).toThrow(/constructor\.prototype/);
    expect(readJson('{"prototype":1}', JSON_LIMITS.body, 'body', opts)).toEqual({ prototype: 1 });
  });

  it('says "not JSON" for text that is not', () => {
    expect(() => readJson('{"a": ', JSON_LIMITS.body, 'body')).toThrow(/^body is not JSON: /);
  });
});
