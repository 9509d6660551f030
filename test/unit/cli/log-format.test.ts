// Terminal log lines: pino records as a person reads them.
import { describe, expect, it } from 'vitest';
import { formatRecord } from '../../../electron/cli/log-format.js';

describe('formatRecord', () => {
  it('prints time, level, message and fields, without pid or hostname', () => {
    const time = new Date(2026, 0, 2, 12, 3, 4).getTime();
    const line = JSON.stringify({
      level: 40,
      time,
      pid: 1,
      hostname: 'h',
      msg: 'could not upload',
      attemptId: '1-2',
      err: { type: 'Error', message: 'socket hang up', stack: 'Error: ...\n at x' },
      note: 'two words',
    });
    expect(formatRecord(line)).toBe(
      '12:03:04 WARN  could not upload attemptId=1-2 err="socket hang up" note="two words"',
    );
  });

  it('passes anything that is not a record through', () => {
    expect(formatRecord('plain text')).toBe('plain text');
  });
});
