// TEST DOUBLE of Electron's API for the desktop app's tests (FakeElectron implements ElectronLike:
// no Electron runtime is involved). It records what the app asks of it; idle time is settable.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ElectronLike, WindowLike } from '../../../electron/main/electron-like.js';
import type { TrayAction, TrayModel } from '../../../electron/main/tray-model.js';

/** The first-run page (the one page given the preload's bridge), as the app loads it from source. */
export const FIRST_RUN_URL = pathToFileURL(
  path.join(import.meta.dirname, '../../../electron/main/first-run.html'),
).href;

/** TEST DOUBLE of Electron: records what the app asks of it; idle time and lock are settable. */
/** What the double's app.getVersion() says (a real app: package.json's version). */
export const FAKE_APP_VERSION = '0.0.0-test-double';

export class FakeElectron implements ElectronLike {
  /** The app's paths point into `root` (userData, exe, resources). */
  constructor(readonly root: string) {
    this.app.resourcesPath = path.join(root, 'resources');
  }

  lock = true;
  quitCalled = 0;
  loginItems: { openAtLogin: boolean; args: string[] }[] = [];
  handlers = new Map<string, (event: unknown, request: unknown) => unknown>();
  trays: { models: TrayModel[]; onAction?: (a: TrayAction) => void; destroyed: boolean }[] = [];
  windows: { urls: string[]; shown: number; preload: string | undefined; closed: boolean }[] = [];
  /** Every certificate pin the app set, in order (undefined: none accepted). */
  pins: (string | undefined)[] = [];
  idleSeconds = 3600;
  secondInstance: (() => void) | undefined;

  app: ElectronLike['app'] = {
    requestSingleInstanceLock: () => this.lock,
    whenReady: () => Promise.resolve(),
    onSecondInstance: (fn) => (this.secondInstance = fn),
    keepRunningWithoutWindows: () => undefined,
    quit: () => void this.quitCalled++,
    getPath: (name) =>
      name === 'exe' ? path.join(this.root, 'exe', 'Colony') : path.join(this.root, 'userData'),
    setLoginItemSettings: (s) => void this.loginItems.push(s),
    argv: ['Colony'],
    resourcesPath: '', // set by the constructor
    execPath: process.execPath, // Node stands in for Electron's binary under ELECTRON_RUN_AS_NODE
    getVersion: () => FAKE_APP_VERSION,
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
  pinCertificate: ElectronLike['pinCertificate'] = (fp) => void this.pins.push(fp);
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
    const w = { urls: [] as string[], shown: 0, preload: o.preload, closed: false };
    this.windows.push(w);
    const like: WindowLike = {
      show: () => void w.shown++,
      loadURL: (url) => (w.urls.push(url), Promise.resolve()),
      isDestroyed: () => w.closed,
      close: () => void (w.closed = true),
      onClosed: () => undefined,
    };
    return like;
  };

  /** A message from the page given the bridge (the first run), or from `senderUrl`. */
  invoke(channel: string, request?: unknown, senderUrl?: string): Promise<unknown> {
    const h = this.handlers.get(channel);
    if (!h) throw new Error(`no handler for ${channel}`);
    const url = senderUrl ?? FIRST_RUN_URL;
    return Promise.resolve().then(() => h({ senderFrame: { url } }, request));
  }

  get tray() {
    return this.trays[0]!;
  }
}

export const waitFor = async (ok: () => boolean, ms = 10_000) => {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};
