// Contributor mode of the desktop app: the grid's manager with workers forked from Electron's own
// binary (ELECTRON_RUN_AS_NODE), under the owner policy fed by the desktop's idle time and lock state.
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { AppSettings } from '../../shared/app-settings.js';
import type { OwnerPolicySettings, SnoozeKind } from '../../shared/owner-policy.js';
import { ContributorManager } from '../grid/contributor/manager.js';
import { startPanelServer, type RunningPanel } from '../grid/contributor/panel-server.js';
import { OwnerPolicy } from '../grid/contributor/owner-policy.js';
import { PolicyDriver } from '../grid/contributor/policy-driver.js';
import { OtherCpuSampler } from '../grid/contributor/policy-sampler.js';
import { parseJoinToken } from '../grid/trust/join-token.js';
import type { ElectronLike } from './electron-like.js';

export interface ContributorMode {
  manager: ContributorManager;
  driver: PolicyDriver;
  coordinatorUrl: string;
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
    workerPath?: string;
    sampleMs?: number;
    now?: () => number;
    panel?: PanelHooks;
  },
): Promise<ContributorMode | undefined> {
  const token = s.contributor.joinToken;
  if (!token) return undefined; // not paired yet: the panel asks for a token
  const join = parseJoinToken(token);
  const url = s.contributor.coordinatorUrl ?? (join.address ? `http://${join.address}` : undefined);
  if (!url) return undefined;
  const policy = new OwnerPolicy(s.contributor.policy, { cores: os.availableParallelism() });
  const now = o.now ?? Date.now;
  policy.restoreSnooze(s.contributor.snooze, now());
  // The sampler needs the manager's worker pids, and the manager needs the sampler's driver.
  const ref: { manager?: ContributorManager } = {};
  const cpu = new OtherCpuSampler({ ownPids: () => ref.manager?.workerPids() ?? [] });
  const idleThreshold = Math.max(1, Math.round(s.contributor.policy.idleMinutes * 60));
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
    }),
  });
  const manager = new ContributorManager({
    url,
    credential: join.secret,
    dataDir: path.join(o.dataDir, 'contributor'),
    maxSlots: policy.maxWorkers,
    allowCommands: s.contributor.allowCommands,
    logger: pino(
      { level: 'info' },
      pino.destination({ dest: path.join(o.dataDir, 'contributor.log'), mkdir: true, sync: false }),
    ),
    supervisor: {
      execPath: e.app.execPath,
      env: { ELECTRON_RUN_AS_NODE: '1' },
      ...(o.workerPath ? { workerPath: o.workerPath } : {}),
    },
    policy: driver,
  });
  ref.manager = manager;
  driver.start();
  await manager.start();
  const m = manager;
  const panel = await startPanelServer({
    dataDir: path.join(o.dataDir, 'contributor'),
    manager,
    coordinator: () => ({ id: join.coordinatorId, url }),
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
  return {
    manager: m,
    driver,
    coordinatorUrl: url,
    panel,
    async stop() {
      await panel.close();
      driver.stop();
      await m.stop();
    },
  };
}
