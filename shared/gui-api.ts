// Response bodies of the GUI's extra routes (routes-gui.ts): overview, dry-run, task detail, settings.
import type { ContributorInfo, TaskRow } from './api.js';

export interface Overview {
  contributors: { online: number; working: number; paused: number; offline: number };
  /** Worker slots (one core each) in use, of those on offer by online, unpaused contributors. */
  cores: { inUse: number; offered: number };
  backlog: number;
  jobs: { running: number; queued: number };
  /** One point a minute over the last hour, oldest first. */
  throughput: { t: number; perSec: number }[];
}

export interface DryRunContributor {
  id: string;
  name: string;
  state: ContributorInfo['state'];
  /** null when this contributor can run the job now, else why not, in words. */
  reason: string | null;
}

export interface DryRun {
  taskCount: number;
  /** The first few task inputs, in task order. */
  preview: unknown[];
  contributors: DryRunContributor[];
  /** null when the job would start at once, else why it would wait. */
  wouldWait: string | null;
}

export interface LiveAttemptView {
  attemptId: string;
  contributorId: string;
  contributorName: string | null;
  startedAt: number | null;
  progress: number | null;
  message: string | null;
  suspended: boolean;
  /** The newest log lines the engine keeps for a running attempt. */
  logs: string[];
}

export interface TaskDetail {
  task: TaskRow;
  live: LiveAttemptView[];
}

export interface Settings {
  coordinatorId: string;
  name: string;
  url: string;
  /** `colony1.<coordinatorId>.<cert-sha256 or ->.<joinSecret>@host:port` */
  joinToken: string;
  /** Where the server listens: the bound address (`0.0.0.0` = every interface) and port. */
  listen: { address: string; port: number };
  /** This machine's LAN addresses by interface (what others can reach when bound widely). */
  interfaces: { name: string; address: string; family: 'IPv4' | 'IPv6' }[];
}

/** `POST /api/v1/settings/rotate/{join|admin}`: the new token (the old one stops working). */
export interface RotateResult {
  which: 'join' | 'admin';
  /** The new join token, or the new admin token: the caller must switch to it at once. */
  token: string;
}

/** `GET /api/v1/contributors/usage?since=`: CPU time of attempts that ended since `since`. */
export interface ContributorUsage {
  since: number;
  /** CPU milliseconds by contributor id. */
  cpuMs: Record<string, number>;
  /** Contributors whose credential is revoked. */
  revoked: string[];
}

/** One attempt on the timeline: which contributor ran which task when. */
export interface TimelineAttempt {
  attemptId: string;
  jobId: string;
  jobName: string;
  idx: number;
  number: number;
  contributorId: string;
  state: TaskRow['state'];
  /** Handed to the contributor (it may sit in its work buffer before it starts). */
  assignedAt: number;
  /** When it began to run: reported by a live attempt, else end minus wall time; null if unknown. */
  startedAt: number | null;
  endedAt: number | null;
}

/** `GET /api/v1/timeline?since=&limit=`: attempts running now or ended since `since`, newest first. */
export interface Timeline {
  now: number;
  since: number;
  attempts: TimelineAttempt[];
  /** True when `limit` cut the list (the oldest were left out). */
  truncated: boolean;
}
