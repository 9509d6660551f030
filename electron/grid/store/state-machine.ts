// The coordinator's state transitions: one deterministic function from (database, op) to the next state.
import type { Database, SqlValue, Statement } from 'sql.js';
import type { JobSpec } from '../../../shared/job-file.js';
import { sweepInput } from '../../../shared/sweep.js';
import {
  canMoveAttempt,
  canMoveJob,
  type AttemptState,
  type JobState,
} from '../../../shared/states.js';
import type { ApplyResult, Op } from './ops.js';
import { applyTrustOp } from './trust-ops.js';

/** A task may be lost this many times beyond maxAttempts before it is failed anyway. */
export const EXTRA_LOST_ATTEMPTS = 5;

export class TransitionError extends Error {
  readonly code = 'BAD_TRANSITION';
  constructor(message: string) {
    super(message);
    this.name = this.constructor.name;
  }
}

const statements = new WeakMap<Database, Map<string, Statement>>();
function stmt(db: Database, sql: string): Statement {
  let cache = statements.get(db);
  if (!cache) statements.set(db, (cache = new Map<string, Statement>()));
  let s = cache.get(sql);
  if (!s) cache.set(sql, (s = db.prepare(sql)));
  return s;
}

function run(db: Database, sql: string, params: SqlValue[]): void {
  const s = stmt(db, sql);
  s.run(params);
}

function row(db: Database, sql: string, params: SqlValue[]): Record<string, SqlValue> | undefined {
  const s = stmt(db, sql);
  try {
    s.bind(params);
    return s.step() ? s.getAsObject() : undefined;
  } finally {
    s.reset();
  }
}

function column(db: Database, sql: string, params: SqlValue[]): SqlValue[] {
  const s = stmt(db, sql);
  const out: SqlValue[] = [];
  try {
    s.bind(params);
    while (s.step()) out.push(s.get()[0] as SqlValue);
  } finally {
    s.reset();
  }
  return out;
}

interface JobRow {
  spec: JobSpec;
  state: string;
  taskCount: number;
  extracted: number;
  succeeded: number;
  failed: number;
}

// A job's spec never changes once submitted: parse it once, not on every op that touches the job.
const specs = new WeakMap<Database, Map<string, JobSpec>>();
function specOf(db: Database, jobId: string, text: string): JobSpec {
  let cache = specs.get(db);
  if (!cache) specs.set(db, (cache = new Map<string, JobSpec>()));
  let spec = cache.get(jobId);
  if (!spec) cache.set(jobId, (spec = JSON.parse(text) as JobSpec));
  return spec;
}

function job(db: Database, jobId: string): JobRow {
  const r = row(
    db,
    'SELECT spec, state, task_count, extracted, succeeded, failed FROM jobs WHERE id = ?',
    [jobId],
  );
  if (!r) throw new TransitionError(`no job ${jobId}`);
  return {
    spec: specOf(db, jobId, r.spec as string),
    state: r.state as string,
    taskCount: r.task_count as number,
    extracted: r.extracted as number,
    succeeded: r.succeeded as number,
    failed: r.failed as number,
  };
}

function extractInput(spec: JobSpec, idx: number, given: unknown): unknown {
  if (spec.tasks.sweep) return sweepInput(spec.tasks.sweep, idx);
  if (spec.tasks.inputs) return spec.tasks.inputs[idx];
  if (given === undefined) throw new TransitionError('input blob task without its input');
  return given;
}

/** Finish the job if no task is left to run; true when it did. */
function settle(db: Database, jobId: string, at: number): boolean {
  const j = job(db, jobId);
  if (j.state === 'cancelled' || j.succeeded + j.failed < j.taskCount) return false;
  const next: JobState = j.failed > 0 ? 'failed' : 'succeeded';
  moveJob(j.state, next, jobId);
  run(db, 'UPDATE jobs SET state = ?, finished_at = ? WHERE id = ?', [next, at, jobId]);
  return true;
}

