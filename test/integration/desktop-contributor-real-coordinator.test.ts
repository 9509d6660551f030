// Promise: the desktop app's contributor mode (Electron APIs are the TEST DOUBLE of
// test/unit/main/fake-electron.ts; the coordinator process, its TLS and the credential are real)
// joins a real coordinator with a join token, runs its tasks, carries on after the coordinator is
// killed and restarted, and refuses a coordinator whose certificate is not the token's.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ContributorInfo, JobSummary } from '../../shared/api.js';
import { ColonyApp } from '../../electron/main/app.js';
import { parseJoinToken } from '../../electron/grid/trust/join-token.js';
import { FakeElectron, waitFor } from '../unit/main/fake-electron.js';
import { buildWorker } from '../unit/grid/worker/harness.js';
import { Cluster } from './helpers/cluster.js';

const SQUARES = {
  'job.yaml':
    'name: squares\nruntime: node\nmodule: ./square.mjs\ntasks:\n  sweep:\n    x: { range: [0, 10] }\n',
  'square.mjs': 'export default async ({ x }) => ({ square: x * x });\n',
};

/** The desktop app's settings as the first-run choice and a pasted token leave them. */
function writeSettings(userData: string, joinToken: string): void {
  mkdirSync(userData, { recursive: true });
  writeFileSync(
    path.join(userData, 'settings.json'),
    JSON.stringify({
      version: 1,
      mode: 'contributor',
      contributor: { joinToken, policy: { computeWhen: 'always', maxWorkers: 2 } },
    }),
  );
}

