// The desktop app's lifecycle over an Electron-like API: single instance, settings and first-run
// choice, auto-start, the tray (from tray-model.ts), windows on the coordinator's GUI (its
// certificate pinned), and the grid core of the chosen mode running in this process — one mode at
// a time: a switch stops the running one, its workers included, before the other starts.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pino from 'pino';
import { autoStartOf, type AppMode } from '../../shared/app-settings.js';
import type { AppStateView } from '../../shared/ipc.js';
import { describeWhenActive, type PolicyDecision } from '../../shared/owner-policy.js';
import {
  startCoordinator,
  type CoordinatorOptions,
  type RunningCoordinator,
} from '../grid/coordinator/coordinator.js';
import type { MdnsOptions } from '../grid/discovery/mdns.js';
import { startContributorMode, type ContributorMode } from './contributor-mode.js';
import type { ElectronLike, TrayLike, WindowLike } from './electron-like.js';
import { handleAll } from './ipc.js';
import { POLICY_KEY, readPolicySeed } from './policy-seed.js';
import { SettingsStore, seedCandidates } from './settings-store.js';
import { trayModel, type TrayAction } from './tray-model.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const firstRunUrl = pathToFileURL(path.join(here, 'first-run.html')).href;

export interface AppOptions {
  /** @defaultValue Date.now */
  now?: () => number;
  /** Tray refresh. @defaultValue 2000 */
  refreshMs?: number;
  /** Contributor policy sampling. @defaultValue 2000 */
  sampleMs?: number;
  /** mDNS: the coordinator advertises itself (when on the LAN), contributors look for it. @defaultValue {} */
  mdns?: MdnsOptions | false;
  /** Skip the single-instance lock (the self-test runs two apps in one process). */
  noSingleInstance?: boolean;
  /** For tests: coordinator options (journal I/O that fails on demand, a short fail-stop delay). */
  coordinator?: Pick<CoordinatorOptions, 'journalIo' | 'failStopAfterMs' | 'retentionEveryMs'>;
}

export class ColonyApp {
  store: SettingsStore | undefined;
  tray: TrayLike | undefined;
  window: WindowLike | undefined;
  contributor: ContributorMode | undefined;
  coordinator: RunningCoordinator | undefined;
  /** Why the chosen mode is not running, shown in the tray and the app state. */
  modeError: string | undefined;
  /** Settles when the latest mode switch has finished (started, or failed with `modeError`). */
  modeReady: Promise<void> = Promise.resolve();
  /** Aborts the mode start under way (a contributor may wait for pairing approval for hours). */
  private starting: AbortController | undefined;
  /** The latest window's page load; rejects if it failed (e.g. a certificate that is not pinned). */
  windowLoaded: Promise<void> = Promise.resolve();
  private refreshTimer: NodeJS.Timeout | undefined;
  /** The page the window was opened on. */
  private windowUrl: string | undefined;
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
    if (!this.o.noSingleInstance && !app.requestSingleInstanceLock()) {
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
      { name: POLICY_KEY, read: () => readPolicySeed() },
    );
    this.applyAutoStart();
    handleAll(
      this.e.ipc,
      {
        'app:state': () => this.state(),
        'app:choose-mode': async ({ mode }) => {
          const s = await this.store!.setMode(mode);
          this.applyAutoStart();
          // Not awaited: a contributor may wait for an admin's approval; a failure shows in the
          // app state (`error`) and the tray, and `modeReady` settles when the switch is done.
          void this.switchMode().catch(() => undefined);
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
      },
      // Only Colony's own page with the bridge (the first run) may ask anything of the app.
      (url) => url === firstRunUrl,
    );
    this.tray = this.e.createTray('disconnected');
    if (this.store.firstRun) this.openWindow();
    // Not awaited: pairing without a token waits for an admin; `modeReady` says when it settled.
    else void this.switchMode().catch(() => undefined);
    this.refresh();
    this.refreshTimer = setInterval(() => this.refresh(), this.o.refreshMs ?? 2000);
    this.refreshTimer.unref();
    return true;
  }

  async stop(): Promise<void> {
    clearInterval(this.refreshTimer);
    this.starting?.abort();
    await this.modeReady;
    await this.stopModes(undefined);
    this.tray?.destroy();
  }

