// HTTP API bodies of SPEC §5: what clients send (parsed at the boundary) and what they get back.
import { z } from 'zod';
import { JOB_STATES, ATTEMPT_STATES } from './states.js';
import { capabilitiesSchema, policyStatusSchema } from './protocol.js';
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

export const contributorInfoSchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  state: z.enum(['online', 'offline']),
  caps: capabilitiesSchema.nullable(),
  policy: policyStatusSchema.nullable(),
  slotsInUse: z.number(),
  running: z.array(z.string()),
  heartbeatMs: z.number().nullable(),
  lastSeen: z.number().nullable(),
  connectedAt: z.number().nullable(),
});
export type ContributorInfo = z.infer<typeof contributorInfoSchema>;

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
  | { type: 'task'; jobId: string; idx: number; state: string; attemptId: string }
  | { type: 'contributor'; contributor: ContributorInfo };
