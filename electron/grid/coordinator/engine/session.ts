// One contributor as the coordinator sees it: its connection, promises and the attempts it holds.
import type {
  Capabilities,
  CoordinatorMessage,
  PolicyStatus,
} from '../../../../shared/protocol.js';

/** The coordinator's side of a contributor connection; the WebSocket is one implementation. */
export interface Peer {
  send(message: CoordinatorMessage): void;
  close(code: number, reason: string): void;
}

export interface LiveAttempt {
  attemptId: string;
  jobId: string;
  idx: number;
  number: number;
  contributorId: string;
  assignedAt: number;
  startedAt?: number;
  speculative: boolean;
  progress?: number;
  message?: string;
  suspended?: boolean;
  probedAt?: number;
  /** The newest live log lines (bounded); `logTotal` counts every line received. */
  logs: string[];
  logTotal?: number;
}

/** Reasons kept per contributor for the console (newest last). */
export const REASONS_KEPT = 20;

export class Session {
  peer: Peer | undefined;
  /** Tasks this contributor asked for and has not been given yet (additive `ready` credits). */
  credit = 0;
  readonly attempts = new Set<string>();
  lastSeen: number;
  lastScaleAt = 0;
  policy: PolicyStatus | undefined;
  /** Its version, when its connection said (`colony-contributor/VERSION`). */
  version: string | undefined;
  /** The last few policy states and reasons it reported, each when it changed (bounded ring). */
  readonly reasons: { at: number; state: PolicyStatus['state']; reason: string }[] = [];

  constructor(
    readonly id: string,
    public name: string,
    public caps: Capabilities,
    public heartbeatMs: number,
    readonly connectedAt: number,
  ) {
    this.lastSeen = connectedAt;
  }

  get paused(): boolean {
    return this.policy?.state === 'paused';
  }

  /** Takes a reported policy status; returns true when its state or reason changed. */
  notePolicy(policy: PolicyStatus | undefined, at: number): boolean {
    const was = this.policy;
    this.policy = policy ?? this.policy;
    // Live numbers in a reason ("for 7 min", "12 %") are no change worth keeping.
    const gist = (r: string) => r.replace(/\d+/g, '#');
    if (!policy || (was?.state === policy.state && gist(was.reason) === gist(policy.reason)))
      return false;
    this.reasons.push({ at, state: policy.state, reason: policy.reason });
    if (this.reasons.length > REASONS_KEPT) this.reasons.shift();
    return true;
  }

  send(message: CoordinatorMessage): void {
    this.peer?.send(message);
  }
}
