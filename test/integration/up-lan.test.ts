// Promise: `colony up --lan` is a coordinator on the LAN (every interface, advertised over mDNS)
// with a contributor of its own; another machine joins with the token it prints (no address: found
// over mDNS) and both run the job. On a LAN of network namespaces: nothing reaches a real network.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContributorInfo, JobSummary, TaskRow } from '../../shared/api.js';
import { ROOT, runCli, startProc, type Proc } from './helpers/cluster.js';
import { busyJob } from './helpers/jobs.js';
import { Lan, netnsAvailable, type Host } from './helpers/netns.js';

const canNetns = netnsAvailable();
if (!canNetns)
  console.warn('skipping `colony up --lan`: `ip netns` is not permitted here (needs root)');

describe('colony up --lan', () => {
  it('refuses LAN options without --lan, starting nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'colony-up-'));
    try {
      const res = await runCli(['up', '--data', dir, '--port', '0', '--interface', '10.0.0.1']);
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(/--interface and --name go with --lan/);
      const help = await runCli(['up', '--help']);
      expect(help.stdout).toMatch(/--lan\s+listen on every interface and advertise over mDNS/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe.skipIf(!canNetns)('on a LAN of network namespaces', () => {
    let lan: Lan;
    let dir: string;
    let office: Host;
    let desk: Host;
    const procs: Proc[] = [];

    beforeAll(async () => {
      lan = Lan.create(2);
      [office, desk] = lan.hosts as [Host, Host];
      dir = await mkdtemp(join(tmpdir(), 'colony-up-lan-'));
    });
    afterAll(async () => {
      for (const p of procs) {
        if (p.child.exitCode === null && p.child.signalCode === null)
          process.kill(p.pid, 'SIGTERM');
        const timer = setTimeout(
          () => p.child.exitCode === null && process.kill(p.pid, 'SIGKILL'),
          5000,
        );
        await p.exited;
        clearTimeout(timer);
      }
      lan?.destroy();
      await rm(dir, { recursive: true, force: true });
    });

    it('serves the LAN: another machine joins by mDNS with the printed token and takes tasks', async () => {
      const data = join(dir, 'office');
      const up = await startProc(
        [
          'up',
          '--lan',
          '--interface',
          office.address,
          '--port',
          '0',
          '--data',
          data,
          '--workers',
          '1',
        ],
        /other machines join with: colony contributor --join '(\S+)'/,
        {},
        30_000,
        office.ns,
      );
      procs.push(up);
      const token = up.match[1]!;
      expect(token).toMatch(/^colony1\.[0-9a-f]+\.[0-9a-f]{64}\.[A-Za-z0-9_-]+$/); // no address
      expect(up.output()).toContain(`LAN addresses: ${office.address}:`);
      const contributor = await startProc(
        [
          'contributor',
          '--join',
          token,
          '--interface',
          desk.address,
          '--data',
          join(dir, 'desk'),
          '--workers',
          '1',
          '--heartbeat',
          '300',
        ],
        /contributor (\S+) serving (https:\/\/\S+)/,
        {},
        40_000,
        desk.ns,
      );
      procs.push(contributor);
      const deskId = contributor.match[1]!;
      // It found the coordinator at its LAN address, not through loopback.
      expect(contributor.match[2]).toMatch(
        new RegExp(`^https://${office.address.replaceAll('.', '\\.')}:\\d+$`),
      );

      const cli = (args: string[]) => runCli([...args, '--data', data], {}, office.ns);
      for (let i = 0; i < 200; i++) {
        const list = JSON.parse(
          (await cli(['contributors', '--json'])).stdout,
        ) as ContributorInfo[];
        if (list.filter((c) => c.state === 'online').length === 2) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const folder = join(dir, 'jobs', 'busy');
      await mkdir(folder, { recursive: true });
      for (const [file, text] of Object.entries(busyJob('busy', 30, 200)))
        await writeFile(join(folder, file), text);
      const submit = await cli(['submit', join(folder, 'job.yaml'), '--wait', '--json']);
      expect(submit.code, submit.stderr).toBe(0);
      const job = JSON.parse(submit.stdout) as JobSummary;
      expect(job.state).toBe('succeeded');
      // Which machines ran its tasks, asked from the office (the API answers there on loopback).
      const script = [
        `import { ApiClient } from ${JSON.stringify(join(ROOT, 'dist/electron/cli/client.js'))};`,
        `import { readFileSync } from 'node:fs';`,
        `const d = ${JSON.stringify(data)};`,
        `const id = JSON.parse(readFileSync(d + '/identity.json', 'utf8'));`,
        `const ep = JSON.parse(readFileSync(d + '/coordinator.json', 'utf8'));`,
        `const c = new ApiClient(ep.url, id.adminToken, ep.fingerprint);`,
        `const t = await c.json('GET', '/jobs/${job.id}/tasks?limit=100');`,
        `process.stdout.write(JSON.stringify(t.tasks));`,
      ].join('\n');
      const rows = JSON.parse(
        execFileSync(
          'ip',
          ['netns', 'exec', office.ns, process.execPath, '--input-type=module', '-e', script],
          { encoding: 'utf8' },
        ),
      ) as TaskRow[];
      const machines = new Set(rows.flatMap((t) => t.attempts.map((a) => a.contributorId)));
      expect(machines.size).toBe(2);
      expect(machines).toContain(deskId);
      const list = JSON.parse((await cli(['contributors', '--json'])).stdout) as ContributorInfo[];
      expect(list.map((c) => c.id)).toContain(deskId);
      expect(list.filter((c) => c.state === 'online')).toHaveLength(2);
    });
  });
});
