// Promise: people, not one shared key. On real processes, with an admin (the owner's bootstrap
// token), two submitters and a viewer: a submitter cannot cancel the other's job (403, with a
// sentence) nor rotate tokens; a viewer cannot submit; the admin can do all; every action is in
// `colony audit`; removing a user or rotating their token cuts access at the next request; two
// submitters, one with 1 job and one with 10, both saturating, each get half the slot-time; and
// a store written before users existed opens with its jobs owned by the admin.
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobSummary } from '../../shared/api.js';
import { Cluster, ROOT } from './helpers/cluster.js';

const FIXTURE = join(ROOT, 'test/fixtures/store-before-users/coordinator');

/** A node job of `count` tasks that each hold a slot for `ms` (sleeping: cheap on a busy CPU). */
function sleepyJob(name: string, count: number, ms: number): Record<string, string> {
  return {
    'job.yaml': `name: ${name}\nruntime: node\nmodule: ./nap.mjs\ntasks:\n  sweep:\n    x: { range: [0, ${count}] }\n    ms: [${ms}]\n`,
    'nap.mjs':
      'export default async ({ x, ms }) => { await new Promise((r) => setTimeout(r, ms)); return x; };\n',
  };
}

interface AuditRow {
  user: string;
  action: string;
  target: string | null;
  status: number;
  address: string | null;
}

