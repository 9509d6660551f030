// Promise (docs/promises.md): kill -9 of the coordinator at any moment — submit, assignment, result commit,
// snapshot — loses no acknowledged job or result, duplicates nothing, and the job still completes.
import { watch } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContributorInfo, JobSummary } from '../../shared/api.js';
import { Cluster } from '../integration/helpers/cluster.js';
import { busyJob } from '../integration/helpers/jobs.js';
import { double, tally } from './helpers/check.js';
import { report, scale, sleep } from './helpers/scale.js';

const KILLS = scale(3, 20);
const TASKS = scale(1_000, 10_000);
const PHASES = ['submit', 'assignment', 'result', 'snapshot'] as const;
type Phase = (typeof PHASES)[number];

describe(`kill -9 of the coordinator ${KILLS} times during a ${TASKS}-task job`, () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.create();
    // Frequent snapshots, so that some kills land inside one.
    await cluster.startCoordinator(['--snapshot-every', '150']);
    await cluster.startContributor('alice', 2);
    await cluster.startContributor('bob', 2);
  });
  afterAll(() => cluster.stop());

  const jobs = async () => (await cluster.client()).json<JobSummary[]>('GET', '/jobs');
  const done = (js: JobSummary[]) => js.reduce((n, j) => n + j.counts.succeeded, 0);

  /** Waits for the moment of the phase, then kills; returns acknowledged jobs submitted meanwhile. */
  async function killDuring(phase: Phase, k: number): Promise<string[]> {
    const coordinator = cluster.coordinator!;
    const acknowledged: string[] = [];
    switch (phase) {
      case 'submit': {
        const file = await cluster.writeJob(`extra-${k}`, busyJob(`extra-${k}`, 50, 0));
        const submit = cluster.cli(['submit', file, '--data', cluster.dataDir]);
        await sleep(150 + Math.random() * 400);
        await cluster.kill(coordinator);
        const res = await submit;
        if (res.code === 0) acknowledged.push(res.stdout.trim());
        return acknowledged;
      }
      case 'assignment': {
        // Right after a restart, contributors reconnect and are handed attempts.
        const client = await cluster.client();
        for (let i = 0; i < 100; i++) {
          const cs = await client.json<ContributorInfo[]>('GET', '/contributors');
          if (cs.some((c) => c.state === 'online' && c.slotsInUse > 0)) break;
          await sleep(20);
        }
        await sleep(Math.random() * 50);
        break;
      }
      case 'result':
        await sleep(200 + Math.random() * 800);
        break;
      case 'snapshot': {
        // The temp file of a snapshot appears: kill while it is being written (or after 3 s).
        const store = join(cluster.dataDir, 'store');
        await new Promise<void>((resolve) => {
          const watcher = watch(store, (_e, name) => {
            if (name?.endsWith('.tmp')) finish();
          });
          const timer = setTimeout(finish, 3_000);
          function finish() {
            clearTimeout(timer);
            watcher.close();
            resolve();
          }
        });
        break;
      }
    }
    await cluster.kill(coordinator);
    return acknowledged;
  }

  it(
    'keeps every acknowledged job and result and completes every job exactly once',
    async () => {
      const file = await cluster.writeJob('main', busyJob('main', TASKS, 0));
      const submit = await cluster.cli(['submit', file, '--data', cluster.dataDir]);
      expect(submit.code, submit.stderr).toBe(0);
      const acknowledged = new Map<string, number>([[submit.stdout.trim(), TASKS]]);
      const recoveryMs: number[] = [];
      for (let k = 0; k < KILLS; k++) {
        const phase = PHASES[k % PHASES.length] as Phase;
        // What the API showed just before the kill (given a moment to be flushed) must survive it.
        const before = await jobs();
        await sleep(50);
        const submitted = await killDuring(phase, k);
        for (const id of submitted) acknowledged.set(id, 50);
        const killedAt = Date.now();
        await cluster.startCoordinator(['--snapshot-every', '150']);
        const after = await jobs();
        for (const id of acknowledged.keys()) expect(after.map((j) => j.id)).toContain(id);
        for (const j of before)
          expect(after.find((a) => a.id === j.id)!.counts.succeeded).toBeGreaterThanOrEqual(
            j.counts.succeeded,
          );
        // Recovered: results flow again (or there is nothing left to do).
        const base = done(after);
        for (let i = 0; i < 600; i++) {
          const now = await jobs();
          if (done(now) > base || now.every((j) => j.state !== 'running' && j.state !== 'queued'))
            break;
          await sleep(25);
        }
        recoveryMs.push(Date.now() - killedAt);
      }

      let duplicated = 0;
      let lost = 0;
      let wrong = 0;
      let tasks = 0;
      for (const [id, count] of acknowledged) {
        const job = await cluster.waitJob(id, scale(60_000, 300_000));
        expect(job.state).toBe('succeeded');
        const t = await tally(cluster, id, count, double);
        tasks += t.tasks;
        lost += t.lost;
        duplicated += t.duplicated;
        wrong += t.wrong;
      }
      report({
        kind: 'coordinator kill -9',
        faults: KILLS,
        jobs: acknowledged.size,
        tasks,
        lost,
        duplicated,
        wrong,
        recoveryMs,
        note: 'kill → restarted → results flowing again',
      });
      expect({ lost, duplicated, wrong }).toEqual({ lost: 0, duplicated: 0, wrong: 0 });
    },
    scale(120_000, 900_000),
  );
});
