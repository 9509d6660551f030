// Promise (docs/promises.md): killing, suspending or overloading a contributor costs at most its running
// attempts; they are re-assigned within 3 heartbeat intervals, late results are refused by attempt.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContributorInfo } from '../../shared/api.js';
import { Cluster, startProc, type Proc } from '../integration/helpers/cluster.js';
import { busyJob } from '../integration/helpers/jobs.js';
import { busiestChild, busyChildren } from '../integration/helpers/procs.js';
import { allTasks, double, tally } from './helpers/check.js';
import { report, sleep } from './helpers/scale.js';

const HEARTBEAT_MS = 300;
/**
 * docs/concepts.md: 3 intervals. The figure is measured and reported; this bound only tells a lease
 * that expired from work that waited for its task's time limit (an hour) or was never moved, with
 * room for a loaded 2-core machine.
 */
const REASSIGN_BOUND_MS = 3 * HEARTBEAT_MS + 15_000;
/**
 * Each task's memory (`--task-memory`, heap half of it): small, so the memory hog below reaches its
 * limit in about a second rather than filling the default 1 GiB heap at idle priority on busy cores.
 */
const TASK_MEMORY = ['--task-memory', '512'];

describe('contributor faults', () => {
  let cluster: Cluster;
  let steady: Proc;
  beforeAll(async () => {
    cluster = await Cluster.create();
    await cluster.startCoordinator();
  });
  afterAll(() => cluster.stop());

  const contributorId = (p: Proc) => (p as Proc & { match: RegExpExecArray }).match[1] as string;
  async function submit(name: string, files: Record<string, string>): Promise<string> {
    const res = await cluster.cli([
      'submit',
      await cluster.writeJob(name, files),
      '--data',
      cluster.dataDir,
    ]);
    expect(res.code, res.stderr).toBe(0);
    return res.stdout.trim();
  }
  /** Attempt ids a contributor runs, once it runs at least one. */
  async function runningOn(id: string): Promise<string[]> {
    const client = await cluster.client();
    for (let i = 0; i < 400; i++) {
      const cs = await client.json<ContributorInfo[]>('GET', '/contributors');
      const c = cs.find((x) => x.id === id);
      if (c && c.running.length > 0) return c.running;
      await sleep(25);
    }
    throw new Error(`contributor ${id} never ran anything`);
  }
  /** ms from `since` until every task that held one of `attemptIds` has a newer attempt. */
  async function reassignedAfter(jobId: string, attemptIds: string[], since: number) {
    for (let i = 0; i < 800; i++) {
      const tasks = await allTasks(cluster, jobId);
      const held = tasks.filter((t) => t.attempts.some((a) => attemptIds.includes(a.attemptId)));
      const moved = held.every((t) => {
        const old = t.attempts.find((a) => attemptIds.includes(a.attemptId))!;
        return t.attempts.some((a) => a.number > old.number) || old.state === 'succeeded';
      });
      if (held.length > 0 && moved) return Date.now() - since;
      await sleep(20);
    }
    throw new Error('attempts were never re-assigned');
  }
  async function finishOnce(jobId: string, count: number, kind: string, ms: number) {
    const job = await cluster.waitJob(jobId);
    expect(job.state).toBe('succeeded');
    const t = await tally(cluster, jobId, count, double);
    report({
      kind,
      faults: 1,
      jobs: 1,
      tasks: count,
      lost: t.lost,
      duplicated: t.duplicated,
      wrong: t.wrong,
      recoveryMs: [ms],
      note: 'fault → attempts re-assigned',
    });
    expect({ lost: t.lost, duplicated: t.duplicated, wrong: t.wrong }).toEqual({
      lost: 0,
      duplicated: 0,
      wrong: 0,
    });
    return t;
  }

  it('kill -9 of a manager: its attempts are re-assigned within ~3 heartbeats, each task once', async () => {
    const victim = await cluster.startContributor('victim', 2, TASK_MEMORY);
    steady = await cluster.startContributor('steady', 2, TASK_MEMORY);
    const id = await submit('mgr', busyJob('mgr', 60, 100));
    const held = await runningOn(contributorId(victim));
    const at = Date.now();
    await cluster.kill(victim);
    const ms = await reassignedAfter(id, held, at);
    expect(ms).toBeLessThan(REASSIGN_BOUND_MS);
    const t = await finishOnce(id, 60, 'contributor manager kill -9', ms);
    // What it ran when killed is lost; an attempt listed just before the kill may have finished in between.
    const onVictim = t.attempts.filter((x) => x.contributorId === contributorId(victim));
    for (const a of onVictim.filter((x) => held.includes(x.attemptId)))
      expect(['lost', 'succeeded']).toContain(a.state);
    expect(onVictim.filter((a) => a.state === 'lost').length).toBeGreaterThan(0);
    for (const a of onVictim) expect(['lost', 'succeeded']).toContain(a.state);
  });

  it('kill -9 of a worker (child of the manager): the attempt ends and runs again', async () => {
    const id = await submit('wrk', busyJob('wrk', 40, 300));
    await runningOn(contributorId(steady));
    // The worker that runs an attempt is told from idle spares by the CPU it burns; a spare that
    // happens to start up in the sample can look as busy, and killing it ends no attempt (as it
    // should). So: kill the busiest, and if no attempt ended, sample again (bounded).
    let ms = 0;
    for (let round = 0; round < 4 && ms === 0; round++) {
      const busy = await busyChildren(steady.pid, 500);
      const worker = busy[0] ?? (await busiestChild(steady.pid, 500));
      expect(worker).toBeGreaterThan(0);
      const held = await runningOn(contributorId(steady));
      const at = Date.now();
      process.kill(worker as number, 'SIGKILL');
      // Only the killed worker's attempt moves; find it as the one that ended without success.
      for (let i = 0; i < 150 && ms === 0; i++) {
        const tasks = await allTasks(cluster, id);
        const hit = tasks.find((t) =>
          t.attempts.some(
            (a) =>
              held.includes(a.attemptId) &&
              a.state !== 'succeeded' &&
              a.state !== 'running' &&
              a.state !== 'assigned',
          ),
        );
        if (hit && hit.attempts.length > 1) ms = Date.now() - at;
        else await sleep(50);
      }
    }
    expect(ms, 'no attempt ended after killing the busiest worker in 4 rounds').toBeGreaterThan(0);
    await finishOnce(id, 40, 'worker kill -9', ms);
  });

  it('SIGSTOP of a manager past its lease, then SIGCONT: its late results are refused', async () => {
    const token = await cluster.joinToken();
    const sleeper = await startProc(
      [
        'contributor',
        '--join',
        token,
        '--data',
        join(cluster.dir, 'sleeper'),
        '--workers',
        '2',
        '--heartbeat',
        String(HEARTBEAT_MS),
        '--no-mdns',
        ...TASK_MEMORY,
      ],
      /contributor (\S+) serving/,
      { COLONY_LOG: 'debug' },
    );
    cluster.procs.push(sleeper);
    const id = await submit('stop', busyJob('stop', 40, 250));
    const held = await runningOn(sleeper.match[1] as string);
    const at = Date.now();
    process.kill(sleeper.pid, 'SIGSTOP');
    let ms: number;
    try {
      ms = await reassignedAfter(id, held, at);
      await sleep(Math.max(0, 3 * HEARTBEAT_MS * 2 - (Date.now() - at)));
    } finally {
      process.kill(sleeper.pid, 'SIGCONT');
    }
    expect(ms).toBeLessThan(REASSIGN_BOUND_MS);
    const t = await finishOnce(id, 40, 'manager SIGSTOP > lease', ms);
    const stopped = t.attempts.filter((a) => held.includes(a.attemptId));
    expect(stopped.length).toBe(held.length);
    for (const a of stopped) expect(a.state).toBe('lost');
    // The manager, resumed, sent the results its workers finished meanwhile: answered accepted=false.
    for (let i = 0; i < 100 && !/"?accepted"?[=:]false/.test(sleeper.output()); i++)
      await sleep(50);
    expect(sleeper.output()).toMatch(/"?accepted"?[=:]false/);
  });

  it('a task that eats memory or loops forever fails alone; every other task finishes once', async () => {
    // Two jobs: the hog's time limit is long, so its failure is the memory limit's even when its
    // worker (at idle priority) gets little CPU; the loop's is short.
    const faultJob = (fault: 'memory' | 'loop', timeoutSec: number) => ({
      'job.yaml': `name: ${fault}\nruntime: node\nmodule: ./fault.mjs\ntasks:\n  sweep:\n    x: { range: [0, 8] }\n    fault: [${fault}]\nlimits: { timeoutSec: ${timeoutSec}, maxAttempts: 1 }\n`,
      'fault.mjs': [
        'export default async ({ x, fault }) => {',
        "  if (x === 1 && fault === 'memory') { const keep = []; for (;;) keep.push(new Array(1e7).fill(x)); }",
        "  if (x === 2 && fault === 'loop') { for (;;) { /* never returns */ } }",
        '  return { double: x * 2 };',
        '};',
        '',
      ].join('\n'),
    });
    const hog = await submit('hog', faultJob('memory', 300));
    const spin = await submit('spin', faultJob('loop', 6));
    const at = Date.now();
    const failedTask = async (id: string, idx: number) => {
      expect((await cluster.waitJob(id, 240_000)).state).toBe('failed');
      const tasks = await allTasks(cluster, id);
      const t = tasks.find((x) => x.idx === idx)!;
      expect(t.state).toBe('failed');
      // maxAttempts 1, plus possibly one speculative copy (the job's last task runs long).
      expect(t.attempts.length).toBeLessThanOrEqual(2);
      for (const a of t.attempts) expect(a.state, JSON.stringify(t.attempts)).toBe('failed');
      return { tasks: tasks.filter((x) => x.idx !== idx), error: t.error };
    };
    const hogged = await failedTask(hog, 1);
    expect(hogged.error).toMatch(
      /memory limit reached \(512 MiB per task, JavaScript heap 256 MiB\)/,
    );
    const spun = await failedTask(spin, 2);
    expect(spun.error).toMatch(/timed out after 6000 ms/);
    const tasks = [...hogged.tasks, ...spun.tasks];
    let duplicated = 0;
    let wrong = 0;
    for (const t of tasks.filter((x) => x.idx !== 1 && x.idx !== 2)) {
      const ok = t.attempts.filter((a) => a.state === 'succeeded');
      if (ok.length !== 1) duplicated++;
      if (JSON.stringify(t.output) !== JSON.stringify(double(t.input))) wrong++;
    }
    report({
      kind: 'memory hog + endless loop task',
      faults: 2,
      jobs: 2,
      tasks: 16,
      lost: 0,
      duplicated,
      wrong,
      recoveryMs: [Date.now() - at],
      note: 'both fail with a clear error; job final',
    });
    expect({ duplicated, wrong }).toEqual({ duplicated: 0, wrong: 0 });
  }, 300_000);
});
