// Promise (docs/trust.md, docs/promises.md): node tasks run under Node's permission model end to end, command jobs need
// --allow-commands, and no secret (admin token, join secret, credential) ever reaches a log.
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobSummary } from '../../shared/api.js';
import { Cluster, startProc, type Proc } from '../integration/helpers/cluster.js';
import { busyJob } from '../integration/helpers/jobs.js';
import { allTasks } from './helpers/check.js';
import { pair } from '../../electron/grid/contributor/link/enrol.js';
import { report, sleep } from './helpers/scale.js';

describe('security, end to end through a real coordinator and contributor', () => {
  let cluster: Cluster;
  let coordinator: Proc;
  const logged: Proc[] = [];
  beforeAll(async () => {
    cluster = await Cluster.create();
    // Everything at debug level, so that the log check below sees as much as there is.
    const proc = await startProc(
      ['coordinator', '--data', cluster.dataDir, '--port', '0', '--no-mdns'],
      /listening at (https:\/\/\S+)/,
      { COLONY_LOG: 'debug' },
    );
    coordinator = proc;
    cluster.procs.push(proc);
    cluster.coordinator = { ...proc, url: proc.match[1] as string };
    cluster.port = Number(new URL(cluster.coordinator.url).port);
    const contributor = await startProc(
      [
        'contributor',
        '--join',
        await cluster.joinToken(),
        '--data',
        join(cluster.dir, 'plain'),
        '--workers',
        '2',
        '--heartbeat',
        '300',
        '--no-mdns',
      ],
      /contributor (\S+) serving/,
      { COLONY_LOG: 'debug' },
    );
    cluster.procs.push(contributor);
    logged.push(coordinator, contributor);
  });
  afterAll(() => cluster.stop());

  const submit = async (name: string, files: Record<string, string>) => {
    const res = await cluster.cli([
      'submit',
      await cluster.writeJob(name, files),
      '--data',
      cluster.dataDir,
    ]);
    expect(res.code, res.stderr).toBe(0);
    return res.stdout.trim();
  };

  it('a node task that spawns, writes outside its directory or reads the home fails: permission denied', async () => {
    const outside = join(cluster.dir, 'escaped.txt');
    const secretFile = join(cluster.dir, 'plain');
    const id = await submit('escape', {
      'job.yaml': `name: escape\nruntime: node\nmodule: ./escape.mjs\ntasks:\n  inputs: [spawn, write, home, credentials]\nlimits: { maxAttempts: 1, timeoutSec: 20 }\n`,
      'escape.mjs': [
        "import { execFileSync } from 'node:child_process';",
        "import { readdirSync, readFileSync, writeFileSync } from 'node:fs';",
        "import { homedir } from 'node:os';",
        'export default async (what) => {',
        "  if (what === 'spawn') return execFileSync('id').toString();",
        `  if (what === 'write') { writeFileSync(${JSON.stringify(outside)}, 'x'); return 'wrote'; }`,
        "  if (what === 'home') return readdirSync(homedir());",
        `  return readdirSync(${JSON.stringify(secretFile)}).map((f) => { try { return readFileSync(${JSON.stringify(secretFile)} + '/' + f, 'utf8'); } catch (e) { if (e.code === 'EISDIR') return ''; throw e; } });`,
        '};',
        '',
      ].join('\n'),
    });
    const job = await cluster.waitJob(id, 60_000);
    expect(job.state).toBe('failed');
    const tasks = await allTasks(cluster, id);
    expect(tasks).toHaveLength(4);
    for (const t of tasks) {
      expect(t.state, `${String(t.input)}: ${JSON.stringify(t.output)}`).toBe('failed');
      expect(t.error, String(t.input)).toMatch(/permission denied/i);
      expect(t.attempts.map((a) => a.state)).toEqual(['failed']);
    }
    expect(existsSync(outside)).toBe(false);
    report({
      kind: 'escaping node task',
      faults: 4,
      jobs: 1,
      tasks: 4,
      lost: 0,
      duplicated: 0,
      wrong: 0,
      recoveryMs: [],
      note: 'spawn / write outside / read home / read credentials: all "permission denied"',
    });
  });

  it('a command job stays queued, with a reason, where no contributor allows commands', async () => {
    const id = await submit('cmd', {
      'job.yaml':
        'name: cmd\nruntime: command\ncommand: ["echo", "{x}"]\ntasks:\n  inputs: [{ x: 1 }]\n',
    });
    const client = await cluster.client();
    let job!: JobSummary;
    for (let i = 0; i < 15; i++) {
      job = await client.json<JobSummary>('GET', `/jobs/${id}`);
      await sleep(100);
    }
    expect(job.state).toBe('queued');
    expect(job.reason).toMatch(/no contributor with commands allowed/);
    expect((await allTasks(cluster, id)).flatMap((t) => t.attempts)).toEqual([]);
    await client.request('POST', `/jobs/${id}/cancel`);
  });

  it('never writes the admin token, the join secret or an issued credential to any log', async () => {
    // Pairing too (the contributor's own enrolment code; without mDNS it cannot run from the CLI
    // here): ask, an admin approves with the CLI, the claim returns a credential.
    const identity = await cluster.identity();
    await mkdir(join(cluster.dir, 'paired'), { recursive: true });
    let approved: Promise<{ code: number | null; stderr: string }> | undefined;
    const trust = await pair({
      dataDir: join(cluster.dir, 'paired'),
      contributorId: 'c-paired',
      name: 'paired',
      coordinatorId: identity.coordinatorId,
      fingerprint: (
        JSON.parse(await readFile(join(cluster.dataDir, 'coordinator.json'), 'utf8')) as {
          fingerprint: string;
        }
      ).fingerprint,
      url: cluster.coordinator!.url,
      pollMs: 100,
      timeoutMs: 20_000,
      onRequested: () => {
        approved = cluster.cli(['contributors', 'approve', 'c-paired', '--data', cluster.dataDir]);
      },
    });
    expect((await approved!).code).toBe(0);
    expect(trust.credential.length).toBeGreaterThan(16);
    const id = await submit('work', busyJob('work', 30, 5));
    expect((await cluster.waitJob(id)).state).toBe('succeeded');

    const secrets = new Map<string, string>([
      ['admin token', identity.adminToken],
      ['join secret', identity.joinSecret],
      ['paired credential', trust.credential],
    ]);
    // Credentials as the contributors stored them (whatever the file layout: every long string).
    for (const name of ['plain'])
      for (const f of await readdir(join(cluster.dir, name), { recursive: true })) {
        const text = await readFile(join(cluster.dir, name, f), 'utf8').catch(() => '');
        for (const m of text.matchAll(/"(credential|token|secret)"\s*:\s*"([^"]{16,})"/gi))
          secrets.set(`${name} ${m[1] as string}`, m[2] as string);
      }
    expect([...secrets.keys()].some((k) => k.startsWith('plain'))).toBe(true);
    const logs = logged.map((p) => p.output()).join('\n');
    const coordinatorLog = await readFile(join(cluster.dataDir, 'colony.log'), 'utf8').catch(
      () => '',
    );
    expect(logs.length).toBeGreaterThan(1_000); // debug logging really was on
    for (const [what, value] of secrets) {
      expect(logs.includes(value), `${what} in process output`).toBe(false);
      expect(coordinatorLog.includes(value), `${what} in colony.log`).toBe(false);
    }
    expect(homedir()).toBeTruthy();
    report({
      kind: 'secrets in debug logs',
      faults: secrets.size,
      jobs: 1,
      tasks: 30,
      lost: 0,
      duplicated: 0,
      wrong: 0,
      recoveryMs: [],
      note: `${logs.length} bytes of debug logs searched: none found`,
    });
  });
});
