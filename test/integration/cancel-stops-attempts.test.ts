// Promise: cancel terminates running attempts on every contributor within 1 s.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobSummary } from '../../shared/api.js';
import { Cluster, type Proc } from './helpers/cluster.js';
import { childPids, running } from './helpers/procs.js';

describe('cancel', () => {
  let cluster: Cluster;
  let machines: Proc[];
  beforeAll(async () => {
    cluster = await Cluster.create();
    await cluster.startCoordinator();
    machines = [
      await cluster.startContributor('alice', 2),
      await cluster.startContributor('bob', 2),
    ];
  });
  afterAll(() => cluster.stop());

  it('kills the worker processes running its attempts on all contributors within a second', async () => {
    const client = await cluster.client();
    // Tasks that spin forever and ignore ctx.signal: only killing the process stops them.
    const jobFile = await cluster.writeJob('forever', {
      'job.yaml':
        'name: forever\nruntime: node\nmodule: ./spin.mjs\ntasks:\n  sweep:\n    x: { range: [0, 50] }\n',
      'spin.mjs': 'export default async () => { for (;;) { /* never yields */ } };\n',
    });
    const submit = await cluster.cli(['submit', jobFile, '--data', cluster.dataDir]);
    expect(submit.code, submit.stderr).toBe(0);
    const id = submit.stdout.trim();

    let job: JobSummary | undefined;
    for (let i = 0; i < 200; i++) {
      job = await client.json<JobSummary>('GET', `/jobs/${id}`);
      if (job.counts.running >= 4) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(job?.counts.running).toBe(4);
    const busyWorkers = machines.flatMap((m) => childPids(m.pid));
    expect(busyWorkers.length).toBeGreaterThanOrEqual(4);

    const cancel = await cluster.cli(['cancel', id, '--data', cluster.dataDir]);
    const cancelledAt = Date.now();
    expect(cancel.code, cancel.stderr).toBe(0);
    while (busyWorkers.some(running) && Date.now() - cancelledAt < 5_000)
      await new Promise((r) => setTimeout(r, 20));
    const stoppedWithinMs = Date.now() - cancelledAt;
    expect(busyWorkers.filter(running)).toEqual([]);
    expect(stoppedWithinMs).toBeLessThan(1_000);

    job = await client.json<JobSummary>('GET', `/jobs/${id}`);
    expect(job.state).toBe('cancelled');
    expect(job.counts).toMatchObject({ running: 0, succeeded: 0, cancelled: 50 });
    // The contributors are free again: a new job runs to completion.
    const quick = await cluster.writeJob('quick', {
      'job.yaml':
        'name: quick\nruntime: node\nmodule: ./q.mjs\ntasks:\n  inputs: [1, 2, 3, 4, 5]\n',
      'q.mjs': 'export default async (n) => n + 1;\n',
    });
    const again = await cluster.cli([
      'submit',
      quick,
      '--wait',
      '--json',
      '--data',
      cluster.dataDir,
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as JobSummary).counts.succeeded).toBe(5);
  });
});
