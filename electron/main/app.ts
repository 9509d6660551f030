// The desktop app's lifecycle over an Electron-like API: single instance, settings and first-run
// choice, auto-start, the tray (from tray-model.ts), windows on the coordinator's GUI, and the
// grid core of the chosen mode running in this process.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pino from 'pino';
import { autoStartOf } from '../../shared/app-settings.js';
import type { AppStateView } from '../../shared/ipc.js';
import type { PolicyDecision } from '../../shared/owner-policy.js';
import { startCoordinator, type RunningCoordinator } from '../grid/coordinator/coordinator.js';
import { startContributorMode, type ContributorMode } from './contributor-mode.js';
import type { ElectronLike, TrayLike, WindowLike } from './electron-like.js';
import { handleAll } from './ipc.js';
import { SettingsStore, seedCandidates } from './settings-store.js';
import { trayModel, type TrayAction } from './tray-model.js';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface AppOptions {
  /** @defaultValue Date.now */
  now?: () => number;
  /** Tray refresh. @defaultValue 2000 */
  refreshMs?: number;
  /** Contributor policy sampling. @defaultValue 2000 */
  sampleMs?: number;
}

export class ColonyApp {
  store: SettingsStore | undefined;
  tray: TrayLike | undefined;
  window: WindowLike | undefined;
  contributor: ContributorMode | undefined;
  coordinator: RunningCoordinator | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(
    private readonly e: ElectronLike,
    private readonly o: AppOptions = {},
  ) {
    this.now = o.now ?? Date.now;
  }

  /** Returns false when another instance already runs (it is shown instead and we quit). */
  async start(): Promise<boolean> {
    const { app } = this.e;
    if (!app.requestSingleInstanceLock()) {
      app.quit();
      return false;
    }
    app.onSecondInstance(() => this.openWindow());
    app.keepRunningWithoutWindows();
    await app.whenReady();
    const exeDir = path.dirname(app.getPath('exe'));
    this.store = await SettingsStore.open(
      app.getPath('userData'),
      seedCandidates({ argv: app.argv, env: process.env, exeDir, resourcesDir: app.resourcesPath }),
    );
    this.applyAutoStart();
    handleAll(this.e.ipc, {
      'app:state': () => this.state(),
      'app:choose-mode': async ({ mode }) => {
        const s = await this.store!.setMode(mode);
        this.applyAutoStart();
        await this.startMode();
        return s;
      },
      'app:set-auto-start': async ({ enabled }) => {
        const s = await this.store!.update((x) => ({ ...x, autoStart: enabled }));
        this.applyAutoStart();
        return s;
      },
      'policy:set': async (policy) => {
        const s = await this.store!.update((x) => ({
          ...x,
          contributor: { ...x.contributor, policy },
        }));
        this.contributor?.driver.policy.setSettings(s.contributor.policy);
        this.contributor?.driver.tick();
        return s.contributor.policy;
      },
      'policy:pause': ({ kind }) => this.act(kind === '1h' ? 'pause-1h' : `pause-${kind}`),
      'policy:resume': () => this.act('resume'),
    });
    this.tray = this.e.createTray('disconnected');
    if (this.store.firstRun) this.openWindow();
    else await this.startMode();
    this.refresh();
    this.refreshTimer = setInterval(() => this.refresh(), this.o.refreshMs ?? 2000);
    this.refreshTimer.unref();
    return true;
  }

  async stop(): Promise<void> {
    clearInterval(this.refreshTimer);
    await this.contributor?.stop();
    await this.coordinator?.close();
    this.tray?.destroy();
    this.contributor = undefined;
    this.coordinator = undefined;
  }

  state(): AppStateView {
    const s = this.store!.get();
    const c = this.contributor;
    const status = c?.manager.status();
    return {
      mode: s.mode,
      autoStart: autoStartOf(s),
      ...(this.guiUrl() ? { guiUrl: this.guiUrl() } : {}),
      ...(s.mode === 'contributor'
        ? {
            contributor: {
              connected: status?.connected ?? false,
              ...(c ? { coordinatorUrl: c.coordinatorUrl, decision: c.driver.current() } : {}),
              running: status?.running ?? [],
              policy: s.contributor.policy,
            },
          }
        : {}),
    };
  }

