// Coordinator <-> contributor messages over the WebSocket at /api/v1/connect (docs/concepts.md), one schema each.
// A text frame carries one message, or a JSON array of messages that the sender batched in one
// event-loop turn; they are checked one by one and handled in order.
import { z } from 'zod';
import { blobRefSchema, PLATFORMS, sha256Schema } from './job-file.js';
import { fleetControlSchema, fleetPolicySchema } from './fleet-policy.js';

export const PROTOCOL_VERSION = 1;

const id = z.string().min(1).max(200);
const attemptId = z.string().regex(/^[A-Za-z0-9._:-]{1,200}$/, 'not an attempt id');
const ms = z.number().finite().min(0);

export const capabilitiesSchema = z.strictObject({
  cores: z.number().int().min(1).max(4096),
  memoryMb: z.number().int().min(0),
  platform: z.enum(PLATFORMS),
  arch: z.string().min(1).max(50),
  runtimes: z.array(z.enum(['node', 'command'])).min(1),
  tags: z.array(z.string().min(1).max(100)).max(100).default([]),
  slots: z.number().int().min(0).max(4096),
  /** How its tasks are kept apart: an operating-system sandbox, or Node's permission model only. */
  isolation: z.enum(['sandbox', 'permission-model']).optional(),
  /** Its owner lets jobs that ask for it use the network (`--allow-network`). */
  network: z.boolean().optional(),
});
export type Capabilities = z.infer<typeof capabilitiesSchema>;
export type IsolationLevel = NonNullable<Capabilities['isolation']>;

export const policyStatusSchema = z.strictObject({
  state: z.enum(['working', 'idle', 'paused']),
  reason: z.string().max(500),
  until: z.number().optional(),
});
export type PolicyStatus = z.infer<typeof policyStatusSchema>;

const runningAttempt = z.strictObject({
  attemptId,
  progress: z.number().min(0).max(1).optional(),
  message: z.string().max(1000).optional(),
  suspended: z.boolean().optional(),
});

export const helloSchema = z.strictObject({
  type: z.literal('hello'),
  protocol: z.number().int(),
  contributorId: id,
  name: z.string().min(1).max(200),
  user: z.string().max(200).optional(),
  caps: capabilitiesSchema,
  heartbeatMs: z.number().int().min(50).max(600_000),
  /** What this machine is running right now: after a reconnect, the coordinator adopts these. */
  running: z
    .array(z.strictObject({ attemptId, jobId: id, idx: z.number().int().min(0) }))
    .max(4096),
  policy: policyStatusSchema.optional(),
});

/** The kept tail of one output stream of an attempt, uploaded as a blob beside its result. */
export const logRefSchema = z.strictObject({
  sha256: sha256Schema,
  /** Bytes kept (the blob's size). */
  size: z.number().int().min(0),
  /** Bytes written before the kept tail and dropped (the stream exceeded the contributor's bound). */
  dropped: z.number().int().min(0),
});
export type LogRef = z.infer<typeof logRefSchema>;

export const LOG_STREAMS = ['stdout', 'stderr', 'log'] as const;
export type LogStream = (typeof LOG_STREAMS)[number];

/** An attempt's stdout, stderr and `ctx.log` lines; absent streams wrote nothing. */
export const attemptLogsSchema = z.strictObject({
  stdout: logRefSchema.optional(),
  stderr: logRefSchema.optional(),
  log: logRefSchema.optional(),
});
export type AttemptLogs = z.infer<typeof attemptLogsSchema>;

export const resultSchema = z.strictObject({
  type: z.literal('result'),
  attemptId,
  state: z.enum(['succeeded', 'failed', 'cancelled']),
  output: z.json().optional(),
  outputFiles: z.array(blobRefSchema).max(10_000).optional(),
  error: z
    .string()
    .max(64 * 1024)
    .optional(),
  reason: z.string().max(50).optional(),
  exitCode: z.number().int().optional(),
  wallMs: ms,
  cpuMs: ms,
  logs: attemptLogsSchema.optional(),
});
export type ResultMessage = z.infer<typeof resultSchema>;

