// One contributor as the coordinator sees it: its connection, promises and the attempts it holds.
import type { Capabilities, CoordinatorMessage, PolicyStatus } from '../../../shared/protocol.js';

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
  logs: string[];
}

export class Session {
  peer: Peer | undefined;
  /** Tasks this contributor asked for and has not been given yet (additive `ready` credits). */
  credit = 0;
  readonly attempts = new Set<string>();
  lastSeen: number;
  lastScaleAt = 0;
  policy: PolicyStatus | undefined;

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

  send(message: CoordinatorMessage): void {
    this.peer?.send(message);
  }
}
