// `colony logs --follow`: the lines an attempt wrote after the last live poll, from what it kept.
import { describe, expect, it } from 'vitest';
import type { TaskLogs } from '../../../shared/api.js';
import { unseenLines } from '../../../electron/cli/job-commands.js';

const ended = (streams: TaskLogs['streams']): TaskLogs => ({
  attempt: 1,
  attemptId: '1-1',
  state: 'succeeded',
  contributorId: 'c',
  live: false,
  lines: [],
  next: 0,
  streams,
});

describe('unseenLines', () => {
  it('gives the lines after those already seen, from the one stream that wrote', () => {
    expect(unseenLines(ended({ log: { text: 'a\nb\nc\nd\n', dropped: 0 } }), 2)).toEqual([
      'c',
      'd',
    ]);
    expect(unseenLines(ended({ stdout: { text: 'a\nb', dropped: 0 } }), 0)).toEqual(['a', 'b']);
    expect(unseenLines(ended({ stdout: { text: 'a\n', dropped: 0 } }), 5)).toEqual([]);
  });

  it('gives none when it cannot line them up: two streams, or a tail that dropped bytes', () => {
    const two = ended({ stdout: { text: 'a\n', dropped: 0 }, log: { text: 'b\n', dropped: 0 } });
    expect(unseenLines(two, 0)).toEqual([]);
    expect(unseenLines(ended({ log: { text: 'z\n', dropped: 10 } }), 0)).toEqual([]);
  });
});
