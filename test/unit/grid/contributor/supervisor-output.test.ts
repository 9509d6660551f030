// A node attempt's output as written: every stdout, stderr and ctx.log line up to its result.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeRequest, startHarness, type Harness } from '../worker/harness.js';

describe('Supervisor (node runtime) output', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ slots: 1 });
  });
  afterAll(() => h.cleanup());

  it('hands every line written before the result to onOutput, in its stream', async () => {
    for (let round = 0; round < 5; round++) {
      const got = { stdout: '', stderr: '', log: '' };
      const outcome = await h.supervisor.run(
        nodeRequest(h, `chatty-${round}`, 'chatty', { lines: 300 }),
        { onOutput: (stream, data) => (got[stream] += data.toString()) },
      );
      expect(outcome.state).toBe('succeeded');
      const expected = (p: string, sep = '\n') =>
        Array.from({ length: 300 }, (_, i) => `${p} ${i}`).join(sep) + sep;
      expect(got.stdout).toBe(expected('out'));
      expect(got.stderr).toBe(expected('err'));
      expect(got.log).toBe(Array.from({ length: 300 }, (_, i) => `log ${i}`).join(''));
    }
  });
});
