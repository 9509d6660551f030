// The one line splitter: LF, CRLF and lone CR end a line, wherever the chunks of a file break.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../../../electron/grid/coordinator/engine/ndjson-cursor.js';

function split(text: string, cuts: number[]): { text: string; end: number }[] {
  const bytes = Buffer.from(text);
  const s = new LineSplitter();
  const out: { text: string; end: number }[] = [];
  let at = 0;
  for (const cut of [
    ...cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b),
    bytes.length,
  ]) {
    if (cut < at) continue;
    s.push(bytes.subarray(at, cut));
    at = cut;
    for (let l = s.next(false); l; l = s.next(false)) out.push({ text: l.text, end: l.end });
  }
  for (let l = s.next(true); l; l = s.next(true)) out.push({ text: l.text, end: l.end });
  return out;
}

describe('LineSplitter', () => {
  it('splits on any mix of terminators, whatever the chunk boundaries', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.string({ unit: fc.constantFrom('a', 'é', '{', '"', ' ') }),
            fc.constantFrom('\n', '\r\n', '\r'),
          ),
          {
            maxLength: 20,
          },
        ),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 8 }),
        (parts, unterminated, cuts) => {
          // A lone CR followed by an empty LF line reads as one CRLF: the same bytes.
          fc.pre(
            !parts.some(
              ([, t], i) => t === '\r' && parts[i + 1]?.[0] === '' && parts[i + 1]?.[1] !== '\r',
            ),
          );
          let text = parts.map(([l, t]) => l + t).join('');
          const expected = parts.map(([l]) => l);
          if (unterminated) {
            text += 'last';
            expected.push('last');
          }
          const got = split(text, cuts);
          expect(got.map((l) => l.text)).toEqual(expected);
          // Each line ends where the next one starts: a cursor resumes exactly there.
          if (got.length > 0) expect(got[got.length - 1]!.end).toBe(Buffer.byteLength(text));
        },
      ),
      { numRuns: 500 },
    );
  });
});
