// Public shapes of the contributor manager: its typed events and its status snapshot.
import type { Assignment, ResultMessage } from '../../../../shared/protocol.js';
import type { AttemptPhase } from './manager-attempt.js';

export interface ManagerEvents {
  connected: (welcome: { coordinatorId: string; heartbeatMs: number }) => void;
  disconnected: (info: { code: number; reason: string; refused: boolean }) => void;
  assigned: (assignment: Assignment) => void;
  started: (attemptId: string) => void;
  /** A result is ready (and sent if connected); it is kept until acknowledged. */
  outcome: (result: ResultMessage) => void;
  acknowledged: (ack: { attemptId: string; accepted: boolean }) => void;
  slots: (slots: { capacity: number; free: number }) => void;
}

export interface ManagerStatus {
  contributorId: string;
  connected: boolean;
  slots: number;
  maxSlots: number;
  freeSlots: number;
  promised: number;
  running: {
    attemptId: string;
    jobId: string;
    idx: number;
    phase: AttemptPhase;
    progress?: number;
    message?: string;
  }[];
  unacknowledged: string[];
}
