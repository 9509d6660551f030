// The end-of-output mark: found wherever the pipe cuts it, never taken from the task's own text.
import { describe, expect, it } from 'vitest';
import { EndMarkReader, endMark } from '../../../../electron/grid/worker/output-end.js';

function read(chunks: string[]): { text: string; marks: string[] } {
  let text = '';
  const marks: string[] = [];
  const reader = new EndMarkReader(
    (t) => (text += t),
    (id) => marks.push(id),
  );
  for (const c of chunks) reader.push(c);
  reader.flush();
  return { text, marks };
}

describe('end-of-output mark', () => {
  const output = 'line 1\nno newline at the end';
  const stream = `${output}${endMark('job.3.1')}next task\n${endMark('job.4.1')}`;

  it('is found however the stream is cut, and the text around it is kept as written', () => {
    for (let cut = 0; cut <= stream.length; cut++)
      for (const second of [cut, Math.min(stream.length, cut + 7)]) {
        const parts = [stream.slice(0, cut), stream.slice(cut, second), stream.slice(second)];
        expect(read(parts), `cut at ${cut}/${second}`).toEqual({
          text: `${output}next task\n`,
          marks: ['job.3.1', 'job.4.1'],
        });
      }
  });

  it("leaves the task's own separators and look-alikes in its text", () => {
    const own = [
      'a\u001eb\n',
      '\u001ecolony-end\n',
      '\u001ecolony-end x\n', // no closing separator
      `\u001ecolony-end ${'y'.repeat(300)}\u001e\n`, // too long to be an attempt id
      '\u001e',
    ];
    for (const t of own) expect(read([t])).toEqual({ text: t, marks: [] });
    expect(read(['x\u001eco', 'lony-end z\u001e\ny'])).toEqual({ text: 'xy', marks: ['z'] });
  });
});
