// Promise: on real processes, a user's cap (`colony users add … --max-share`, `colony users set`)
// holds their running tasks to that share of the slots even with slots idle, says so as the
// reason a job waits, and lifts when the cap does; and fair share's memory of past usage
// survives a coordinator restart: the user who used more before still yields the first slot.
import { afterEach, describe, expect, it } from 'vitest';
import type { JobSummary, TaskRow } from '../../shared/api.js';
import { Cluster } from './helpers/cluster.js';

/** A node job of `count` tasks that each hold a slot for `ms` (sleeping: cheap on a busy CPU). */
function sleepyJob(name: string, count: number, ms: number): Record<string, string> {
  return {
    'job.yaml': `name: ${name}\nruntime: node\nmodule: ./nap.mjs\ntasks:\n  sweep:\n    x: { range: [0, ${count}] }\n    ms: [${ms}]\n`,
    'nap.mjs':
      'export default async ({ x, ms }) => { await new Promise((r) => setTimeout(r, ms)); return x; };\n',
  };
}

interface UserRow {
  name: string;
  weight: number;
  maxShare: number | null;
  usageMs: number;
}

describe('people: caps and past usage', () => {
  let cluster: Cluster;
  const tokens: Record<string, string> = {};
  const as = (who: string | undefined, args: string[]) =>
    cluster.cli([
      ...args,
      '--data',
      cluster.dataDir,
      ...(who ? ['--token', tokens[who] as string] : []),
    ]);
  const ok = async (who: string | undefined, args: string[]) => {
    const r = await as(who, args);
    expect(r.code, `${who ?? 'owner'}: colony ${args.join(' ')}\n${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const addUser = async (name: string, extra: string[] = []) => {
    const added = JSON.parse(
      await ok(undefined, ['users', 'add', name, '--role', 'submitter', '--json', ...extra]),
    ) as { token: string };
    tokens[name] = added.token;
  };
  const submit = async (who: string, name: string, count: number, ms: number) =>
    (await ok(who, ['submit', await cluster.writeJob(name, sleepyJob(name, count, ms))])).trim();
  const users = async () => (await cluster.client()).json<UserRow[]>('GET', '/users');
  const job = async (id: string) => (await cluster.client()).json<JobSummary>('GET', `/jobs/${id}`);
  /** Poll until `ok` holds (bounded); returns every value seen. */
  const watch = async <T>(read: () => Promise<T>, done: (v: T) => boolean, what: string) => {
    const seen: T[] = [];
    for (let i = 0; i < 400; i++) {
      const v = await read();
      seen.push(v);
      if (done(v)) return seen;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}: ${JSON.stringify(seen.slice(-5))}`);
  };

  afterEach(async () => {
    await cluster?.stop();
  });

  it(
    'holds a capped user to their share of the slots, says why, and lets go when lifted',
    {
      timeout: 120_000,
    },
    async () => {
      cluster = await Cluster.create();
      await cluster.startCoordinator();
      await addUser('ann', ['--max-share', '25%']);
      await addUser('bob');
      expect((await users()).find((u) => u.name === 'ann')?.maxShare).toBe(0.25);
      await cluster.startContributor('m1', 4);
      // ann alone, two jobs: a quarter of 4 slots is 1 task at a time, 3 slots left idle.
      const a1 = await submit('ann', 'ann-1', 300, 150);
      const a2 = await submit('ann', 'ann-2', 300, 150);
      const annRunning = async () =>
        (await job(a1)).counts.running + (await job(a2)).counts.running;
      const running = await watch(
        async () => [await annRunning(), (await job(a1)).counts.succeeded] as const,
        ([, done]) => done >= 4,
        'ann to finish four tasks',
      );
      expect(Math.max(...running.map(([r]) => r))).toBeLessThanOrEqual(1);
      // The job that waits says it is the cap.
      const waiting = await watch(
        async () => [await job(a1), await job(a2)].find((j) => j.reason !== null)?.reason ?? '',
        (r) => r !== '',
        'a reason on the waiting job',
      );
      // "The slots" are those busy or offered: 4 workers, and a staged one when tasks are short.
      expect(waiting[waiting.length - 1]).toMatch(
        /^waiting under ann's cap: at most 25 % of the slots \(1 of [45]\), and ann has 1 running$/,
      );

      // bob, uncapped, takes the other three slots; ann stays at one.
      const b1 = await submit('bob', 'bob-1', 400, 150);
      const both = await watch(
        async () => [await annRunning(), (await job(b1)).counts.running] as const,
        ([, bob]) => bob === 3,
        'bob on three slots',
      );
      expect(Math.max(...both.map(([ann]) => ann))).toBeLessThanOrEqual(1);

      // Bad input changes nothing.
      for (const [args, message] of [
        [
          ['users', 'set', 'ann', '--weight', '2', '--max-share', '1.5'],
          /--max-share 1.5: a share/,
        ],
        [['users', 'set', 'ann'], /give --weight, --max-share or both/],
      ] as const) {
        const r = await as(undefined, [...args]);
        expect(r.code, args.join(' ')).not.toBe(0);
        expect(r.stderr).toMatch(message);
      }
      const client = await cluster.client();
      for (const maxShare of [0, -1, 2, '1/2'])
        await expect(
          client.json('POST', '/users/ann/share', { maxShare }),
          String(maxShare),
        ).rejects.toMatchObject({ code: 'BAD_INPUT' });
      expect((await users()).find((u) => u.name === 'ann')?.weight).toBe(1);
      const annNow = (await users()).find((u) => u.name === 'ann');
      expect(annNow?.maxShare).toBe(0.25);
      // A submitter cannot lift their own cap.
      const self = await as('ann', ['users', 'set', 'ann', '--max-share', 'none']);
      expect(self.code).not.toBe(0);
      expect(self.stderr).toMatch(/ann is a submitter: this needs the role admin/);

      // Lifted: ann's work spreads over more than one slot again.
      expect(await ok(undefined, ['users', 'set', 'ann', '--max-share', 'none'])).toContain(
        'max share none',
      );
      await client.json('POST', `/jobs/${b1}/cancel`);
      await watch(annRunning, (n) => n >= 2, 'ann on more than one slot');
      const audit = JSON.parse(await ok(undefined, ['audit', '--json'])) as {
        action: string;
        target: string;
        detail: string | null;
        status: number;
      }[];
      expect(audit.find((a) => a.action === 'user.share' && a.status === 200)).toMatchObject({
        target: 'ann',
        detail: 'no cap',
      });
      expect(audit.find((a) => a.action === 'user.add' && a.target === 'ann')?.detail).toBe(
        'role submitter, max share 0.25',
      );
    },
  );

  it('remembers past usage across a coordinator restart', { timeout: 120_000 }, async () => {
    cluster = await Cluster.create();
    const coordinator = await cluster.startCoordinator();
    await addUser('ann');
    await addUser('bob');
    const m1 = await cluster.startContributor('m1', 1);
    const first = await submit('ann', 'ann-before', 4, 200);
    expect((await cluster.waitJob(first)).state).toBe('succeeded');
    const before = await users();
    const annBefore = before.find((u) => u.name === 'ann')?.usageMs ?? 0;
    expect(annBefore).toBeGreaterThanOrEqual(800); // four tasks of 200 ms each
    expect(before.find((u) => u.name === 'bob')?.usageMs).toBe(0);

    // A real restart: the contributor and the coordinator process both stop.
    await cluster.kill(m1, 'SIGTERM');
    await cluster.kill(
      cluster.procs.find((p) => p.pid === cluster.coordinator?.pid) ?? m1,
      'SIGTERM',
    );
    expect(await cluster.startCoordinator()).toBe(coordinator);
    const after = await users();
    const annAfter = after.find((u) => u.name === 'ann')?.usageMs ?? 0;
    // The same, decayed by a few seconds of a one-day half-life: well within 1 %.
    expect(annAfter).toBeGreaterThan(annBefore * 0.99);
    expect(annAfter).toBeLessThanOrEqual(annBefore + 1);
    expect(after.find((u) => u.name === 'bob')?.usageMs).toBe(0);

    // And it still decides: ann's job is older, but bob, who used nothing, gets the first slot.
    const annJob = await submit('ann', 'ann-after', 2, 100);
    const bobJob = await submit('bob', 'bob-after', 2, 100);
    await cluster.startContributor('m2', 1);
    for (const id of [annJob, bobJob]) expect((await cluster.waitJob(id)).state).toBe('succeeded');
    const client = await cluster.client();
    const firstAssigned = async (id: string) =>
      Math.min(
        ...(await client.json<{ tasks: TaskRow[] }>('GET', `/jobs/${id}/tasks`)).tasks.flatMap(
          (t) => t.attempts.map((a) => a.assignedAt),
        ),
      );
    expect(await firstAssigned(bobJob)).toBeLessThan(await firstAssigned(annJob));
  });
});