describe('people: roles, ownership, audit and fair share', () => {
  let cluster: Cluster;
  const tokens: Record<string, string> = {};
  /** `colony ...` as a person (their token), or as the owner (the data dir's admin token). */
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
  const jobsOf = async (who: string | undefined, extra: string[] = []) =>
    JSON.parse(await ok(who, ['jobs', '--json', ...extra])) as JobSummary[];

  beforeAll(async () => {
    cluster = await Cluster.create();
    // The data directory of a coordinator from before users: its job must come out the owner's.
    await cp(FIXTURE, cluster.dataDir, { recursive: true });
    await cluster.startCoordinator();
  });
  afterAll(() => cluster.stop());

  it('opens a store written before users, its jobs owned by the admin', async () => {
    const jobs = await jobsOf(undefined);
    expect(jobs.map((j) => [j.name, j.owner])).toEqual([['before-users', 'owner']]);
    expect(JSON.parse(await ok(undefined, ['users', '--json']))).toEqual([]);
  });

  it('gives each role what it may do, and records every change in the audit log', async () => {
    for (const [name, role] of [
      ['ann', 'submitter'],
      ['bob', 'submitter'],
      ['vera', 'viewer'],
    ] as const) {
      const added = JSON.parse(
        await ok(undefined, ['users', 'add', name, '--role', role, '--json']),
      ) as {
        token: string;
        role: string;
      };
      expect(added.role).toBe(role);
      tokens[name] = added.token;
    }
    const listed = await ok(undefined, ['users']);
    expect(listed).toMatch(/ann\s+submitter/);
    expect(listed).not.toContain(tokens.ann); // tokens are shown once, never listed

    // Fair share: ann's one job against bob's ten, both with more work than the slots.
    const annJob = (
      await ok('ann', ['submit', await cluster.writeJob('ann', sleepyJob('ann-1', 400, 150))])
    ).trim();
    const bobJobs: string[] = [];
    for (let i = 0; i < 10; i++)
      bobJobs.push(
        (
          await ok('bob', [
            'submit',
            await cluster.writeJob(`bob${i}`, sleepyJob(`bob-${i}`, 60, 150)),
          ])
        ).trim(),
      );
    await cluster.startContributor('m1', 2);
    const client = await cluster.client();
    const done = async (ids: string[]) => {
      let n = 0;
      for (const id of ids)
        n += (await client.json<JobSummary>('GET', `/jobs/${id}`)).counts.succeeded;
      return n;
    };
    let ann = 0;
    let bob = 0;
    for (let i = 0; i < 600 && ann + bob < 60; i++) {
      await new Promise((r) => setTimeout(r, 100));
      [ann, bob] = [await done([annJob]), await done(bobJobs)];
    }
    expect(ann + bob).toBeGreaterThanOrEqual(60);
    // Equal task durations: tasks done is slot-time. Both still had work: each half, ± 10 %.
    const share = ann / (ann + bob);
    console.log(
      `fair share: ann (1 job) ${ann} tasks, bob (10 jobs) ${bob} tasks: ${(share * 100).toFixed(1)} %`,
    );
    expect(share).toBeGreaterThanOrEqual(0.4);
    expect(share).toBeLessThanOrEqual(0.6);

    // Ownership: listed and filtered.
    expect((await jobsOf('ann', ['--mine'])).map((j) => j.id)).toEqual([annJob]);
    expect((await jobsOf('vera', ['--owner', 'bob'])).map((j) => j.id).sort()).toEqual(
      [...bobJobs].sort(),
    );
    expect(await ok('vera', ['jobs'])).toMatch(/OWNER/);

    // A submitter cannot change another's job, nor touch tokens; a viewer cannot submit.
    const denied = await as('bob', ['cancel', annJob]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(
      new RegExp(`job ${annJob} belongs to ann: only its owner or an admin can change it`),
    );
    const rotateDenied = await as('bob', ['users', 'token', 'ann', '--rotate']);
    expect(rotateDenied.code).not.toBe(0);
    expect(rotateDenied.stderr).toMatch(/bob is a submitter: this needs the role admin/);
    const submitDenied = await as('vera', [
      'submit',
      await cluster.writeJob('v', sleepyJob('v', 1, 1)),
    ]);
    expect(submitDenied.code).not.toBe(0);
    expect(submitDenied.stderr).toMatch(/vera is a viewer/);
    expect((await jobsOf(undefined)).some((j) => j.name === 'v')).toBe(false);

    // Their own: yes. The admin: anyone's.
    await ok('bob', ['priority', bobJobs[9] as string, '5']);
    await ok('bob', ['cancel', bobJobs[8] as string]);
    await ok(undefined, ['cancel', annJob]);
    await ok(undefined, ['cancel', bobJobs[7] as string]);

    // Rotation and removal cut access at the next request.
    const oldAnn = tokens.ann as string;
    const rotated = JSON.parse(
      await ok(undefined, ['users', 'token', 'ann', '--rotate', '--json']),
    ) as {
      token: string;
    };
    tokens.ann = oldAnn;
    const stale = await as('ann', ['jobs']);
    expect(stale.code).not.toBe(0);
    expect(stale.stderr).toMatch(/missing or wrong token/);
    tokens.ann = rotated.token;
    await ok('ann', ['jobs']);
    await ok(undefined, ['users', 'remove', 'vera']);
    const gone = await as('vera', ['jobs']);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toMatch(/missing or wrong token/);

    // Every action above, in the audit log, with who, what, target and where from.
    const audit = JSON.parse(
      await ok(undefined, ['audit', '--json', '--since', '1h']),
    ) as AuditRow[];
    const has = (user: string, action: string, target: string | null | undefined, status: number) =>
      expect(
        audit.some(
          (a) =>
            a.user === user &&
            a.action === action &&
            (target === undefined || a.target === target) &&
            a.status === status,
        ),
        `${user} ${action} ${target} ${status}\n${JSON.stringify(audit, null, 1)}`,
      ).toBe(true);
    for (const u of ['ann', 'bob', 'vera']) has('owner', 'user.add', u, 201);
    has('ann', 'job.submit', annJob, 201);
    for (const id of bobJobs) has('bob', 'job.submit', id, 201);
    has('bob', 'job.cancel', annJob, 403);
    has('bob', 'user.token', 'ann', 403);
    has('vera', 'blob.upload', undefined, 403); // refused at its first upload
    has('bob', 'job.priority', bobJobs[9], 200);
    has('owner', 'job.cancel', bobJobs[7], 200);
    has('bob', 'job.cancel', bobJobs[8], 200);
    has('owner', 'job.cancel', annJob, 200);
    has('owner', 'user.token', 'ann', 200);
    has('owner', 'user.remove', 'vera', 200);
    expect(audit.every((a) => a.address === '127.0.0.1')).toBe(true);
    // Only an admin reads it, and nothing in the API changes it.
    const peek = await as('bob', ['audit']);
    expect(peek.code).not.toBe(0);
    expect(
      cluster.coordinator && (await client.request('GET', '/audit').then((r) => r.status)),
    ).toBe(200);
    for (const method of ['DELETE', 'PUT', 'POST', 'PATCH'])
      await expect(client.request(method, '/audit')).rejects.toThrow();
    // About thirty CLI runs, each a fresh Node process: minutes on two busy cores.
  }, 240_000);
});
