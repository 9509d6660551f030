// The journaled operations: every change to the coordinator's state is one of these, and only these.
import type { JobSpec, BlobRef } from '../../../shared/job-file.js';

export interface JobRecord {
  id: string;
  seq: number;
  spec: JobSpec;
  taskCount: number;
  createdAt: number;
}

export type EndState = 'succeeded' | 'failed' | 'cancelled' | 'lost';

export type Op =
  | { t: 'job.submit'; job: JobRecord }
  | { t: 'job.cancel'; jobId: string; at: number }
  | { t: 'job.priority'; jobId: string; priority: number }
  | { t: 'job.retry'; jobId: string; at: number }
  | {
      t: 'attempt.assign';
      attemptId: string;
      jobId: string;
      idx: number;
      contributorId: string;
      at: number;
      speculative?: boolean;
      /** Only for tasks extracted from an input blob: the input, and the byte cursor after it. */
      input?: unknown;
      cursor?: number;
    }
  | { t: 'attempt.start'; attemptId: string }
  | {
      t: 'attempt.end';
      attemptId: string;
      state: EndState;
      at: number;
      output?: unknown;
      outputFiles?: BlobRef[];
      error?: string;
      exitCode?: number;
      wallMs?: number;
      cpuMs?: number;
      /** Counts against maxAttempts (a task error, crash or timeout; not a lost contributor). */
      isFailure?: boolean;
    }
  | { t: 'contributor.seen'; id: string; name: string; caps: unknown; at: number }
  | {
      t: 'credential.issue';
      contributorId: string;
      /** sha256 of the credential; the credential itself is never stored. */
      hash: string;
      via: 'join' | 'pairing';
      name: string;
      at: number;
    }
  | { t: 'credential.revoke'; contributorId: string; at: number }
  | {
      t: 'pairing.request';
      contributorId: string;
      name: string;
      user?: string;
      publicKey: string;
      fingerprint: string;
      at: number;
    }
  | { t: 'pairing.decide'; contributorId: string; decision: 'approved' | 'denied'; at: number };

/** What applying an op tells the coordinator. */
export interface ApplyResult {
  /** attempt.assign: the task's input and attempt number. */
  input?: unknown;
  number?: number;
  /** attempt.end: whether this attempt's result became the task's result. */
  recorded?: boolean;
  /** attempt.end: other attempts of the same task are still live (speculative copies). */
  othersLive?: boolean;
  /** attempt.end: the task went back to pending (to be re-queued). */
  requeued?: boolean;
  /** The job reached a final state with this op. */
  jobFinished?: boolean;
  /** job.retry: the tasks put back to pending. */
  idxs?: number[];
  /** job.cancel: the attempts that were still live, to be terminated. */
  liveAttempts?: string[];
}
