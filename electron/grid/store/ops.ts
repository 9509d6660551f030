// The journaled operations: every change to the coordinator's state is one of these, and only these.
import type { JobSpec, BlobRef } from '../../../shared/job-file.js';
import type { AttemptLogs } from '../../../shared/protocol.js';
import type { FleetPolicy } from '../../../shared/fleet-policy.js';

export interface JobRecord {
  id: string;
  seq: number;
  spec: JobSpec;
  taskCount: number;
  createdAt: number;
  /** The user whose token submitted the job (absent in journals written before users). */
  submittedBy?: string;
}

export type UserRole = 'admin' | 'submitter' | 'viewer';

export type EndState = 'succeeded' | 'failed' | 'cancelled' | 'lost';

export type Op =
  | { t: 'job.submit'; job: JobRecord }
  | { t: 'job.cancel'; jobId: string; at: number }
  | { t: 'job.priority'; jobId: string; priority: number }
  | { t: 'job.retry'; jobId: string; at: number }
  /** The job fails as a whole (its inputs cannot be extracted), with the reason shown to users. */
  | { t: 'job.fail'; jobId: string; at: number; error: string }
  /** A finished or cancelled job leaves the store with its tasks and attempts (store format 2). */
  | { t: 'job.delete'; jobId: string }
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
      /** Blob references of its kept stdout, stderr and ctx.log (the text itself is a blob). */
      logs?: AttemptLogs;
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
  | { t: 'pairing.decide'; contributorId: string; decision: 'approved' | 'denied'; at: number }
  /** A pending request pushed out by newer ones (per source address, or over the global bound). */
  | { t: 'pairing.expire'; contributorId: string; at: number }
  /** A person with a token of their own; `hash` is the token's sha256. */
  | {
      t: 'user.add';
      name: string;
      role: UserRole;
      hash: string;
      weight: number;
      at: number;
      maxShare?: number;
    }
  | { t: 'user.remove'; name: string }
  /** A new token for the user: the old one stops working. */
  | { t: 'user.token'; name: string; hash: string; at: number }
  | { t: 'user.weight'; name: string; weight: number }
  /** The most of the grid's slots the user's attempts may hold (0-1]; null: no cap. */
  | { t: 'user.share'; name: string; maxShare: number | null }
  /** The groups an admin gave a machine (they replace its tags as groups); null: back to its tags. */
  | { t: 'fleet.groups'; contributorId: string; groups: string[] | null; by?: string; at: number }
  /** A fleet policy for `scope` (`group:NAME` or `machine:ID`); null: removed. */
  | { t: 'fleet.policy'; scope: string; policy: FleetPolicy | null; at: number }
  /** Remote pause or drain of `scope`; `none`: resumed. */
  | {
      t: 'fleet.control';
      scope: string;
      state: 'none' | 'paused' | 'draining';
      by?: string;
      reason?: string;
      at: number;
    }
  /** One state-changing call by a person, appended to the audit log. */
  | {
      t: 'audit.record';
      at: number;
      user: string;
      role: string;
      action: string;
      target?: string;
      address?: string;
      status: number;
      detail?: string;
    };

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
