// The desktop app's main process driven through a TEST DOUBLE of Electron's API (FakeElectron
// below implements ElectronLike: no Electron runtime is involved). Real settings on disk, a real
// contributor manager with real workers against the fake coordinator on loopback.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ColonyApp } from '../../../electron/main/app.js';
import type { ElectronLike, WindowLike } from '../../../electron/main/electron-like.js';
import type { TrayAction, TrayModel } from '../../../electron/main/tray-model.js';
import { buildWorker } from '../grid/worker/harness.js';
import { CREDENTIAL, FakeCoordinator } from '../grid/contributor/manager-fake-coordinator.js';
import { writeFileSync } from 'node:fs';

/** The temp folder the double's app paths point into (set before each construction). */
let fakeRoot = '';

/** TEST DOUBLE of Electron: records what the app asks of it; idle time and lock are settable. */
class FakeElectron implements ElectronLike {
  lock = true;
  quitCalled = 0;
  loginItems: { openAtLogin: boolean; args: string[] }[] = [];
  handlers = new Map<string, (event: unknown, request: unknown) => unknown>();
  trays: { models: TrayModel[]; onAction?: (a: TrayAction) => void; destroyed: boolean }[] = [];
  windows: { urls: string[]; shown: number; preload: string }[] = [];
  idleSeconds = 3600;
  secondInstance: (() => void) | undefined;

  app: ElectronLike['app'] = {
    requestSingleInstanceLock: () => this.lock,
    whenReady: () => Promise.resolve(),
    onSecondInstance: (fn) => (this.secondInstance = fn),
    keepRunningWithoutWindows: () => undefined,
    quit: () => void this.quitCalled++,
    getPath: (name) =>
      name === 'exe' ? path.join(fakeRoot, 'exe', 'Colony') : path.join(fakeRoot, 'userData'),
    setLoginItemSettings: (s) => void this.loginItems.push(s),
    argv: ['Colony'],
    resourcesPath: path.join(fakeRoot, 'resources'),
    execPath: process.execPath, // Node stands in for Electron's binary under ELECTRON_RUN_AS_NODE
  };
  powerMonitor: ElectronLike['powerMonitor'] = {
    getSystemIdleTime: () => this.idleSeconds,
    getSystemIdleState: () => (this.idleSeconds > 300 ? 'idle' : 'active'),
    isOnBatteryPower: () => false,
  };
  ipc: ElectronLike['ipc'] = {
    handle: (channel, fn) => void this.handlers.set(channel, fn),
    removeHandler: (channel) => void this.handlers.delete(channel),
  };
  createTray: ElectronLike['createTray'] = () => {
    const t = {
      models: [] as TrayModel[],
      onAction: undefined as ((a: TrayAction) => void) | undefined,
      destroyed: false,
    };
    this.trays.push(t);
    return {
      render: (model, onAction) => {
        t.models.push(model);
        t.onAction = onAction;
      },
      destroy: () => void (t.destroyed = true),
    };
  };
  createWindow: ElectronLike['createWindow'] = (o) => {
    const w = { urls: [] as string[], shown: 0, preload: o.preload };
    this.windows.push(w);
    const like: WindowLike = {
      show: () => void w.shown++,
      loadURL: (url) => (w.urls.push(url), Promise.resolve()),
      isDestroyed: () => false,
      onClosed: () => undefined,
    };
    return like;
  };

  invoke(channel: string, request?: unknown): Promise<unknown> {
    const h = this.handlers.get(channel);
    if (!h) throw new Error(`no handler for ${channel}`);
    return Promise.resolve().then(() => h({}, request));
  }

  get tray() {
    return this.trays[0]!;
  }
}

const waitFor = async (ok: () => boolean, ms = 10_000) => {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('ColonyApp (Electron main) with a test double of Electron', () => {
  let dir: string;
  let e: FakeElectron;
  let app: ColonyApp | undefined;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'colony-app-'));
    fakeRoot = dir;
    e = new FakeElectron();
  });
  afterEach(async () => {
    await app?.stop();
    app = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('quits when another instance holds the lock', async () => {
    e.lock = false;
    app = new ColonyApp(e);
    expect(await app.start()).toBe(false);
    expect(e.quitCalled).toBe(1);
    expect(e.trays).toEqual([]);
  });

  it('asks the first-run question, then saves the choice and turns auto-start on for contributors', async () => {
    app = new ColonyApp(e);
    expect(await app.start()).toBe(true);
    expect(e.windows[0]?.urls[0]).toMatch(/first-run\.html$/);
    expect(e.windows[0]?.preload).toMatch(/preload\.mjs$/);
    expect(e.loginItems.at(-1)?.openAtLogin).toBe(false);
    await expect(e.invoke('app:choose-mode', { mode: 'overlord' })).rejects.toThrow(/mode/);
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
    const coord = new FakeCoordinator();
    await coord.listen();
    try {
      buildWorker(path.join(dir, 'resources', 'app.asar.unpacked', 'dist', 'electron', 'grid'));
      mkdirSync(path.join(dir, 'exe'), { recursive: true });
      const token = `colony1.c0ffee00.-.${CREDENTIAL}@127.0.0.1:${coord.port}`;
      writeFileSync(
        path.join(dir, 'exe', 'colony-config.json'),
        JSON.stringify({ joinToken: token, policy: { maxWorkers: 1 } }),
      );
      app = new ColonyApp(e, { refreshMs: 50, sampleMs: 50 });
      await app.start();
      expect(e.windows).toEqual([]); // seeded: no first-run question
      await coord.waitMsg('ready');
      expect(coord.of('hello')[0]?.policy).toMatchObject({ state: 'working' });
      await waitFor(() => e.tray.models.at(-1)?.icon === 'idle');

      e.idleSeconds = 2; // the owner is back
      await waitFor(() => e.tray.models.at(-1)?.icon === 'paused');
      expect(e.tray.models.at(-1)?.tooltip).toBe('Colony — Paused: you are using this computer');
      await coord.waitMsg(
        'heartbeat',
        (h) => h.policy?.reason === 'Paused: you are using this computer',
        5000,
      );

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
});