export const contributorMessageSchema = z.discriminatedUnion('type', [
  helloSchema,
  z.strictObject({
    type: z.literal('ready'),
    slots: z.number().int().min(0).max(4096),
    isolation: z.enum(['sandbox', 'permission-model']).optional(),
  }),
  z.strictObject({
    type: z.literal('heartbeat'),
    running: z.array(runningAttempt).max(4096),
    policy: policyStatusSchema.optional(),
  }),
  z.strictObject({ type: z.literal('started'), attemptId }),
  z.strictObject({
    type: z.literal('progress'),
    attemptId,
    fraction: z.number().min(0).max(1),
    message: z.string().max(1000).optional(),
  }),
  z.strictObject({
    type: z.literal('log'),
    attemptId,
    lines: z.array(z.string().max(4096)).max(100),
  }),
  resultSchema,
  z.strictObject({
    type: z.literal('probe-reply'),
    attemptId,
    alive: z.boolean(),
    cpuMs: ms,
    progress: z.number().min(0).max(1).optional(),
    suspended: z.boolean(),
  }),
  z.strictObject({ type: z.literal('vacate'), attemptId, reason: z.string().max(500) }),
]);
export type ContributorMessage = z.infer<typeof contributorMessageSchema>;
export type Hello = z.infer<typeof helloSchema>;

export const assignmentSchema = z.strictObject({
  attemptId,
  jobId: id,
  idx: z.number().int().min(0),
  number: z.number().int().min(1),
  runtime: z.enum(['node', 'command']),
  module: blobRefSchema.optional(),
  command: z.array(z.string()).optional(),
  input: z.json(),
  files: z.array(blobRefSchema),
  outputs: z.array(z.string()),
  timeoutMs: z.number().int().min(1),
  network: z.boolean().optional(),
  maxOutputFiles: z.number().int().min(0).optional(),
  maxOutputBytes: z.number().int().min(0).optional(),
});
export type Assignment = z.infer<typeof assignmentSchema>;

export const coordinatorMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('welcome'),
    protocol: z.number().int(),
    coordinatorId: id,
    contributorId: id,
    heartbeatMs: z.number().int().min(50),
  }),
  z.strictObject({ type: z.literal('assign'), attempts: z.array(assignmentSchema).min(1) }),
  z.strictObject({ type: z.literal('result-ack'), attemptId, accepted: z.boolean() }),
  z.strictObject({ type: z.literal('cancel'), attemptId, reason: z.string() }),
  z.strictObject({ type: z.literal('probe'), attemptId }),
  z.strictObject({
    type: z.literal('scale'),
    backlog: z.number().int().min(0),
    slotsOnOffer: z.number().int().min(0),
  }),
  z.strictObject({ type: z.literal('error'), code: z.string(), message: z.string() }),
  /**
   * The admin's word on this machine (docs/fleet-rollout.md): its groups, the fleet policy that
   * applies (null: none) and remote pause / drain. Sent after the welcome and at every change; a
   * contributor from before fleet policy ignores it as an unknown message (the coordinator still
   * withholds work from a paused or draining machine).
   */
  z.strictObject({
    type: z.literal('fleet'),
    groups: z.array(z.string().max(64)).max(100),
    policy: fleetPolicySchema.nullable(),
    control: fleetControlSchema,
  }),
]);
export type CoordinatorMessage = z.infer<typeof coordinatorMessageSchema>;

/** WebSocket close codes with a meaning of our own (4000-4999 are free for applications). */
export const CLOSE = {
  badCredential: 4001,
  badMessage: 4002,
  protocolMismatch: 4003,
  replaced: 4004,
  revoked: 4005,
  shuttingDown: 4006,
} as const;
