// The contributor panel's loopback API (panel-server.ts): what the owner's browser view reads and sends.
import { z } from 'zod';
import type { FleetControlState, FleetPolicy } from './fleet-policy.js';
import {
  SNOOZE_KINDS,
  type OwnerPolicySettings,
  type ProgramPlatform,
  type SnoozeKind,
} from './owner-policy.js';

export const PANEL_TOKEN_FILE = 'panel-token';

export const pauseBodySchema = z.strictObject({ kind: z.enum(SNOOZE_KINDS) });

export interface PanelAttempt {
  attemptId: string;
  jobId: string;
  idx: number;
  phase: string;
  /** 0..1 as the task last reported it. */
  progress?: number;
  message?: string;
}

export interface PanelStatus {
  contributorId: string;
  coordinator: { id: string | null; url: string; connected: boolean };
  slots: { capacity: number; max: number; free: number };
  running: PanelAttempt[];
  /** The owner policy's decision now; null when this contributor runs without one. */
  policy: { state: 'working' | 'idle' | 'paused'; reason: string; until?: number } | null;
  snooze: { kind: SnoozeKind; until?: number } | null;
  /** CPU time of finished attempts run here: since local midnight, and ever. */
  cpu: { todayMs: number; totalMs: number };
  /** What the owner policy sees of this machine; null when this contributor runs without one. */
  sensors: PanelSensors | null;
  /** The mode while the owner uses the machine, in words ("…: pause" / "…: throttle to …"). */
  whenActive: string | null;
}

/** Each reading, or why this machine cannot tell. */
export interface PanelSensors {
  /** The listed busy programs running now. */
  programs: { busy: string[] } | { unknown: string };
  fullScreen: { on: boolean } | { unknown: string };
  temperature: { celsius: number; sensor: string } | { unknown: string };
}

/** What the admin set for this machine (docs/fleet-rollout.md). */
export interface PanelFleet {
  groups: string[];
  /** The fleet policy: fields set, those locked, who set it and why; null: none. */
  policy: FleetPolicy | null;
  /** Remote pause or drain by the admin. */
  control: FleetControlState;
}

export interface PanelPolicy {
  /** The owner's own settings (what the form edits). */
  settings: OwnerPolicySettings;
  /** What runs: the owner's settings with the fleet policy laid on, locks applied. */
  effective: OwnerPolicySettings;
  /** null until the coordinator sent a fleet message (or when it has none). */
  fleet: PanelFleet | null;
  /** true when a change takes effect at once; false: it is saved for the next start. */
  live: boolean;
  /** Whose busy-program list applies on this computer. */
  platform: ProgramPlatform;
}

export interface PanelPolicySaved extends PanelPolicy {
  applied: 'live' | 'next-start';
  /** What the owner must know, e.g. that maxWorkers waits for a restart. */
  note: string | null;
}