  /** A tray or panel action; pauses are saved so they outlive a restart. */
  async act(action: TrayAction): Promise<PolicyDecision | undefined> {
    const d = this.contributor?.driver;
    let decision: PolicyDecision | undefined;
    switch (action) {
      case 'pause-1h':
        decision = d?.pause('1h');
        break;
      case 'pause-until-tomorrow':
        decision = d?.pause('until-tomorrow');
        break;
      case 'pause-until-resumed':
        decision = d?.pause('until-resumed');
        break;
      case 'resume':
        decision = d?.resume();
        break;
      case 'open-panel':
        this.openWindow();
        return undefined;
      case 'quit':
        await this.stop();
        this.e.app.quit();
        return undefined;
      default: {
        const never: never = action;
        throw new Error(`unknown tray action ${String(never)}`);
      }
    }
    const snooze = d?.policy.snooze;
    await this.store?.update((x) => ({ ...x, contributor: { ...x.contributor, snooze } }));
    this.refresh();
    return decision;
  }

  refresh(): void {
    const s = this.store?.get();
    if (!this.tray || !s?.mode) return;
    const status = this.contributor?.manager.status();
    const model = trayModel({
      mode: s.mode,
      now: this.now(),
      ...(status ? { manager: status } : {}),
      ...(this.contributor ? { decision: this.contributor.driver.current() } : {}),
      ...(this.coordinator ? { contributors: this.coordinator.engine.sessions.size } : {}),
    });
    this.tray.render(model, (a) => {
      this.act(a).catch((err: unknown) =>
        process.stderr.write(`colony: tray action ${a} failed: ${String(err)}\n`),
      );
    });
  }

  private async startMode(): Promise<void> {
    const s = this.store!.get();
    const dataDir = this.e.app.getPath('userData');
    if (s.mode === 'coordinator' && !this.coordinator) {
      this.coordinator = await startCoordinator({
        dataDir: path.join(dataDir, 'coordinator'),
        host: s.coordinator.lan ? '0.0.0.0' : '127.0.0.1',
        port: s.coordinator.port,
        logger: pino({ level: 'info' }),
      });
      this.openWindow();
    } else if (s.mode === 'contributor' && !this.contributor) {
      const unpacked = path.join(
        this.e.app.resourcesPath,
        'app.asar.unpacked/dist/electron/grid/worker/worker-main.js',
      );
      this.contributor = await startContributorMode(this.e, s, {
        dataDir,
        now: this.now,
        panel: {
          save: async (policy) => {
            await this.store!.update((x) => ({ ...x, contributor: { ...x.contributor, policy } }));
          },
          pause: (kind) => this.act(kind === '1h' ? 'pause-1h' : `pause-${kind}`),
          resume: () => this.act('resume'),
        },
        ...(existsSync(unpacked) ? { workerPath: unpacked } : {}),
        ...(this.o.sampleMs ? { sampleMs: this.o.sampleMs } : {}),
      });
      this.contributor?.driver.on('change', () => this.refresh());
    }
  }

  private guiUrl(): string | undefined {
    return this.coordinator?.url ?? this.contributor?.coordinatorUrl;
  }

  /** What a window shows: the coordinator's GUI, the contributor's own panel, or the first run. */
  private windowUrl(): string | undefined {
    return this.coordinator?.url ?? this.contributor?.panel.openUrl;
  }

  private openWindow(): void {
    if (this.window && !this.window.isDestroyed()) return this.window.show();
    const w = this.e.createWindow({ title: 'Colony', preload: path.join(here, 'preload.mjs') });
    this.window = w;
    w.onClosed(() => (this.window = undefined));
    const url = this.windowUrl() ?? pathToFileURL(path.join(here, 'first-run.html')).href;
    void w.loadURL(url).then(() => w.show());
  }

  private applyAutoStart(): void {
    this.e.app.setLoginItemSettings({
      openAtLogin: autoStartOf(this.store!.get()),
      args: ['--hidden'],
    });
  }
}
