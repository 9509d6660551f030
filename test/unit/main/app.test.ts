// The desktop app's main process driven through a TEST DOUBLE of Electron's API (FakeElectron in
// fake-electron.ts implements ElectronLike: no Electron runtime is involved). Real settings on
// disk, a real contributor with real workers against a real coordinator (HTTPS, credentials) on
// loopback.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ColonyApp } from '../../../electron/main/app.js';
import { FAKE_APP_VERSION, FakeElectron, FIRST_RUN_URL, waitFor } from './fake-electron.js';
import { buildWorker } from '../grid/worker/harness.js';
import { startTestCoordinator, type TestCoordinator } from './real-coordinator.js';
import { running } from '../../integration/helpers/procs.js';
import { connect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { PinnedAgent, pinnedFetch } from '../../../electron/grid/trust/pinned.js';
import { ApiClient } from '../../../electron/cli/client.js';
import type { JobSummary } from '../../../shared/api.js';

describe('ColonyApp (Electron main) with a test double of Electron', () => {
  let dir: string;
  let e: FakeElectron;
  let app: ColonyApp | undefined;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'colony-app-'));
    e = new FakeElectron(dir);
  });
  afterEach(async () => {
    await app?.stop();
    app = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps finished jobs only as long as the settings say (coordinator.keepDays)', async () => {
    mkdirSync(path.join(dir, 'userData'), { recursive: true });
    const settings = {
      version: 1,
      mode: 'coordinator',
      coordinator: { port: 0, lan: false, keepDays: 0.5 / 86_400 },
    };
    writeFileSync(path.join(dir, 'userData', 'settings.json'), JSON.stringify(settings));
    // retentionEveryMs is a test hook: look for old jobs every 100 ms rather than every second.
    app = new ColonyApp(e, { mdns: false, coordinator: { retentionEveryMs: 100 } });
    await app.start();
    await app.modeReady;
    const local = app.coordinator!;
    const client = new ApiClient(local.url, local.identity.adminToken, local.fingerprint);
    const job = await client.json<JobSummary>('POST', '/jobs', {
      name: 'short-lived',
      runtime: 'command',
      command: ['true'],
      tasks: { inputs: [1] },
    });
    await client.json('POST', `/jobs/${job.id}/cancel`, {});
    const gone = () =>
      client.json('GET', `/jobs/${job.id}`).then(
        () => false,
        (err: { code?: string }) => err.code === 'NOT_FOUND',
      );
    for (let i = 0; i < 100 && !(await gone()); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await gone()).toBe(true);
  });

  it('stops a coordinator whose store failed, and the tray and the app state say why', async () => {
    const fault = { on: false };
    const eio = () => Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
    mkdirSync(path.join(dir, 'userData'), { recursive: true });
    writeFileSync(
      path.join(dir, 'userData', 'settings.json'),
      JSON.stringify({ version: 1, mode: 'coordinator', coordinator: { port: 0, lan: false } }),
    );
    app = new ColonyApp(e, {
      refreshMs: 50,
      mdns: false,
      coordinator: {
        failStopAfterMs: 100,
        journalIo: {
          write: async (fh, buf, position) => {
            if (fault.on) throw eio();
            return (await fh.write(buf, 0, buf.length, position)).bytesWritten;
          },
          datasync: async (fh) => {
            if (fault.on) throw eio();
            await fh.datasync();
          },
        },
      },
    });
    await app.start();
    await app.modeReady;
    const local = app.coordinator!;
    expect(local).toBeDefined();
    fault.on = true;
    const res = await pinnedFetch(new PinnedAgent(local.fingerprint))(`${local.url}/api/v1/users`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${local.identity.adminToken}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ name: 'ann', role: 'viewer' }),
    });
    expect(res.status).toBe(503);
    await waitFor(() => app!.coordinator === undefined);
    expect(app.modeError).toMatch(/^the coordinator stopped: .*EIO/);
    expect(await e.invoke('app:state')).toMatchObject({ mode: 'coordinator' });
    expect(JSON.stringify(await e.invoke('app:state'))).toMatch(/the coordinator stopped/);
    await waitFor(() =>
      /Not running: the coordinator stopped/.test(JSON.stringify(e.trays[0]?.models.at(-1))),
    );
    const refused = await new Promise<string>((resolve) => {
      const sock = connect(local.port, '127.0.0.1');
      sock.once('connect', () => (sock.destroy(), resolve('connected')));
      sock.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
  });

  it('quits when another instance holds the lock', async () => {
    e.lock = false;
    app = new ColonyApp(e, { mdns: false });
    expect(await app.start()).toBe(false);
    expect(e.quitCalled).toBe(1);
    expect(e.trays).toEqual([]);
  });

  it('asks the first-run question, then saves the choice and turns auto-start on for contributors', async () => {
    app = new ColonyApp(e, { mdns: false });
    expect(await app.start()).toBe(true);
    expect(e.windows[0]?.urls[0]).toMatch(/first-run\.html$/);
    expect(e.windows[0]?.preload).toMatch(/preload\.cjs$/);
    expect(e.loginItems.at(-1)?.openAtLogin).toBe(false);
    expect(e.windows[0]?.urls[0]).toBe(FIRST_RUN_URL);
    await expect(e.invoke('app:choose-mode', { mode: 'overlord' })).rejects.toThrow(/mode/);
    // Only the first-run page may ask: not the GUI, not another file, not an unknown frame.
    for (const sender of ['https://127.0.0.1:7070/', 'file:///tmp/evil.html', ''])
      await expect(e.invoke('app:choose-mode', { mode: 'coordinator' }, sender)).rejects.toThrow(
        /refused from/,
      );
    expect(app.store?.get().mode).toBeUndefined();
    await e.invoke('app:choose-mode', { mode: 'contributor' });
    expect(e.loginItems.at(-1)).toEqual({ openAtLogin: true, args: ['--hidden'] });
    const saved = JSON.parse(readFileSync(path.join(dir, 'userData', 'settings.json'), 'utf8')) as {
      mode: string;
    };
    expect(saved.mode).toBe('contributor');
    expect(await e.invoke('app:state')).toMatchObject({ mode: 'contributor', autoStart: true });
    e.secondInstance?.();
    expect(e.windows).toHaveLength(1); // the same window is shown again
    expect(e.windows[0]!.shown).toBeGreaterThanOrEqual(1);
  });

  it('comes up paired from a seed, shows the policy in the tray, and pauses from the tray', async () => {
    const coord: TestCoordinator = await startTestCoordinator(dir);
    const policyReason = async () =>
      (await coord.contributors()).find((c) => c.state === 'online')?.policy?.reason;
    try {
      buildWorker(path.join(dir, 'resources', 'app.asar.unpacked', 'dist', 'electron', 'grid'));
      mkdirSync(path.join(dir, 'exe'), { recursive: true });
      writeFileSync(
        path.join(dir, 'exe', 'colony-config.json'),
        JSON.stringify({ joinToken: coord.joinToken, policy: { maxWorkers: 1 } }),
      );
      app = new ColonyApp(e, { refreshMs: 50, sampleMs: 50, mdns: false });
      await app.start();
      expect(e.windows).toEqual([]); // seeded: no first-run question
      await app.modeReady;
      expect(app.modeError).toBeUndefined();
      await waitFor(() => e.tray.models.at(-1)?.icon === 'idle');
      const online = (await coord.contributors()).filter((c) => c.state === 'online');
      expect(online).toHaveLength(1);
      expect(online[0]?.policy).toMatchObject({ state: 'working' });

      e.idleSeconds = 2; // the owner is back
      await waitFor(() => e.tray.models.at(-1)?.icon === 'paused');
      expect(e.tray.models.at(-1)?.tooltip).toBe('Colony — Paused: you are using this computer');
      // The coordinator hears it with the next heartbeat.
      let reason: string | undefined;
      await waitFor(() => {
        void policyReason().then((r) => (reason = r));
        return reason === 'Paused: you are using this computer';
      });

      e.idleSeconds = 3600;
      e.tray.onAction?.('pause-1h');
      await waitFor(() =>
        /^Colony — Paused by you until/.test(e.tray.models.at(-1)?.tooltip ?? ''),
      );
      const savedSnooze = () =>
        (
          JSON.parse(readFileSync(path.join(dir, 'userData', 'settings.json'), 'utf8')) as {
            contributor: { snooze?: { kind: string; until: number } };
          }
        ).contributor.snooze?.kind;
      await waitFor(() => savedSnooze() === '1h'); // kept across a restart

      await e.invoke('policy:resume');
      await waitFor(() => e.tray.models.at(-1)?.icon === 'idle');
      await waitFor(() => savedSnooze() === undefined);
    } finally {
      await app?.stop();
      app = undefined;
      await coord.close();
    }
  });

  it('a mode switch stops the running mode, its workers included, before starting the other', async () => {
    const remote = await startTestCoordinator(path.join(dir, 'remote'));
    try {
      buildWorker(path.join(dir, 'resources', 'app.asar.unpacked', 'dist', 'electron', 'grid'));
      mkdirSync(path.join(dir, 'userData'), { recursive: true });
      writeFileSync(
        path.join(dir, 'userData', 'settings.json'),
        JSON.stringify({
          version: 1,
          mode: 'contributor',
          contributor: {
            joinToken: remote.joinToken,
            policy: { computeWhen: 'always', maxWorkers: 2 },
          },
          coordinator: { port: 0, lan: false },
        }),
      );
      app = new ColonyApp(e, { refreshMs: 50, sampleMs: 50, mdns: false });
      await app.start();
      await app.modeReady;
      await waitFor(() => app!.contributor?.manager.status().connected === true);
      const workers = app.contributor!.manager.workerPids();
      expect(workers.length).toBeGreaterThan(0);
      expect(workers.every(running)).toBe(true);
      const online = async () =>
        (await remote.contributors()).filter((c) => c.state === 'online').length;
      expect(await online()).toBe(1);
      // It tells the coordinator its version (the console filters by it): the app's own.
      expect((await remote.contributors()).find((c) => c.state === 'online')?.version).toBe(
        FAKE_APP_VERSION,
      );

      await e.invoke('app:choose-mode', { mode: 'coordinator' });
      await app.modeReady;
      expect(app.modeError).toBeUndefined();
      expect(app.contributor).toBeUndefined();
      expect(workers.filter(running)).toEqual([]); // every worker process has exited
      let gone = 1;
      await waitFor(() => {
        void online().then((n) => (gone = n));
        return gone === 0;
      });
      const local = app.coordinator!;
      expect(local).toBeDefined();
      expect(e.pins.at(-1)).toBe(local.fingerprint);
      const gui = e.windows.at(-1)!;
      expect(gui.urls).toEqual([`${local.url}/#token=${local.identity.adminToken}`]);
      expect(gui.preload).toBeUndefined(); // remote pages get no bridge
      expect(await e.invoke('app:state')).toMatchObject({ mode: 'coordinator', guiUrl: local.url });
      expect(JSON.stringify(await e.invoke('app:state'))).not.toContain(local.identity.adminToken);

      await e.invoke('app:choose-mode', { mode: 'contributor' });
      await app.modeReady;
      expect(app.coordinator).toBeUndefined();
      expect(e.pins.at(-1)).toBeUndefined();
      expect(gui.closed).toBe(true); // the coordinator's window went with it
      // Its port is closed: nothing listens there any more.
      const refused = await new Promise<string>((resolve) => {
        const s = connect(local.port, '127.0.0.1');
        s.once('connect', () => (s.destroy(), resolve('connected')));
        s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      });
      expect(refused).toBe('ECONNREFUSED');
      await waitFor(() => app!.contributor?.manager.status().connected === true);
      expect(await online()).toBe(1);
    } finally {
      await app?.stop();
      app = undefined;
      await remote.close();
    }
  });
});