  state(): AppStateView {
    const s = this.store!.get();
    const c = this.contributor;
    const status = c?.manager.status();
    return {
      mode: s.mode,
      autoStart: autoStartOf(s),
      ...(this.guiUrl() ? { guiUrl: this.guiUrl() } : {}),
      ...(this.modeError ? { error: this.modeError } : {}),
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
      ...(this.contributor
        ? {
            decision: this.contributor.driver.current(),
            whenActive: describeWhenActive(this.contributor.driver.policy.settings),
          }
        : {}),
      ...(this.coordinator ? { contributors: this.coordinator.engine.sessionCount } : {}),
      ...(this.modeError ? { error: this.modeError } : {}),
    });
    this.tray.render(model, (a) => {
      this.act(a).catch((err: unknown) =>
        process.stderr.write(`colony: tray action ${a} failed: ${String(err)}\n`),
      );
    });
  }

  /** Stops what runs that is not the chosen mode, then starts the chosen one; one at a time. */
  private switchMode(): Promise<void> {
    const run = this.modeReady.then(async () => {
      const mode = this.store!.get().mode;
      await this.stopModes(mode);
      this.modeError = undefined;
      const starting = new AbortController();
      this.starting = starting;
      try {
        await this.startMode(starting.signal);
      } catch (err) {
        this.modeError = err instanceof Error ? err.message : String(err);
        process.stderr.write(`colony: ${mode ?? 'no'} mode did not start: ${this.modeError}\n`);
        throw err;
      } finally {
        if (this.starting === starting) this.starting = undefined;
        this.refresh();
      }
      this.showModePage();
    });
    this.modeReady = run.catch(() => undefined);
    return run;
  }

  /** The coordinator cannot go on: it stops, and the tray and the app state say why until a restart. */
  private async coordinatorFailed(reason: string): Promise<void> {
    this.modeError = `the coordinator stopped: ${reason}`;
    process.stderr.write(`colony: ${this.modeError}\n`);
    await this.stopModes(undefined).catch((err: unknown) =>
      process.stderr.write(`colony: closing the failed coordinator: ${String(err)}\n`),
    );
    this.refresh();
  }

  /** Stops every running mode other than `keep`: a contributor with its workers, a coordinator. */
  private async stopModes(keep: AppMode | undefined): Promise<void> {
    if (keep !== 'contributor' && this.contributor) {
      const c = this.contributor;
      this.contributor = undefined;
      await c.stop();
    }
    if (keep !== 'coordinator' && this.coordinator) {
      const c = this.coordinator;
      this.coordinator = undefined;
      this.e.pinCertificate(undefined);
      await c.close();
    }
  }

  private async startMode(signal: AbortSignal): Promise<void> {
    const s = this.store!.get();
    const dataDir = this.e.app.getPath('userData');
    const mdns = this.o.mdns ?? {};
    if (s.mode === 'coordinator' && !this.coordinator) {
      const lan = s.coordinator.lan;
      this.coordinator = await startCoordinator({
        dataDir: path.join(dataDir, 'coordinator'),
        host: lan ? '0.0.0.0' : '127.0.0.1',
        port: s.coordinator.port,
        logger: pino({ level: 'info' }),
        // On the LAN it says where it is over mDNS, as `colony up --lan` does.
        ...(lan && mdns ? { mdns } : {}),
        ...(s.coordinator.keepDays !== undefined ? { keepDays: s.coordinator.keepDays } : {}),
        ...this.o.coordinator,
        // Its store failed (disk full, I/O error): after the grace for reads, stop it and say why.
        onFailStop: (reason) => void this.coordinatorFailed(reason),
      });
      // Windows trust exactly this certificate from now on.
      this.e.pinCertificate(this.coordinator.fingerprint);
    } else if (s.mode === 'contributor' && !this.contributor) {
      const unpacked = path.join(
        this.e.app.resourcesPath,
        'app.asar.unpacked/dist/electron/grid/worker/worker-main.js',
      );
      this.contributor = await startContributorMode(this.e, s, {
        dataDir,
        mdns,
        now: this.now,
        signal,
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

  /**
   * What a window shows: the coordinator's GUI (the admin token in the fragment, which no request
   * carries and the GUI drops from the address at once), the contributor's own panel, or the first
   * run (the only page given the preload's bridge).
   */
  private page(): { url: string; preload?: string } {
    const c = this.coordinator;
    if (c) return { url: `${c.url}/#token=${encodeURIComponent(c.identity.adminToken)}` };
    const panel = this.contributor?.panel.openUrl;
    if (panel) return { url: panel };
    return { url: firstRunUrl, preload: path.join(here, 'preload.cjs') };
  }

  private openWindow(): void {
    if (this.window && !this.window.isDestroyed()) return this.window.show();
    const page = this.page();
    const w = this.e.createWindow({
      title: 'Colony',
      ...(page.preload ? { preload: page.preload } : {}),
    });
    this.window = w;
    this.windowUrl = page.url;
    w.onClosed(() => {
      if (this.window === w) this.window = undefined;
    });
    this.windowLoaded = w.loadURL(page.url).then(() => w.show());
    this.windowLoaded.catch((err: unknown) =>
      process.stderr.write(`colony: the window could not load its page: ${String(err)}\n`),
    );
  }

  /** After a switch: the coordinator's window opens; an open window moves to the new mode's page. */
  private showModePage(): void {
    const open = this.window && !this.window.isDestroyed() ? this.window : undefined;
    if (!open) {
      if (this.coordinator) this.openWindow();
      return;
    }
    if (this.windowUrl === this.page().url) return;
    // A page's bridge is fixed when its window is made: a new page gets a window of its own.
    open.close();
    this.window = undefined;
    this.openWindow();
  }

  private applyAutoStart(): void {
    this.e.app.setLoginItemSettings({
      openAtLogin: autoStartOf(this.store!.get()),
      args: ['--hidden'],
    });
  }
}