describe('desktop contributor mode against a real coordinator process', () => {
  let cluster: Cluster;
  let e: FakeElectron;
  let app: ColonyApp | undefined;
  let desktop: string;
  beforeEach(async () => {
    cluster = await Cluster.create();
    desktop = path.join(cluster.dir, 'desktop');
    e = new FakeElectron(desktop);
    buildWorker(path.join(desktop, 'resources', 'app.asar.unpacked', 'dist', 'electron', 'grid'));
  });
  afterEach(async () => {
    await app?.stop();
    app = undefined;
    await cluster.stop();
  });

  async function runSquares(name: string): Promise<JobSummary> {
    const file = await cluster.writeJob(name, SQUARES);
    const submit = await cluster.cli(['submit', file, '--data', cluster.dataDir]);
    expect(submit.code, submit.stderr).toBe(0);
    const job = await cluster.waitJob(submit.stdout.trim());
    expect(job.state).toBe('succeeded');
    const results = await cluster.results(job.id);
    expect(results.map((r) => r.output)).toEqual(
      Array.from({ length: 10 }, (_, x) => ({ square: x * x })),
    );
    return job;
  }

  const online = async () =>
    (await (await cluster.client()).json<ContributorInfo[]>('GET', '/contributors')).filter(
      (c) => c.state === 'online',
    );

  it('joins with a join token (its own credential, not the secret), runs tasks, and survives a coordinator restart', async () => {
    await cluster.startCoordinator();
    const token = await cluster.joinToken();
    const { joinSecret } = await cluster.identity();
    writeSettings(path.join(desktop, 'userData'), token);

    app = new ColonyApp(e, { refreshMs: 50, sampleMs: 50, mdns: false });
    await app.start();
    await app.modeReady;
    expect(app.modeError).toBeUndefined();

    // The secret was traded for a credential of its own, kept owner-only beside the pin.
    const trustFile = path.join(desktop, 'userData', 'contributor', 'trust.json');
    const trust = JSON.parse(readFileSync(trustFile, 'utf8')) as {
      credential: string;
      fingerprint: string;
      url: string;
    };
    expect(trust.credential).not.toBe(joinSecret);
    expect(trust.credential.length).toBeGreaterThan(16);
    expect(trust.fingerprint).toBe(parseJoinToken(token).fingerprint);
    expect(trust.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);

    await waitFor(() => e.tray.models.at(-1)?.icon === 'idle');
    const contributorId = app.contributor!.contributorId;
    expect((await online()).map((c) => c.id)).toEqual([contributorId]);
    await runSquares('before-restart');

    // kill -9 the coordinator and start it again on the same port and data.
    await cluster.kill(cluster.coordinator!);
    await waitFor(() => e.tray.models.at(-1)?.icon === 'disconnected');
    await cluster.startCoordinator();
    await waitFor(() => e.tray.models.at(-1)?.icon === 'idle', 20_000);
    const job = await runSquares('after-restart');
    const tasks = await (
      await cluster.client()
    ).json<{ tasks: { attempts: { contributorId: string }[] }[] }>(
      'GET',
      `/jobs/${job.id}/tasks?limit=100`,
    );
    expect(new Set(tasks.tasks.flatMap((t) => t.attempts.map((a) => a.contributorId)))).toEqual(
      new Set([contributorId]),
    );
  });

  it('refuses an impostor coordinator with another certificate: nothing sent, nothing stored', async () => {
    // The real coordinator issues the token; an impostor (its own identity and certificate)
    // answers at the token's address.
    await cluster.startCoordinator();
    const realToken = parseJoinToken(await cluster.joinToken());
    await cluster.kill(cluster.coordinator!);
    const impostor = await Cluster.create();
    try {
      await impostor.startCoordinator();
      const token = `colony1.${realToken.coordinatorId}.${realToken.fingerprint}.${realToken.secret}@127.0.0.1:${impostor.port}`;
      writeSettings(path.join(desktop, 'userData'), token);

      app = new ColonyApp(e, { refreshMs: 50, sampleMs: 50, mdns: false });
      await app.start();
      await app.modeReady;
      // The pin, not the impostor's refusal of a foreign secret, is what stopped it.
      const mismatch =
        /^coordinator certificate does not match the join token \(it presented sha256 /;
      expect(app.modeError).toMatch(mismatch);
      expect(app.contributor).toBeUndefined();
      const state = (await e.invoke('app:state')) as { mode: string; error?: string };
      expect(state.mode).toBe('contributor');
      expect(state.error).toMatch(mismatch);
      await waitFor(() => /certificate does not match/.test(e.tray.models.at(-1)?.tooltip ?? ''));
      expect(existsSync(path.join(desktop, 'userData', 'contributor', 'trust.json'))).toBe(false);
      // The impostor never heard of this machine: no contributor, no pairing request.
      const client = await impostor.client();
      expect(await client.json<unknown[]>('GET', '/contributors')).toEqual([]);
      expect(await client.json<unknown[]>('GET', '/pairing')).toEqual([]);
    } finally {
      await impostor.stop();
    }
  });

  it('stops serving an impostor that takes over the address after joining, and comes back to the real one', async () => {
    await cluster.startCoordinator();
    writeSettings(path.join(desktop, 'userData'), await cluster.joinToken());
    app = new ColonyApp(e, { refreshMs: 50, sampleMs: 50, mdns: false });
    await app.start();
    await app.modeReady;
    await waitFor(() => e.tray.models.at(-1)?.icon === 'idle');
    const port = cluster.port;

    await cluster.kill(cluster.coordinator!);
    const impostor = await Cluster.create();
    try {
      impostor.port = port; // the same address, another certificate
      await impostor.startCoordinator();
      const refusals = () =>
        readFileSync(path.join(desktop, 'userData', 'contributor.log'), 'utf8').split(
          'coordinator certificate does not match',
        ).length - 1;
      await waitFor(() => refusals() >= 2, 20_000);
      expect(app.contributor?.manager.status().connected).toBe(false);
      const client = await impostor.client();
      expect(await client.json<unknown[]>('GET', '/contributors')).toEqual([]);
      await impostor.kill(impostor.coordinator!);
    } finally {
      await impostor.stop();
    }
    await cluster.startCoordinator();
    await waitFor(() => e.tray.models.at(-1)?.icon === 'idle', 20_000);
    await runSquares('back-to-the-real-one');
  });
});