function assign(db: Database, op: Extract<Op, { t: 'attempt.assign' }>): ApplyResult {
  const j = job(db, op.jobId);
  if (j.state !== 'queued' && j.state !== 'running')
    throw new TransitionError(`job ${op.jobId} is ${j.state}`);
  let task = row(db, 'SELECT state, attempts, input FROM tasks WHERE job_id = ? AND idx = ?', [
    op.jobId,
    op.idx,
  ]);
  if (!task) {
    // Tasks are extracted in order, so the cursor alone says which ones exist.
    if (op.idx !== j.extracted) throw new TransitionError(`task ${op.idx} is not next to extract`);
    const input = JSON.stringify(extractInput(j.spec, op.idx, op.input) ?? null);
    run(db, "INSERT INTO tasks (job_id, idx, input, state) VALUES (?, ?, ?, 'pending')", [
      op.jobId,
      op.idx,
      input,
    ]);
    run(db, 'UPDATE jobs SET extracted = ?, cursor = ? WHERE id = ?', [
      op.idx + 1,
      op.cursor ?? 0,
      op.jobId,
    ]);
    task = { state: 'pending', attempts: 0, input };
  }
  const live = task.state === 'assigned' || task.state === 'running';
  if (!(task.state === 'pending' || (op.speculative && live)))
    throw new TransitionError(`task ${op.jobId}/${op.idx} is ${String(task.state)}`);
  const number = (task.attempts as number) + 1;
  run(
    db,
    "INSERT INTO attempts (id, job_id, idx, number, contributor, state, speculative, assigned_at) VALUES (?, ?, ?, ?, ?, 'assigned', ?, ?)",
    [op.attemptId, op.jobId, op.idx, number, op.contributorId, op.speculative ? 1 : 0, op.at],
  );
  run(
    db,
    `UPDATE tasks SET attempts = ?, state = CASE WHEN state = 'running' THEN state ELSE 'assigned' END WHERE job_id = ? AND idx = ?`,
    [number, op.jobId, op.idx],
  );
  if (j.state === 'queued')
    run(db, "UPDATE jobs SET state = 'running', started_at = ? WHERE id = ?", [op.at, op.jobId]);
  return { input: JSON.parse(task.input as string) as unknown, number };
}

function moveJob(from: string, to: JobState, jobId: string): void {
  if (!canMoveJob(from as JobState, to))
    throw new TransitionError(`job ${jobId} cannot go from ${from} to ${to}`);
}

function liveAttempt(db: Database, attemptId: string) {
  const a = row(db, 'SELECT job_id, idx, state FROM attempts WHERE id = ?', [attemptId]);
  if (!a) throw new TransitionError(`no attempt ${attemptId}`);
  if (a.state !== 'assigned' && a.state !== 'running')
    throw new TransitionError(`attempt ${attemptId} already ${String(a.state)}`);
  return { jobId: a.job_id as string, idx: a.idx as number, state: a.state as AttemptState };
}

