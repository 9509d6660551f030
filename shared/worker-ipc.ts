// Messages between the contributor's supervisor and a worker process over Node's fork IPC channel.
//
// The supervisor parses what a worker sends with these schemas. The worker itself only imports the
// inferred *types* (erased at compile time) and checks the few fields of `run`/`cancel` by hand:
// it runs under Node's permission model with read access to its own code folder only, so it cannot
// load zod from node_modules (and should not need to trust a dependency tree to read two fields).
import { z } from 'zod';

const attemptId = z.string().min(1).max(200);

/** Supervisor → worker: run one node task. `files` maps staged names to absolute paths. */
export const WorkerRunMessage = z.object({
  type: z.literal('run'),
  attemptId,
  modulePath: z.string().min(1),
  input: z.unknown(),
  files: z.record(z.string(), z.string()),
  workdir: z.string().min(1),
  /** Deeper outputs fail as "result too deep" in the worker, before anything serialises them. */
  maxOutputDepth: z.number().int().min(1),
});

/** Supervisor → worker: abort `ctx.signal` of the running attempt (the supervisor kills if ignored). */
export const WorkerCancelMessage = z.object({ type: z.literal('cancel'), attemptId });

export const ToWorkerMessage = z.discriminatedUnion('type', [
  WorkerRunMessage,
  WorkerCancelMessage,
]);

/** Worker → supervisor: the process is up and waits for `run`. */
export const WorkerReadyMessage = z.object({
  type: z.literal('ready'),
  pid: z.number().int(),
  node: z.string(),
});

export const WorkerProgressMessage = z.object({
  type: z.literal('progress'),
  attemptId,
  fraction: z.number().min(0).max(1),
  message: z.string().optional(),
});

export const WorkerLogMessage = z.object({ type: z.literal('log'), attemptId, line: z.string() });

/** `cpuMs` is the worker's `process.cpuUsage()` delta over the attempt. */
export const WorkerDoneMessage = z.object({
  type: z.literal('done'),
  attemptId,
  output: z.unknown(),
  cpuMs: z.number().nonnegative(),
});

/** `code` carries the error's Node code, e.g. `ERR_ACCESS_DENIED` for a permission denial. */
export const WorkerErrorMessage = z.object({
  type: z.literal('error'),
  attemptId,
  message: z.string(),
  stack: z.string().optional(),
  code: z.string().optional(),
  kind: z.enum(['error', 'bad-output', 'permission']),
  cpuMs: z.number().nonnegative(),
  /** The worker exits right after this message (uncaught error): do not give it another task. */
  fatal: z.boolean().optional(),
});

export const FromWorkerMessage = z.discriminatedUnion('type', [
  WorkerReadyMessage,
  WorkerProgressMessage,
  WorkerLogMessage,
  WorkerDoneMessage,
  WorkerErrorMessage,
]);

export type WorkerRunMessage = z.infer<typeof WorkerRunMessage>;
export type WorkerCancelMessage = z.infer<typeof WorkerCancelMessage>;
export type ToWorkerMessage = z.infer<typeof ToWorkerMessage>;
export type WorkerReadyMessage = z.infer<typeof WorkerReadyMessage>;
export type WorkerProgressMessage = z.infer<typeof WorkerProgressMessage>;
export type WorkerLogMessage = z.infer<typeof WorkerLogMessage>;
export type WorkerDoneMessage = z.infer<typeof WorkerDoneMessage>;
export type WorkerErrorMessage = z.infer<typeof WorkerErrorMessage>;
export type FromWorkerMessage = z.infer<typeof FromWorkerMessage>;
