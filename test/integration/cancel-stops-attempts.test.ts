// Promise: cancel terminates running attempts on every contributor. The tasks here never end on
// their own, so their workers being gone proves the kill; how fast (the promised second) is measured
// by `npm run bench` (§2), not asserted here, where the machine's load decides the figure.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobSummary } from '../../shared/api.js';
import { Cluster, type Proc } from './helpers/cluster.js';
import { busyWorkersOf, running } from './helpers/procs.js';

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

  it('kills the worker processes running its attempts on all contributors', async () => {
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
    // The worker processes spinning on its tasks (two per machine), not idle ones or spares.
    const busyWorkers = await busyWorkersOf(
      machines.map((m) => m.pid),
      4,
    );
    expect(busyWorkers.length).toBe(4);

    const cancel = await cluster.cli(['cancel', id, '--data', cluster.dataDir]);
    const cancelledAt = Date.now();
    expect(cancel.code, cancel.stderr).toBe(0);
    while (busyWorkers.some(running) && Date.now() - cancelledAt < 20_000)
      await new Promise((r) => setTimeout(r, 20));
    console.info(`cancel: workers gone ${Date.now() - cancelledAt} ms after the CLI returned`);
    expect(busyWorkers.filter(running)).toEqual([]);

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
