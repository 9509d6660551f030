// Promise: kill -9 of a contributor mid-job costs only its running attempts; every task finishes once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobSummary, TaskRow } from '../../shared/api.js';
import { Cluster } from './helpers/cluster.js';
import { busyJob } from './helpers/jobs.js';

describe('kill -9 of a contributor mid-job', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.create();
    await cluster.startCoordinator();
  });
  afterAll(() => cluster.stop());

  it('re-assigns its attempts and records every result exactly once', async () => {
    const victim = await cluster.startContributor('victim', 2);
    await cluster.startContributor('survivor', 2);
    const client = await cluster.client();
    const jobFile = await cluster.writeJob('busy', busyJob('busy', 200, 30));
    const submit = await cluster.cli(['submit', jobFile, '--data', cluster.dataDir]);
    expect(submit.code, submit.stderr).toBe(0);
    const id = submit.stdout.trim();

    // Wait until the victim is running something, then kill it without warning.
    for (let i = 0; i < 200; i++) {
      const job = await client.json<JobSummary>('GET', `/jobs/${id}`);
      if (job.counts.succeeded >= 40) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await cluster.kill(victim);

    const job = await cluster.waitJob(id);
    expect(job.state).toBe('succeeded');
    const results = await cluster.results(id);
    expect(results.map((r) => r.task)).toEqual([...Array(200).keys()]);
    for (const r of results) expect(r.output).toEqual({ double: (r.input as { x: number }).x * 2 });

    const { tasks } = await client.json<{ tasks: TaskRow[] }>(
      'GET',
      `/jobs/${id}/tasks?limit=1000`,
    );
    for (const t of tasks)
      expect(t.attempts.filter((a) => a.state === 'succeeded')).toHaveLength(1);
    const lost = tasks.flatMap((t) => t.attempts).filter((a) => a.state === 'lost');
    // It held at most its two slots' attempts and one prefetched; those were lost (lease
    // expired) and run again.
    expect(lost.length).toBeGreaterThan(0);
    expect(lost.length).toBeLessThanOrEqual(3);
    for (const a of lost) expect(a.error).toMatch(/contributor lost|no longer runs/);
  });
});
