// Job and attempt states of docs/concepts.md and the transitions allowed between them: one table, tested.

export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

export const ATTEMPT_STATES = [
  'pending',
  'assigned',
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'lost',
] as const;
export type AttemptState = (typeof ATTEMPT_STATES)[number];

/** A task's state is the state of its newest attempt, or pending before the first one. */
export type TaskState = AttemptState;

const JOB_TRANSITIONS: Record<JobState, readonly JobState[]> = {
  queued: ['running', 'cancelled', 'failed', 'succeeded'],
  running: ['succeeded', 'failed', 'cancelled'],
  // A finished job may be brought back to life by re-running its failed tasks.
  succeeded: [],
  failed: ['running'],
  cancelled: [],
};

const ATTEMPT_TRANSITIONS: Record<AttemptState, readonly AttemptState[]> = {
  pending: ['assigned', 'cancelled'],
  assigned: ['running', 'succeeded', 'failed', 'cancelled', 'lost'],
  running: ['succeeded', 'failed', 'cancelled', 'lost'],
  succeeded: [],
  failed: [],
  cancelled: [],
  lost: [],
};

export function canMoveJob(from: JobState, to: JobState): boolean {
  return JOB_TRANSITIONS[from].includes(to);
}

export function canMoveAttempt(from: AttemptState, to: AttemptState): boolean {
  return ATTEMPT_TRANSITIONS[from].includes(to);
}

export function isFinalJobState(state: JobState): boolean {
  return JOB_TRANSITIONS[state].length === 0 || state === 'failed';
}

export function isFinalAttemptState(state: AttemptState): boolean {
  return ATTEMPT_TRANSITIONS[state].length === 0;
}

export function assertNever(value: never, what: string): never {
  throw new Error(`unexpected ${what}: ${String(value)}`);
}
