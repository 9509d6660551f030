// Promises of docs/trust.md on a LAN of our own (network namespaces): discovery by mDNS, pinned
// certificates against an impostor, pairing approve / deny, revocation.
import { cp, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContributorInfo, JobSummary, TaskRow } from '../../shared/api.js';
import { startProc, type Proc } from './helpers/cluster.js';
import { busyJob } from './helpers/jobs.js';
import { Lan, netnsAvailable, type Host } from './helpers/netns.js';
import { writeFile, mkdir } from 'node:fs/promises';

const canNetns = netnsAvailable();
if (!canNetns) console.warn('skipping LAN tests: `ip netns` is not permitted here (needs root)');

describe.skipIf(!canNetns)('on a LAN of network namespaces', () => {
  let lan: Lan;
  let dir: string;
  let coord: Host;
  let worker: Host;
  let other: Host;
  const procs: Proc[] = [];
  let coordinator: Proc | undefined;
  const coordData = () => join(dir, 'coordinator');

  async function startCoordinator(host: Host, data: string, port: number): Promise<Proc> {
    const p = await startProc(
      [
        'coordinator',
        '--data',
        data,
        '--host',
        '0.0.0.0',
        '--port',
        String(port),
        '--interface',
        host.address,
      ],
      /listening at (https:\/\/\S+)/,
      {},
      20_000,
      host.ns,
    );
    procs.push(p);
    return p;
  }

  async function startContributor(
    host: Host,
    data: string,
    args: string[],
    ready = /contributor (\S+) serving/,
  ): Promise<Proc & { match: RegExpExecArray }> {
    const p = await startProc(
      [
        'contributor',
        '--data',
        data,
        '--workers',
        '2',
        '--heartbeat',
        '300',
        '--interface',
        host.address,
        ...args,
      ],
      ready,
      {},
      40_000,
      host.ns,
    );
    procs.push(p);
    return p;
  }

  async function stop(p: Proc): Promise<void> {
    if (p.child.exitCode === null && p.child.signalCode === null) process.kill(p.pid, 'SIGTERM');
    const timer = setTimeout(
      () => p.child.exitCode === null && process.kill(p.pid, 'SIGKILL'),
      5000,
    );
    await p.exited;
    clearTimeout(timer);
  }

  async function writeJobFile(name: string, count: number): Promise<string> {
    const folder = join(dir, 'jobs', name);
    await mkdir(folder, { recursive: true });
    for (const [file, text] of Object.entries(busyJob(name, count, 5)))
      await writeFile(join(folder, file), text);
    return join(folder, 'job.yaml');
  }

  async function runJob(name: string, count: number): Promise<JobSummary> {
    const res = await lan.cli(coord, [
      'submit',
      await writeJobFile(name, count),
      '--wait',
      '--json',
      '--data',
      coordData(),
    ]);
    expect(res.code, res.stderr).toBe(0);
    return JSON.parse(res.stdout) as JobSummary;
  }

  async function contributors(host: Host, data: string): Promise<ContributorInfo[]> {
    const res = await lan.cli(host, ['contributors', '--json', '--data', data]);
    expect(res.code, res.stderr).toBe(0);
    return JSON.parse(res.stdout) as ContributorInfo[];
  }

  beforeAll(async () => {
    lan = Lan.create(3);
    [coord, worker, other] = lan.hosts as [Host, Host, Host];
    dir = await mkdtemp(join(tmpdir(), 'colony-lan-'));
  });
  afterAll(async () => {
    await Promise.all(procs.map(stop));
    lan?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it('a contributor with only a join token finds the coordinator over mDNS and runs a job', async () => {
    coordinator = await startCoordinator(coord, coordData(), 7443);
    const token = await lan.cli(coord, ['token', 'join', '--data', coordData()]);
    expect(token.stdout).toMatch(/^colony1\.[0-9a-f]+\.[0-9a-f]{64}\.[A-Za-z0-9_-]+\n$/); // no address in it
    await startContributor(worker, join(dir, 'worker'), ['--join', token.stdout.trim()]);
    const job = await runJob('first', 20);
    expect(job.state).toBe('succeeded');
  });

  it('follows the coordinator to a new address and port, by mDNS, and carries on', async () => {
    await stop(coordinator!);
    lan.moveHost(coord, 11);
    coordinator = await startCoordinator(coord, coordData(), 7444);
    const job = await runJob('after-move', 20);
    expect(job.state).toBe('succeeded');
    const [c] = await contributors(coord, coordData());
    expect(c?.state).toBe('online');
  });

  it('refuses an impostor advertising the same coordinator with another certificate', async () => {
    await stop(coordinator!);
    // Same id, same secrets, but not the certificate the token pins.
    const impostorData = join(dir, 'impostor');
    await mkdir(impostorData, { recursive: true });
    await cp(join(coordData(), 'identity.json'), join(impostorData, 'identity.json'));
    const impostor = await startCoordinator(other, impostorData, 7443);
    const token = await lan.cli(coord, ['token', 'join', '--data', coordData()]);
    const res = await lan.cli(worker, [
      'contributor',
      '--join',
      token.stdout.trim(),
      '--data',
      join(dir, 'fooled'),
      '--interface',
      worker.address,
    ]);
    expect(res.code).toBe(3);
    expect(res.stderr).toContain('coordinator certificate does not match the join token');
    expect(await contributors(other, impostorData)).toEqual([]);
    await expect(stat(join(dir, 'fooled', 'trust.json'))).rejects.toThrow();
    await stop(impostor);
    coordinator = await startCoordinator(coord, coordData(), 7444);
  });

  it('pairs a contributor without a token once approved, revokes it at once; a denied one gets nothing', async () => {
    const pending = await startContributor(
      other,
      join(dir, 'paired'),
      [],
      /approve contributor (\S+)/,
    );
    const id = pending.match[1]!;
    const listed = await lan.cli(coord, ['contributors', 'approve', id, '--data', coordData()]);
    expect(listed.code, listed.stderr).toBe(0);
    for (let i = 0; i < 100 && !/serving/.test(pending.output()); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(pending.output()).toMatch(/contributor \S+ serving/);

    const job = await runJob('with-paired', 40);
    expect(job.state).toBe('succeeded');
    expect(await attemptsBy(job.id, id)).toBeGreaterThan(0);

    const revoke = await lan.cli(coord, ['contributors', 'revoke', id, '--data', coordData()]);
    expect(revoke.code, revoke.stderr).toBe(0);
    const afterRevoke = (await contributors(coord, coordData())).find((c) => c.id === id);
    expect(afterRevoke?.state).toBe('offline');
    const later = await runJob('after-revoke', 20);
    expect(later.state).toBe('succeeded');
    expect(await attemptsBy(later.id, id)).toBe(0);

    const denied = await startContributor(
      worker,
      join(dir, 'denied'),
      [],
      /approve contributor (\S+)/,
    );
    const deny = await lan.cli(coord, [
      'contributors',
      'deny',
      denied.match[1]!,
      '--data',
      coordData(),
    ]);
    expect(deny.code, deny.stderr).toBe(0);
    expect(await denied.exited).toBe(3);
    expect(denied.output()).toMatch(/pairing not granted/);
  });

  async function attemptsBy(jobId: string, contributorId: string): Promise<number> {
    const rows = await taskRows(jobId);
    return rows.flatMap((t) => t.attempts).filter((a) => a.contributorId === contributorId).length;
  }

  async function taskRows(jobId: string): Promise<TaskRow[]> {
    // The CLI has no task listing; ask the API from inside the coordinator's host.
    const script = `
      const { ApiClient } = await import(${JSON.stringify(join(process.cwd(), 'dist/electron/cli/client.js'))});
      const fs = await import('node:fs');
      const d = ${JSON.stringify(coordData())};
      const e = JSON.parse(fs.readFileSync(d + '/coordinator.json', 'utf8'));
      const i = JSON.parse(fs.readFileSync(d + '/identity.json', 'utf8'));
      const c = new ApiClient(e.url, i.adminToken, e.fingerprint);
      process.stdout.write(JSON.stringify(await c.json('GET', '/jobs/${jobId}/tasks?limit=1000')));`;
    const { spawnSync } = await import('node:child_process');
    const out = spawnSync(
      'ip',
      ['netns', 'exec', coord.ns, process.execPath, '--input-type=module', '-e', script],
      { encoding: 'utf8' },
    );
    return (JSON.parse(out.stdout) as { tasks: TaskRow[] }).tasks;
  }
});
