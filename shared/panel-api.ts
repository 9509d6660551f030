// The contributor panel's loopback API (panel-server.ts): what the owner's browser view reads and sends.
import { z } from 'zod';
import { SNOOZE_KINDS, type OwnerPolicySettings, type SnoozeKind } from './owner-policy.js';

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
}

export interface PanelPolicy {
  settings: OwnerPolicySettings;
  /** true when a change takes effect at once; false: it is saved for the next start. */
  live: boolean;
}

export interface PanelPolicySaved extends PanelPolicy {
  applied: 'live' | 'next-start';
  /** What the owner must know, e.g. that maxWorkers waits for a restart. */
  note: string | null;
}