function end(db: Database, op: Extract<Op, { t: 'attempt.end' }>): ApplyResult {
  const attempt = liveAttempt(db, op.attemptId);
  const { jobId, idx } = attempt;
  const task = row(db, 'SELECT state, attempts, failures FROM tasks WHERE job_id = ? AND idx = ?', [
    jobId,
    idx,
  ]);
  if (!task) throw new TransitionError(`no task ${jobId}/${idx}`);
  const taskDone =
    task.state === 'succeeded' || task.state === 'failed' || task.state === 'cancelled';
  // A second success for a finished task (a speculative copy, a late duplicate) is not recorded.
  const attemptState: AttemptState = op.state === 'succeeded' && taskDone ? 'cancelled' : op.state;
  if (!canMoveAttempt(attempt.state, attemptState))
    throw new TransitionError(
      `attempt ${op.attemptId} cannot go from ${attempt.state} to ${attemptState}`,
    );
  run(
    db,
    'UPDATE attempts SET state = ?, ended_at = ?, wall_ms = ?, cpu_ms = ?, exit_code = ?, error = ? WHERE id = ?',
    [
      attemptState,
      op.at,
      op.wallMs ?? null,
      op.cpuMs ?? null,
      op.exitCode ?? null,
      attemptState === 'cancelled' && op.state === 'succeeded'
        ? 'duplicate result'
        : (op.error ?? null),
      op.attemptId,
    ],
  );
  if (taskDone) return { recorded: false };
  if (op.state === 'succeeded') {
    const output =
      op.outputFiles && op.outputFiles.length > 0
        ? { ...(isObject(op.output) ? op.output : { value: op.output }), files: op.outputFiles }
        : op.output;
    run(
      db,
      "UPDATE tasks SET state = 'succeeded', output = ?, error = NULL, finished_at = ? WHERE job_id = ? AND idx = ?",
      [JSON.stringify(output ?? null), op.at, jobId, idx],
    );
    run(db, 'UPDATE jobs SET succeeded = succeeded + 1 WHERE id = ?', [jobId]);
    return { recorded: true, jobFinished: settle(db, jobId, op.at) };
  }
  const othersLive = column(
    db,
    "SELECT id FROM attempts WHERE job_id = ? AND idx = ? AND state IN ('assigned', 'running')",
    [jobId, idx],
  );
  const failures = (task.failures as number) + (op.isFailure ? 1 : 0);
  run(db, 'UPDATE tasks SET failures = ?, error = ? WHERE job_id = ? AND idx = ?', [
    failures,
    op.error ?? null,
    jobId,
    idx,
  ]);
  if (othersLive.length > 0) return { recorded: false };
  const { maxAttempts } = job(db, jobId).spec.limits;
  const exhausted =
    failures >= maxAttempts || (task.attempts as number) >= maxAttempts + EXTRA_LOST_ATTEMPTS;
  if (op.state === 'cancelled' || !exhausted) {
    // A cancelled attempt of a live job (hard timeout aside) is re-run, like a lost one.
    run(db, "UPDATE tasks SET state = 'pending' WHERE job_id = ? AND idx = ?", [jobId, idx]);
    return { recorded: false, requeued: true };
  }
  run(db, "UPDATE tasks SET state = 'failed', finished_at = ? WHERE job_id = ? AND idx = ?", [
    op.at,
    jobId,
    idx,
  ]);
  run(db, 'UPDATE jobs SET failed = failed + 1 WHERE id = ?', [jobId]);
  return { recorded: true, jobFinished: settle(db, jobId, op.at) };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function cancel(db: Database, op: Extract<Op, { t: 'job.cancel' }>): ApplyResult {
  const j = job(db, op.jobId);
  moveJob(j.state, 'cancelled', op.jobId);
  const live = column(
    db,
    "SELECT id FROM attempts WHERE job_id = ? AND state IN ('assigned', 'running')",
    [op.jobId],
  );
  run(
    db,
    "UPDATE attempts SET state = 'cancelled', ended_at = ?, error = 'job cancelled' WHERE job_id = ? AND state IN ('assigned', 'running')",
    [op.at, op.jobId],
  );
  run(
    db,
    "UPDATE tasks SET state = 'cancelled', finished_at = ? WHERE job_id = ? AND state IN ('pending', 'assigned', 'running')",
    [op.at, op.jobId],
  );
  run(
    db,
    "UPDATE jobs SET state = 'cancelled', finished_at = ?, cancelled = task_count - succeeded - failed WHERE id = ?",
    [op.at, op.jobId],
  );
  return { jobFinished: true, liveAttempts: live as string[] };
}

function retry(db: Database, op: Extract<Op, { t: 'job.retry' }>): ApplyResult {
  const j = job(db, op.jobId);
  if (j.failed === 0) throw new TransitionError(`job ${op.jobId} has no failed tasks`);
  if (j.state === 'failed') moveJob(j.state, 'running', op.jobId);
  const idxs = column(db, "SELECT idx FROM tasks WHERE job_id = ? AND state = 'failed'", [
    op.jobId,
  ]) as number[];
  run(
    db,
    "UPDATE tasks SET state = 'pending', failures = 0, attempts = 0, finished_at = NULL WHERE job_id = ? AND state = 'failed'",
    [op.jobId],
  );
  run(db, "UPDATE jobs SET failed = 0, state = 'running', finished_at = NULL WHERE id = ?", [
    op.jobId,
  ]);
  return { idxs };
}

export function applyOp(db: Database, op: Op): ApplyResult {
  switch (op.t) {
    case 'job.submit': {
      const { job: j } = op;
      run(
        db,
        "INSERT INTO jobs (id, seq, name, spec, runtime, state, priority, owner, created_at, task_count) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?)",
        [
          j.id,
          j.seq,
          j.spec.name,
          JSON.stringify(j.spec),
          j.spec.runtime,
          j.spec.priority,
          j.spec.owner ?? null,
          j.createdAt,
          j.taskCount,
        ],
      );
      return {};
    }
    case 'job.cancel':
      return cancel(db, op);
    case 'job.priority':
      job(db, op.jobId);
      run(db, 'UPDATE jobs SET priority = ? WHERE id = ?', [op.priority, op.jobId]);
      return {};
    case 'job.retry':
      return retry(db, op);
    case 'attempt.assign':
      return assign(db, op);
    case 'attempt.start': {
      const { jobId, idx } = liveAttempt(db, op.attemptId);
      run(db, "UPDATE attempts SET state = 'running' WHERE id = ?", [op.attemptId]);
      run(
        db,
        "UPDATE tasks SET state = 'running' WHERE job_id = ? AND idx = ? AND state = 'assigned'",
        [jobId, idx],
      );
      return {};
    }
    case 'attempt.end':
      return end(db, op);
    case 'credential.issue':
    case 'credential.revoke':
    case 'pairing.request':
    case 'pairing.decide':
      return applyTrustOp(db, op, run);
    case 'contributor.seen':
      run(
        db,
        'INSERT INTO contributors (id, name, caps, first_seen, last_seen) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, caps = excluded.caps, last_seen = excluded.last_seen',
        [op.id, op.name, JSON.stringify(op.caps), op.at, op.at],
      );
      return {};
  }
}
