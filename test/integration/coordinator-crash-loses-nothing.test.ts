// Promise: kill -9 of the coordinator loses no acknowledged job or result; a restart carries on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobSummary, TaskRow } from '../../shared/api.js';
import { Cluster } from './helpers/cluster.js';
import { busyJob } from './helpers/jobs.js';

describe('kill -9 of the coordinator mid-job, then restart on the same data directory', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.create();
    await cluster.startCoordinator();
    await cluster.startContributor('alice', 2);
    await cluster.startContributor('bob', 2);
  });
  afterAll(() => cluster.stop());

  it('keeps every acknowledged job and result, duplicates nothing, and completes the job', async () => {
    const client = await cluster.client();
    const jobFile = await cluster.writeJob('busy', busyJob('busy', 300, 20));
    const acknowledged: string[] = [];
    for (let i = 0; i < 3; i++) {
      const submit = await cluster.cli(['submit', jobFile, '--data', cluster.dataDir]);
      expect(submit.code, submit.stderr).toBe(0);
      acknowledged.push(submit.stdout.trim());
    }
    // Let results flow, note what was acknowledged as done, then pull the plug.
    let before: JobSummary[] = [];
    for (let i = 0; i < 200; i++) {
      before = await client.json<JobSummary[]>('GET', '/jobs');
      if (before.reduce((n, j) => n + j.counts.succeeded, 0) >= 150) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await cluster.kill(cluster.coordinator!);
    await cluster.startCoordinator();

    const after = await (await cluster.client()).json<JobSummary[]>('GET', '/jobs');
    expect(after.map((j) => j.id).sort()).toEqual([...acknowledged].sort());
    for (const j of before) {
      const now = after.find((a) => a.id === j.id);
      expect(now!.counts.succeeded).toBeGreaterThanOrEqual(j.counts.succeeded);
    }

    const fresh = await cluster.client();
    for (const id of acknowledged) {
      const job = await cluster.waitJob(id);
      expect(job.state).toBe('succeeded');
      const results = await cluster.results(id);
      expect(results.map((r) => r.task)).toEqual([...Array(300).keys()]);
      for (const r of results)
        expect(r.output).toEqual({ double: (r.input as { x: number }).x * 2 });
      const { tasks } = await fresh.json<{ tasks: TaskRow[] }>(
        'GET',
        `/jobs/${id}/tasks?limit=1000`,
      );
      for (const t of tasks)
        expect(t.attempts.filter((a) => a.state === 'succeeded')).toHaveLength(1);
    }
  });
});
