// Contributor mode of the desktop app: the grid's contributor start (join token traded for a
// credential of its own, pairing, or the stored credential; TLS pinned) with workers forked from
// Electron's own binary (ELECTRON_RUN_AS_NODE), under the owner policy fed by the desktop's idle
// time and lock state.
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { AppSettings } from '../../shared/app-settings.js';
import type { OwnerPolicySettings, SnoozeKind } from '../../shared/owner-policy.js';
import type { ContributorManager } from '../grid/contributor/manager/manager.js';
import { startPanelServer, type RunningPanel } from '../grid/contributor/panel/panel-server.js';
import { OwnerPolicy } from '../grid/contributor/policy/owner-policy.js';
import { PolicyDriver } from '../grid/contributor/policy/policy-driver.js';
import { fullScreenProbe } from '../grid/contributor/policy/fullscreen-probe.js';
import { OtherCpuSampler, sensorSample } from '../grid/contributor/policy/policy-sampler.js';
import { startContributor, type StartedContributor } from '../grid/contributor/start.js';
import type { MdnsOptions } from '../grid/discovery/mdns.js';
import type { ElectronLike } from './electron-like.js';

export interface ContributorMode {
  manager: ContributorManager;
  driver: PolicyDriver;
  /** Where the coordinator is now (discovery may move it). */
  readonly coordinatorUrl: string;
  contributorId: string;
  /** The owner's panel on 127.0.0.1 (the window loads its `openUrl`). */
  panel: RunningPanel;
  stop(): Promise<void>;
}

/** How the panel's changes reach the app: saved in its settings, snoozes through the tray's path. */
export interface PanelHooks {
  save(settings: OwnerPolicySettings): Promise<void>;
  pause(kind: SnoozeKind): Promise<unknown>;
  resume(): Promise<unknown>;
}

/** Windows/macOS report remote sessions differently; an env hint covers RDP and SSH-forwarded X. */
function remoteSession(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.SESSIONNAME?.startsWith('RDP-') || env.SSH_CONNECTION);
}

export async function startContributorMode(
  e: ElectronLike,
  s: AppSettings,
  o: {
    dataDir: string;
    /** mDNS to find the coordinator (and pair without a token), or false. */
    mdns: MdnsOptions | false;
    workerPath?: string;
    sampleMs?: number;
    now?: () => number;
    panel?: PanelHooks;
    /** Gives up waiting for the coordinator (discovery, pairing approval) and stops. */
    signal?: AbortSignal;
  },
): Promise<ContributorMode | undefined> {
  const dataDir = path.join(o.dataDir, 'contributor');
  const token = s.contributor.joinToken;
  const paired = existsSync(path.join(dataDir, 'trust.json'));
  // Nothing to join with, nothing stored and no LAN to pair over: the window asks for a token.
  if (!token && !paired && !o.mdns) return undefined;
  const policy = new OwnerPolicy(s.contributor.policy, {
    cores: os.availableParallelism(),
    platform: process.platform,
  });
  const now = o.now ?? Date.now;
  policy.restoreSnooze(s.contributor.snooze, now());
  // The sampler needs the manager's worker pids, and the manager needs the sampler's driver.
  const ref: { started?: StartedContributor } = {};
  const cpu = new OtherCpuSampler({ ownPids: () => ref.started?.manager.workerPids() ?? [] });
  const idleThreshold = Math.max(1, Math.round(s.contributor.policy.idleMinutes * 60));
  // Electron's screen and window APIs describe displays and our own windows, not the window in
  // front: the platform's query tells that (fullscreen-probe.ts).
  const sensors = sensorSample({ fullScreen: fullScreenProbe() });
  const driver = new PolicyDriver({
    policy,
    now,
    intervalMs: o.sampleMs ?? 2000,
    sample: () => ({
      userIdleMs: e.powerMonitor.getSystemIdleTime() * 1000,
      screenLocked: e.powerMonitor.getSystemIdleState(idleThreshold) === 'locked',
      remoteSession: remoteSession(process.env),
      otherCpuLoad: cpu.sample(),
      onBattery: e.powerMonitor.isOnBatteryPower(),
      ...sensors(),
    }),
  });
  const log = pino(
    { level: 'info' },
    pino.destination({ dest: path.join(o.dataDir, 'contributor.log'), mkdir: true, sync: false }),
  );
  driver.start();
  let started: StartedContributor;
  try {
    started = await startContributor({
      dataDir,
      ...(token ? { joinToken: token } : {}),
      ...(s.contributor.coordinatorUrl ? { coordinatorUrl: s.contributor.coordinatorUrl } : {}),
      mdns: o.mdns,
      log,
      ...(o.signal ? { signal: o.signal } : {}),
      manager: {
        maxSlots: policy.maxWorkers,
        version: e.app.getVersion(),
        allowCommands: s.contributor.allowCommands,
        ...(s.contributor.tags ? { tags: s.contributor.tags } : {}),
        logger: log,
        supervisor: {
          execPath: e.app.execPath,
          env: { ELECTRON_RUN_AS_NODE: '1' },
          ...(o.workerPath ? { workerPath: o.workerPath } : {}),
        },
        policy: driver,
      },
    });
  } catch (err) {
    driver.stop();
    log.flush();
    throw err;
  }
  ref.started = started;
  const { link, manager } = started;
  let panel: RunningPanel;
  try {
    panel = await startPanelServer({
      dataDir,
      manager,
      coordinator: () => ({ id: link.trust.coordinatorId, url: link.currentUrl() }),
      driver,
      settings: () => driver.policy.settings,
      save: async (next) => {
        await o.panel?.save(next);
      },
      ...(o.panel
        ? { pause: (kind: SnoozeKind) => o.panel!.pause(kind), resume: () => o.panel!.resume() }
        : {}),
      now,
    });
  } catch (err) {
    driver.stop();
    await started.stop();
    throw err;
  }
  return {
    manager,
    driver,
    get coordinatorUrl() {
      return link.currentUrl();
    },
    contributorId: manager.contributorId,
    panel,
    async stop() {
      await panel.close();
      driver.stop();
      await started.stop();
      log.flush();
    },
  };
}
