// Promise (docs/fleet-rollout.md): an admin runs the fleet from the coordinator. Three real
// contributors in two groups (by their --tags); the admin locks maxWorkers to 1 for one group: those
// machines run at most one task each, their owners cannot raise it through the panel API (refused
// with the reason) but may lower it; drain lets running tasks finish and takes no new ones; resume
// brings work back. Bad input (unknown group or machine, bad policy file, unknown lock) changes
// nothing. Real coordinator, real contributors with real workers, the real CLI.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContributorInfo, JobSummary, TaskRow } from '../../shared/api.js';
import type { OwnerPolicySettings } from '../../shared/owner-policy.js';
import { Cluster, type Proc } from './helpers/cluster.js';
import { busyJob } from './helpers/jobs.js';

async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Machine {
  name: string;
  proc: Proc;
  id: string;
  panel: string;
  token: string;
}

describe('fleet policy, locks and drain', () => {
  let cluster: Cluster;
  const machines: Machine[] = [];
  const admin = (args: string[]) => cluster.cli([...args, '--data', cluster.dataDir]);

  beforeAll(async () => {
    cluster = await Cluster.create();
    await cluster.startCoordinator();
    for (const [name, tags] of [
      ['lab-1', 'lab'],
      ['lab-2', 'lab'],
      ['office-1', 'office'],
    ] as const) {
      const proc = await cluster.startContributor(name, 2, ['--tags', tags]);
      const out = proc.output();
      const id = /contributor (\S+) serving/.exec(out)![1]!;
      const panel = /contributor panel at (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
      const token = readFileSync(join(cluster.dir, name, 'panel-token'), 'utf8').trim();
      machines.push({ name, proc, id, panel, token });
    }
  });
  afterAll(async () => {
    await cluster.stop();
  });

  const panel = async (m: Machine, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${m.panel}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${m.token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const contributors = async () =>
    (await cluster.client()).json<ContributorInfo[]>('GET', '/contributors');
  const byId = async () => new Map((await contributors()).map((c) => [c.id, c]));
  const tasks = async (job: string) =>
    (
      await (
        await cluster.client()
      ).json<{ tasks: TaskRow[] }>('GET', `/jobs/${job}/tasks?limit=1000`)
    ).tasks;
  const fleet = async () =>
    (await cluster.client()).json<{ policies: unknown[]; groups: unknown[] }>('GET', '/fleet');

  it('groups come from the machines’ tags', async () => {
    await until('three machines online', 20_000, async () =>
      (await contributors()).filter((c) => c.state === 'online').length === 3 ? true : undefined,
    );
    const seen = await byId();
    expect(machines.map((m) => seen.get(m.id)?.groups)).toEqual([['lab'], ['lab'], ['office']]);
    // Each says its version when it connects (the console filters by it).
    const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string })
      .version;
    expect(machines.map((m) => seen.get(m.id)?.version)).toEqual([version, version, version]);
  });

  it('refuses bad input with a clear error and changes nothing', async () => {
    const before = await fleet();
    const good = join(cluster.dir, 'lab.json');
    writeFileSync(good, JSON.stringify({ maxWorkers: 1 }));
    const bad = join(cluster.dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ maxWorkers: 'lots' }));
    const unknownField = join(cluster.dir, 'unknown.json');
    writeFileSync(unknownField, JSON.stringify({ maxWorkerz: 1 }));

    const cases: [string[], RegExp][] = [
      [['contributors', 'policy', '--group', 'nope', good], /no contributor is in group nope/],
      [['contributors', 'policy', 'no-such-machine', good], /no contributor no-such-machine/],
      [['contributors', 'policy', '--group', 'lab', bad], /maxWorkers/],
      [['contributors', 'policy', '--group', 'lab', unknownField], /maxWorkerz/],
      [
        ['contributors', 'policy', '--group', 'lab', good, '--lock', 'maxWorkers,colour'],
        /cannot lock "colour": not a lockable field/,
      ],
      [['contributors', 'drain', '--group', 'nope'], /no contributor is in group nope/],
      [['contributors', 'pause', `${machines[0]!.id},ghost`], /no contributor ghost/],
      [['contributors', 'group', 'ghost', 'lab'], /no contributor ghost/],
    ];
    for (const [args, message] of cases) {
      const res = await admin(args);
      expect(res.code, args.join(' ')).not.toBe(0);
      expect(res.stderr, args.join(' ')).toMatch(message);
    }
    expect(await fleet()).toEqual(before);
    const seen = await byId();
    expect(machines.map((m) => seen.get(m.id)?.fleet ?? null)).toEqual([null, null, null]);
  });

  it('a locked maxWorkers of 1 holds on every machine of the group; the owner may lower, not raise', async () => {
    const file = join(cluster.dir, 'lab.yaml');
    writeFileSync(file, 'maxWorkers: 1\n');
    const set = await admin([
      'contributors',
      'policy',
      '--group',
      'lab',
      file,
      '--lock',
      'maxWorkers',
      '--reason',
      'lab benches',
    ]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/group lab \(2 machines; locked: maxWorkers\)/);

    const [lab1, lab2, office] = machines as [Machine, Machine, Machine];
    // The contributor got it: its panel shows the lock and runs with it.
    const shown = await until('the lock to reach lab-1', 10_000, async () => {
      const r = await panel(lab1, 'GET', '/policy');
      const fleetView = r.body.fleet as { policy: { locked: string[]; by: string } | null } | null;
      return fleetView?.policy?.locked.includes('maxWorkers') ? r.body : undefined;
    });
    expect((shown.effective as OwnerPolicySettings).maxWorkers).toBe(1);
    expect((shown.fleet as { policy: { by: string; reason: string } }).policy).toMatchObject({
      by: 'owner',
      reason: 'lab benches',
    });
    // Kept in its data directory: the lock holds from its next start, before it reconnects.
    await until('the fleet policy saved on lab-1', 10_000, () => {
      try {
        const saved = JSON.parse(
          readFileSync(join(cluster.dir, 'lab-1', 'fleet-policy.json'), 'utf8'),
        ) as { policy: { locked: string[] } };
        return saved.policy.locked.includes('maxWorkers') ? true : undefined;
      } catch {
        return undefined;
      }
    });
    const officePolicy = await panel(office, 'GET', '/policy');
    expect((officePolicy.body.effective as OwnerPolicySettings).maxWorkers).not.toBe(1);

    // The owner of lab-1 tries to raise it: refused with the reason, nothing saved.
    const own = shown.settings as OwnerPolicySettings;
    const raise = await panel(lab1, 'PUT', '/policy', { ...own, maxWorkers: 4 });
    expect(raise.status).toBe(409);
    const message = (raise.body.error as { message: string }).message;
    expect(message).toMatch(/maxWorkers is locked at 1/);
    expect(message).toMatch(/lab benches/);
    expect(message).toMatch(/only make it stricter/);
    expect(
      ((await panel(lab1, 'GET', '/policy')).body.settings as OwnerPolicySettings).maxWorkers,
    ).toEqual(own.maxWorkers);
    // …and lowers their own value to the lock: accepted.
    const lower = await panel(lab1, 'PUT', '/policy', { ...own, maxWorkers: 1 });
    expect(lower.status, JSON.stringify(lower.body)).toBe(200);
    expect((lower.body.settings as OwnerPolicySettings).maxWorkers).toBe(1);

    // Twelve tasks of 1.5 s: the lab machines hold at most one attempt each, the office two.
    const jobFile = await cluster.writeJob('locked', busyJob('locked', 12, 1500));
    const submit = await cluster.cli(['submit', jobFile, '--data', cluster.dataDir]);
    expect(submit.code, submit.stderr).toBe(0);
    const id = submit.stdout.trim();
    const most = new Map<string, number>();
    const deadline = Date.now() + 120_000;
    for (;;) {
      const seen = await byId();
      for (const m of machines)
        most.set(m.id, Math.max(most.get(m.id) ?? 0, seen.get(m.id)?.slotsInUse ?? 0));
      const job = await (await cluster.client()).json<JobSummary>('GET', `/jobs/${id}`);
      if (job.state === 'succeeded') break;
      expect(job.state).not.toBe('failed');
      if (Date.now() > deadline) throw new Error('job did not finish');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(most.get(lab1.id)).toBe(1);
    expect(most.get(lab2.id)).toBe(1);
    expect(most.get(office.id)).toBeGreaterThan(1);
    // Every attempt shows the same: never two live on one lab machine at once.
    const attempts = (await tasks(id)).flatMap((t) => t.attempts);
    for (const lab of [lab1, lab2]) {
      const mine = attempts.filter((a) => a.contributorId === lab.id);
      expect(mine.length).toBeGreaterThan(0);
      for (const a of mine)
        for (const b of mine)
          if (a !== b)
            expect(
              a.assignedAt < (b.endedAt ?? Infinity) && b.assignedAt < (a.endedAt ?? Infinity),
              'two attempts overlap on one lab machine',
            ).toBe(false);
    }
  });

  it('drain finishes running tasks and takes no new ones; resume brings work back', async () => {
    const [lab1, lab2, office] = machines as [Machine, Machine, Machine];
    const jobFile = await cluster.writeJob('drained', busyJob('drained', 10, 4000));
    const submit = await cluster.cli(['submit', jobFile, '--data', cluster.dataDir]);
    expect(submit.code, submit.stderr).toBe(0);
    const id = submit.stdout.trim();
    const labIds = new Set([lab1.id, lab2.id]);
    // Wait until both lab machines run a task, then drain the group.
    await until('both lab machines to run a task', 30_000, async () => {
      const seen = await byId();
      return seen.get(lab1.id)?.slotsInUse === 1 && seen.get(lab2.id)?.slotsInUse === 1
        ? true
        : undefined;
    });
    const drain = await admin(['contributors', 'drain', '--group', 'lab', '--reason', 'patching']);
    expect(drain.code, drain.stderr).toBe(0);
    // Whatever happens below, the lab is resumed after: the next tests (and a retry) need it.
    try {
      await drainedThenResumed(id, lab1, lab2, office, labIds);
    } finally {
      await admin(['contributors', 'resume', '--group', 'lab']);
    }
  });

  async function drainedThenResumed(
    id: string,
    lab1: Machine,
    lab2: Machine,
    office: Machine,
    labIds: Set<string>,
  ): Promise<void> {
    // When the coordinator took the drain (its own clock, as the attempts' times are).
    const drainedAt = (
      await (
        await cluster.client()
      ).json<{ control: { state: string; at: number } }>('GET', `/contributors/${lab1.id}/fleet`)
    ).control.at;
    const seenDraining = await byId();
    expect(['draining', 'drained']).toContain(seenDraining.get(lab1.id)?.fleet);
    await until('both lab machines drained', 30_000, async () => {
      const seen = await byId();
      return seen.get(lab1.id)?.fleet === 'drained' && seen.get(lab2.id)?.fleet === 'drained'
        ? true
        : undefined;
    });
    const job = await cluster.waitJob(id, 120_000);
    expect(job.state).toBe('succeeded');
    const all = (await tasks(id)).flatMap((t) => t.attempts);
    // The lab's attempts live when the coordinator took the drain (by its clock)…
    const atDrain = all.filter(
      (a) =>
        labIds.has(a.contributorId ?? '') &&
        a.assignedAt < drainedAt &&
        (a.endedAt === null || a.endedAt >= drainedAt),
    );
    expect(atDrain.length).toBeGreaterThan(0);
    // …finished there, as successes; one the machine held queued (prefetched) but had not
    // started is handed back at once, to run elsewhere…
    for (const a of atDrain) {
      const b = all.find((x) => x.attemptId === a.attemptId);
      if (b?.state !== 'succeeded')
        expect(b?.error ?? '', `attempt ${a.attemptId}: ${b?.state}`).toMatch(
          /^vacated: not started: /,
        );
    }
    expect(atDrain.filter((a) => a.state === 'succeeded').length).toBeGreaterThan(0);
    // …and nothing new went to the lab after it: the office did the rest.
    const late = all.filter((a) => labIds.has(a.contributorId ?? '') && a.assignedAt >= drainedAt);
    expect(late).toEqual([]);
    expect(all.some((a) => a.contributorId === office.id)).toBe(true);
    expect((await byId()).get(lab1.id)?.state).toBe('online');

    // Resume: the lab takes work again.
    const resume = await admin(['contributors', 'resume', '--group', 'lab']);
    expect(resume.code, resume.stderr).toBe(0);
    const again = await cluster.writeJob('again', busyJob('again', 8, 1000));
    const submit2 = await cluster.cli(['submit', again, '--data', cluster.dataDir]);
    const id2 = submit2.stdout.trim();
    expect((await cluster.waitJob(id2, 120_000)).state).toBe('succeeded');
    const onLab = (await tasks(id2))
      .flatMap((t) => t.attempts)
      .filter((a) => labIds.has(a.contributorId ?? ''));
    expect(onLab.length).toBeGreaterThan(0);
    expect((await byId()).get(lab1.id)?.fleet ?? null).toBe(null);
  }

  it('a remote pause shows on the machine with who and why; every change is in the audit log', async () => {
    const office = machines[2]!;
    const pause = await admin(['contributors', 'pause', office.id, '--reason', 'moving desks']);
    expect(pause.code, pause.stderr).toBe(0);
    const status = await until('the office machine to pause', 10_000, async () => {
      const r = await panel(office, 'GET', '/status');
      const p = r.body.policy as { state: string; reason: string } | null;
      return p?.state === 'paused' ? p : undefined;
    });
    expect(status.reason).toBe('Paused by the admin (owner: moving desks)');
    expect((await byId()).get(office.id)?.fleet).toBe('paused');
    const show = await admin(['contributors', 'show', office.id]);
    expect(show.stdout).toMatch(/remote: paused \(by owner: moving desks\)/);
    expect(show.stdout).toMatch(/groups: office \(its tags\)/);
    await admin(['contributors', 'resume', office.id]);

    const audit = await admin(['audit', '--json']);
    const actions = (JSON.parse(audit.stdout) as { action: string; status: number }[]).map(
      (e) => `${e.action} ${e.status}`,
    );
    expect(actions).toEqual(
      expect.arrayContaining([
        'fleet.policy 200',
        'fleet.policy 404',
        'fleet.policy 400',
        'fleet.drain 200',
        'fleet.resume 200',
        'fleet.pause 200',
      ]),
    );
  });

  it('a paused group pauses a machine that joins it later; resuming the group resumes it', async () => {
    const pause = await admin(['contributors', 'pause', '--group', 'office', '--reason', 'audit']);
    expect(pause.code, pause.stderr).toBe(0);
    // A new machine tagged office comes up after the pause: it is paused from its first contact
    // and takes nothing of a job the others would run.
    const late = await cluster.startContributor(`office-late-${Date.now()}`, 1, [
      '--tags',
      'office',
    ]);
    try {
      await pausedGroupTakesLateJoiner(late);
    } finally {
      await admin(['contributors', 'resume', '--group', 'office']);
      await cluster.kill(late, 'SIGTERM');
    }
  });

  async function pausedGroupTakesLateJoiner(late: Proc): Promise<void> {
    const lateId = /contributor (\S+) serving/.exec(late.output())![1]!;
    await until('the late machine to show paused', 20_000, async () =>
      (await byId()).get(lateId)?.fleet === 'paused' ? true : undefined,
    );
    const job = await cluster.writeJob('while-paused', busyJob('while-paused', 4, 200));
    const done = await cluster.cli(['submit', job, '--wait', '--json', '--data', cluster.dataDir]);
    expect(done.code, done.stderr).toBe(0);
    const { id } = JSON.parse(done.stdout) as { id: string };
    const ran = (await tasks(id)).flatMap((t) => t.attempts).map((a) => a.contributorId);
    expect(ran.length).toBeGreaterThan(0);
    expect(ran).not.toContain(lateId);
    expect(ran).not.toContain(machines[2]!.id); // the office machine is paused too
    // Resuming the group resumes both.
    const resume = await admin(['contributors', 'resume', '--group', 'office']);
    expect(resume.code, resume.stderr).toBe(0);
    const seen = await byId();
    expect([seen.get(lateId)?.fleet ?? null, seen.get(machines[2]!.id)?.fleet ?? null]).toEqual([
      null,
      null,
    ]);
  }
});
