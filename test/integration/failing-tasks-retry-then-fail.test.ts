// Promise: a worker that crashes or hangs past its timeout costs one attempt; retried, then failed with the error shown.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobSummary, TaskRow } from '../../shared/api.js';
import { Cluster } from './helpers/cluster.js';

describe('tasks that crash, hang or throw', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.create();
    await cluster.startCoordinator();
    await cluster.startContributor('alice', 2);
  });
  afterAll(() => cluster.stop());

  it('retries each up to maxAttempts, then fails the task with its error, and fails the job', async () => {
    const jobFile = await cluster.writeJob('flaky', {
      'job.yaml': [
        'name: flaky',
        'runtime: node',
        'module: ./flaky.mjs',
        'tasks:',
        '  inputs: [{ mode: ok }, { mode: crash }, { mode: hang }, { mode: throw }]',
        'limits: { timeoutSec: 1, maxAttempts: 2 }',
        '',
      ].join('\n'),
      'flaky.mjs': [
        'export default async ({ mode }) => {',
        "  if (mode === 'crash') process.exit(3);",
        "  if (mode === 'hang') for (;;) {}",
        "  if (mode === 'throw') throw new Error('bad input row');",
        '  return { fine: true };',
        '};',
        '',
      ].join('\n'),
    });
    const submit = await cluster.cli([
      'submit',
      jobFile,
      '--wait',
      '--json',
      '--data',
      cluster.dataDir,
    ]);
    expect(submit.code).toBe(1); // docs/cli.md: 1 = job failed
    const job = JSON.parse(submit.stdout) as JobSummary;
    expect(job.state).toBe('failed');
    expect(job.counts).toMatchObject({ succeeded: 1, failed: 3 });

    const client = await cluster.client();
    const { tasks } = await client.json<{ tasks: TaskRow[] }>('GET', `/jobs/${job.id}/tasks`);
    const byMode = Object.fromEntries(tasks.map((t) => [(t.input as { mode: string }).mode, t]));
    expect(byMode.ok?.attempts).toHaveLength(1);
    for (const mode of ['crash', 'hang', 'throw']) {
      const task = byMode[mode]!;
      expect(task.state).toBe('failed');
      expect(task.attempts.map((a) => a.state)).toEqual(['failed', 'failed']);
    }
    expect(byMode.crash?.error).toMatch(/exit|code 3/i);
    expect(byMode.hang?.error).toMatch(/tim(e|ed) ?out/i);
    expect(byMode.throw?.error).toContain('bad input row');

    const results = await cluster.results(job.id);
    expect(results.find((r) => r.task === 2)?.error).toMatch(/tim(e|ed) ?out/i);
  });
});
