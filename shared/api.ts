// HTTP API bodies of docs/api.md: what clients send (parsed at the boundary) and what they get back.
import { z } from 'zod';
import { JOB_STATES, ATTEMPT_STATES } from './states.js';
import { attemptLogsSchema, capabilitiesSchema, policyStatusSchema } from './protocol.js';
import { PROTOCOL_VERSION } from './protocol.js';

export const API_PREFIX = '/api/v1';
export { PROTOCOL_VERSION };

export const jobIdSchema = z.string().regex(/^j[0-9a-z]{4,40}$/, 'not a job id');

export const taskCountsSchema = z.strictObject({
  pending: z.number(),
  running: z.number(),
  succeeded: z.number(),
  failed: z.number(),
  cancelled: z.number(),
});
export type TaskCounts = z.infer<typeof taskCountsSchema>;

export const jobSummarySchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  state: z.enum(JOB_STATES),
  runtime: z.enum(['node', 'command']),
  priority: z.number(),
  owner: z.string().nullable(),
  createdAt: z.number(),
  startedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
  taskCount: z.number(),
  counts: taskCountsSchema,
  /** Tasks finished per second over the last minute. */
  throughput: z.number(),
  etaSec: z.number().nullable(),
  /** Why a queued job is not running, in words; null when it is. */
  reason: z.string().nullable(),
  /** Why the job failed as a whole (e.g. its inputs could not be extracted); null otherwise. */
  error: z.string().nullable(),
});
export type JobSummary = z.infer<typeof jobSummarySchema>;

export const attemptRowSchema = z.strictObject({
  attemptId: z.string(),
  number: z.number(),
  state: z.enum(ATTEMPT_STATES),
  contributorId: z.string().nullable(),
  assignedAt: z.number(),
  endedAt: z.number().nullable(),
  wallMs: z.number().nullable(),
  cpuMs: z.number().nullable(),
  exitCode: z.number().nullable(),
  error: z.string().nullable(),
  /** Where its stdout, stderr and ctx.log tails are kept (blobs); null when it kept none. */
  logs: attemptLogsSchema.nullable(),
});
export type AttemptRow = z.infer<typeof attemptRowSchema>;

export const taskRowSchema = z.strictObject({
  idx: z.number(),
  state: z.enum(ATTEMPT_STATES),
  input: z.unknown(),
  output: z.unknown().optional(),
  error: z.string().nullable(),
  attempts: z.array(attemptRowSchema),
  progress: z.number().nullable(),
});
export type TaskRow = z.infer<typeof taskRowSchema>;

export const taskListQuerySchema = z.strictObject({
  state: z.enum(ATTEMPT_STATES).optional(),
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const taskListSchema = z.strictObject({
  total: z.number(),
  offset: z.number(),
  tasks: z.array(taskRowSchema),
});

export const taskLogsQuerySchema = z.strictObject({
  /** Attempt number (1-based); the latest when absent. */
  attempt: z.coerce.number().int().min(1).max(1_000_000).optional(),
  /** For a running attempt: live lines after this many (from a previous answer's `next`). */
  after: z.coerce.number().int().min(0).optional(),
});

/** `GET /api/v1/jobs/:id/tasks/:idx/logs`: one attempt's kept output, as text. */
export interface TaskLogs {
  attempt: number;
  attemptId: string;
  state: string;
  contributorId: string | null;
  /** True while it runs: `lines` are then the live lines (stdout, stderr and ctx.log mixed). */
  live: boolean;
  lines: string[];
  /** Pass as `after` to get only newer live lines. */
  next: number;
  /** Once ended: each stream's kept tail, as printed, and how many bytes before it were dropped. */
  streams: Partial<Record<'stdout' | 'stderr' | 'log', { text: string; dropped: number }>>;
}

export const contributorInfoSchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  state: z.enum(['online', 'offline']),
  caps: capabilitiesSchema.nullable(),
  /** How its tasks are isolated (older contributors that do not say: the permission model). */
  isolation: z.enum(['sandbox', 'permission-model']).nullable(),
  policy: policyStatusSchema.nullable(),
  slotsInUse: z.number(),
  running: z.array(z.string()),
  heartbeatMs: z.number().nullable(),
  lastSeen: z.number().nullable(),
  connectedAt: z.number().nullable(),
  /** Its version, when it told (contributors from before this do not). */
  version: z.string().nullable().optional(),
  /** Its groups: those the admin set, else its own tags (docs/fleet-rollout.md). */
  groups: z.array(z.string()).optional(),
  /** Remote pause or drain by an admin: paused, draining (tasks left), drained; null: none. */
  fleet: z.enum(['paused', 'draining', 'drained']).nullable().optional(),
});
export type ContributorInfo = z.infer<typeof contributorInfoSchema>;

/** A person's fair-share weight: 2 gets twice the slots of 1 when both wait. */
export const userWeightSchema = z.number().positive().max(1000);
/** A cap: the most of the grid's slots a person's attempts may hold, above 0 and at most 1. */
export const maxShareSchema = z.number().positive().max(1);

export const prioritySchema = z.strictObject({ priority: z.number().int().min(-1000).max(1000) });

export const errorBodySchema = z.strictObject({
  error: z.strictObject({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});

export const resultLineSchema = z.object({
  task: z.number(),
  input: z.unknown(),
  output: z.unknown().optional(),
  error: z.string().optional(),
});
export type ResultLine = z.infer<typeof resultLineSchema>;

/** Server-sent events of `GET /api/v1/events`. */
export type GridEvent =
  | { type: 'job'; job: JobSummary }
  /** The job was deleted (`colony jobs delete`, DELETE /jobs/:id, the keep-days collector). */
  | { type: 'job-deleted'; jobId: string }
  | { type: 'task'; jobId: string; idx: number; state: string; attemptId: string }
  | { type: 'contributor'; contributor: ContributorInfo };

/** One entry of the audit log (`GET /api/v1/audit`, `colony audit --json`): who did what, when, from where. */
export interface AuditEntry {
  seq: number;
  at: number;
  user: string;
  role: string;
  action: string;
  target: string | null;
  address: string | null;
  status: number;
  detail: string | null;
}
