// Promise (docs/promises.md): cutting a contributor off the network mid-job costs only its running attempts;
// after the link is back it works again, and no task is recorded twice.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobSummary, TaskRow } from '../../shared/api.js';
import { startProc, type Proc } from '../integration/helpers/cluster.js';
import { busyJob } from '../integration/helpers/jobs.js';
import { Lan, netnsAvailable, type Host } from '../integration/helpers/netns.js';
import { double } from './helpers/check.js';
import { report, sleep } from './helpers/scale.js';
import { mkdir, writeFile } from 'node:fs/promises';

const canNetns = netnsAvailable();
if (!canNetns)
  console.warn('skipping partition test: `ip netns` is not permitted here (needs root)');

describe.skipIf(!canNetns)('a contributor cut off by its link going down mid-job', () => {
  let lan: Lan;
  let dir: string;
  let coord: Host;
  let hosts: Host[];
  let url: string;
  const procs: Proc[] = [];
  const data = () => join(dir, 'coordinator');

  /** GET an API path from inside the coordinator's namespace (the test's own is not on that LAN). */
  async function get<T>(path: string): Promise<T> {
    const { adminToken } = JSON.parse(await readFile(join(data(), 'identity.json'), 'utf8')) as {
      adminToken: string;
    };
    const script = `fetch(${JSON.stringify(url + '/api/v1' + path)}, { headers: { authorization: 'Bearer ' + process.env.T } }).then(async (r) => { if (!r.ok) process.exit(1); process.stdout.write(await r.text()); })`;
    const child = spawn('ip', ['netns', 'exec', coord.ns, process.execPath, '-e', script], {
      // The certificate is self-signed and this is our own namespace; pinning is tested elsewhere.
      env: {
        ...process.env,
        T: adminToken,
        NODE_TLS_REJECT_UNAUTHORIZED: '0',
        NODE_NO_WARNINGS: '1',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    if (code !== 0) throw new Error(`GET ${path} failed`);
    return (
      path.endsWith('/results')
        ? out
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as unknown)
        : JSON.parse(out)
    ) as T;
  }

  beforeAll(async () => {
    lan = Lan.create(3);
    [coord, ...hosts] = lan.hosts as [Host, Host, Host];
    dir = await mkdtemp(join(tmpdir(), 'colony-part-'));
    const c = await startProc(
      ['coordinator', '--data', data(), '--host', coord.address, '--port', '7443', '--no-mdns'],
      /listening at (https:\/\/\S+)/,
      {},
      20_000,
      coord.ns,
    );
    procs.push(c);
    url = c.match[1] as string;
    const token = await lan.cli(coord, [
      'token',
      'join',
      '--data',
      data(),
      '--address',
      `${coord.address}:7443`,
    ]);
    expect(token.code, token.stderr).toBe(0);
    for (const [i, h] of hosts.entries())
      procs.push(
        await startProc(
          [
            'contributor',
            '--join',
            token.stdout.trim(),
            '--data',
            join(dir, `w${i}`),
            '--workers',
            '2',
            '--heartbeat',
            '300',
            '--no-mdns',
          ],
          /contributor (\S+) serving/,
          {},
          20_000,
          h.ns,
        ),
      );
  });
  afterAll(async () => {
    for (const p of procs) {
      if (p.child.exitCode === null && p.child.signalCode === null) process.kill(p.pid, 'SIGKILL');
      await p.exited;
    }
    lan?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('re-assigns its attempts, takes work again once the link is back, and duplicates nothing', async () => {
    const jobDir = join(dir, 'job');
    await mkdir(jobDir, { recursive: true });
    for (const [f, text] of Object.entries(busyJob('cut', 300, 40)))
      await writeFile(join(jobDir, f), text);
    const submit = await lan.cli(coord, ['submit', join(jobDir, 'job.yaml'), '--data', data()]);
    expect(submit.code, submit.stderr).toBe(0);
    const id = submit.stdout.trim();
    const victimId = (procs[1] as Proc & { match: RegExpExecArray }).match[1] as string;
    const victim = hosts[0] as Host;
    for (let i = 0; i < 200; i++) {
      if ((await get<JobSummary>(`/jobs/${id}`)).counts.succeeded >= 40) break;
      await sleep(50);
    }
    const tasksNow = async () =>
      (await get<{ tasks: TaskRow[] }>(`/jobs/${id}/tasks?limit=1000`)).tasks;
    const cutAt = Date.now();
    execFileSync('ip', ['-n', victim.ns, 'link', 'set', victim.dev, 'down']);
    // What it held once the cut is in force (results sent just before the cut have landed).
    await sleep(150);
    const held = (await tasksNow())
      .flatMap((t) => t.attempts)
      .filter(
        (a) => a.contributorId === victimId && (a.state === 'running' || a.state === 'assigned'),
      )
      .map((a) => a.attemptId);
    expect(held.length).toBeGreaterThan(0);
    let reassignMs = 0;
    try {
      for (let i = 0; i < 300 && reassignMs === 0; i++) {
        const tasks = await tasksNow();
        const moved = tasks
          .filter((t) => t.attempts.some((a) => held.includes(a.attemptId)))
          .every(
            (t) =>
              t.attempts.some(
                (a) =>
                  !held.includes(a.attemptId) &&
                  a.number >
                    Math.min(
                      ...t.attempts.filter((x) => held.includes(x.attemptId)).map((x) => x.number),
                    ),
              ) || t.state === 'succeeded',
          );
        if (moved) reassignMs = Date.now() - cutAt;
        else await sleep(50);
      }
      await sleep(Math.max(0, 2_500 - (Date.now() - cutAt)));
    } finally {
      execFileSync('ip', ['-n', victim.ns, 'link', 'set', victim.dev, 'up']);
    }
    const restoredAt = Date.now();
    // Work resumes on the cut-off contributor: it is assigned something after the link is back.
    // The other contributor may finish the first job before it is back, so a second job waits.
    const nextDir = join(dir, 'next');
    await mkdir(nextDir, { recursive: true });
    for (const [f, text] of Object.entries(busyJob('next', 200, 40)))
      await writeFile(join(nextDir, f), text);
    const next = await lan.cli(coord, ['submit', join(nextDir, 'job.yaml'), '--data', data()]);
    expect(next.code, next.stderr).toBe(0);
    const nextId = next.stdout.trim();
    let resumeMs = -1;
    for (let i = 0; i < 600 && resumeMs < 0; i++) {
      const attempts = [
        ...(await tasksNow()),
        ...(await get<{ tasks: TaskRow[] }>(`/jobs/${nextId}/tasks?limit=1000`)).tasks,
      ].flatMap((t) => t.attempts);
      if (attempts.some((a) => a.contributorId === victimId && a.assignedAt > restoredAt))
        resumeMs = Date.now() - restoredAt;
      else await sleep(50);
    }
    for (let i = 0; i < 600; i++) {
      if ((await get<JobSummary>(`/jobs/${id}`)).state !== 'running') break;
      await sleep(100);
    }
    const job = await get<JobSummary>(`/jobs/${id}`);
    expect(job.state).toBe('succeeded');
    const results = await get<{ task: number; input: unknown; output: unknown }[]>(
      `/jobs/${id}/results`,
    );
    const tasks = await tasksNow();
    const duplicated =
      tasks.filter((t) => t.attempts.filter((a) => a.state === 'succeeded').length !== 1).length +
      (results.length - new Set(results.map((r) => r.task)).size);
    const wrong = results.filter(
      (r) => JSON.stringify(r.output) !== JSON.stringify(double(r.input)),
    ).length;
    const lost = 300 - new Set(results.map((r) => r.task)).size;
    for (const a of tasks.flatMap((t) => t.attempts).filter((x) => held.includes(x.attemptId)))
      expect(a.state).toBe('lost');
    console.info(
      `partition: ${held.length} attempts held, re-assigned in ${reassignMs} ms; contributor took work again ${resumeMs} ms after the link came back`,
    );
    report({
      kind: 'network partition (link down/up)',
      faults: 1,
      jobs: 1,
      tasks: 300,
      lost,
      duplicated,
      wrong,
      recoveryMs: [reassignMs],
      note: `re-assigned after cut; back to work ${resumeMs} ms after restore`,
    });
    expect({ lost, duplicated, wrong }).toEqual({ lost: 0, duplicated: 0, wrong: 0 });
    expect(reassignMs).toBeGreaterThan(0);
    expect(resumeMs).toBeGreaterThanOrEqual(0);
  });
});
