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
import {
  forgetMirror,
  mirrorOf,
  type MirrorAttempt,
  type MirrorJob,
  type OpenTask,
} from './mirror.js';
import { join } from 'node:path';
import {
  TaskArchive,
  archiveLine,
  archiveOf,
  attachArchive,
  type ArchivedAttempt,
} from './archive.js';
import { StoreError } from './errors.js';
import type { ApplyResult, Op } from './ops.js';
import { MIGRATIONS, SCHEMA } from './schema.js';
import { applyTrustOp } from './trust-ops.js';
import { applyPeopleOp } from './people-ops.js';
import { applyFleetOp } from './fleet-ops.js';

/** A task may be lost this many times beyond maxAttempts before it is failed anyway. */
export const EXTRA_LOST_ATTEMPTS = 5;

/** A refused transition (the API answers 409 with its message): nothing was written. */
export class TransitionError extends StoreError {
  readonly code = 'BAD_TRANSITION';
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

function jobOf(db: Database, jobId: string): MirrorJob {
  const j = mirrorOf(db).jobs.get(jobId);
  if (!j) throw new TransitionError(`no job ${jobId}`);
  return j;
}

function extractInput(spec: JobSpec, idx: number, given: unknown): unknown {
  if (spec.tasks.sweep) return sweepInput(spec.tasks.sweep, idx);
  if (spec.tasks.inputs) return spec.tasks.inputs[idx];
  if (given === undefined) throw new TransitionError('input blob task without its input');
  return given;
}

function moveJob(from: JobState, to: JobState, jobId: string): void {
  if (!canMoveJob(from, to))
    throw new TransitionError(`job ${jobId} cannot go from ${from} to ${to}`);
}

/** The job's final state once no task is left to run, else undefined. */
function settled(j: MirrorJob, jobId: string): JobState | undefined {
  if (j.state === 'cancelled' || j.succeeded + j.failed < j.taskCount) return undefined;
  const next: JobState = j.failed > 0 ? 'failed' : 'succeeded';
  moveJob(j.state, next, jobId);
  return next;
}

/** Writes a finished task's count (and the job's end, if it was the last one) in one statement. */
function countFinished(db: Database, j: MirrorJob, jobId: string, at: number): boolean {
  const next = settled(j, jobId);
  run(db, 'UPDATE jobs SET succeeded = ?, failed = ?, state = ?, finished_at = ? WHERE id = ?', [
    j.succeeded,
    j.failed,
    next ?? j.state,
    next ? at : null,
    jobId,
  ]);
  if (next) j.state = next;
  return next !== undefined;
}

function assign(db: Database, op: Extract<Op, { t: 'attempt.assign' }>): ApplyResult {
  const j = jobOf(db, op.jobId);
  if (j.state !== 'queued' && j.state !== 'running')
    throw new TransitionError(`job ${op.jobId} is ${j.state}`);
  if (j.state === 'queued') moveJob(j.state, 'running', op.jobId);
  let task = j.open.get(op.idx);
  let input: unknown;
  if (task) {
    // Live already: only a speculative copy may join it.
    const live = task.state === 'assigned' || task.state === 'running';
    if (!op.speculative || !live)
      throw new TransitionError(`task ${op.jobId}/${op.idx} is ${task.state}`);
    input = JSON.parse(
      row(db, 'SELECT input FROM tasks WHERE job_id = ? AND idx = ?', [op.jobId, op.idx])
        ?.input as string,
    );
    run(db, 'UPDATE tasks SET attempts = ? WHERE job_id = ? AND idx = ?', [
      task.attempts + 1,
      op.jobId,
      op.idx,
    ]);
  } else if (op.idx < j.extracted) {
    const r = row(
      db,
      'SELECT state, attempts, failures, input FROM tasks WHERE job_id = ? AND idx = ?',
      [op.jobId, op.idx],
    );
    if (r?.state !== 'pending')
      throw new TransitionError(`task ${op.jobId}/${op.idx} is ${String(r?.state)}`);
    task = {
      state: 'assigned',
      attempts: r.attempts as number,
      failures: r.failures as number,
      live: 0,
    };
    input = JSON.parse(r.input as string);
    run(db, "UPDATE tasks SET state = 'assigned', attempts = ? WHERE job_id = ? AND idx = ?", [
      task.attempts + 1,
      op.jobId,
      op.idx,
    ]);
  } else {
    // Tasks are extracted in order, so the count alone says which one is next.
    if (op.idx !== j.extracted) throw new TransitionError(`task ${op.idx} is not next to extract`);
    if (op.idx >= j.taskCount) throw new TransitionError(`job ${op.jobId} has no task ${op.idx}`);
    input = extractInput(j.spec, op.idx, op.input) ?? null;
    run(
      db,
      "INSERT INTO tasks (job_id, idx, input, state, attempts) VALUES (?, ?, ?, 'assigned', 1)",
      [op.jobId, op.idx, JSON.stringify(input)],
    );
    if (op.cursor !== undefined)
      run(db, 'UPDATE jobs SET extracted = ?, cursor = ? WHERE id = ?', [
        op.idx + 1,
        op.cursor,
        op.jobId,
      ]);
    else run(db, 'UPDATE jobs SET extracted = ? WHERE id = ?', [op.idx + 1, op.jobId]);
    task = { state: 'assigned', attempts: 0, failures: 0, live: 0 };
  }
  const number = task.attempts + 1;
  run(
    db,
    "INSERT INTO attempts (id, job_id, idx, number, contributor, state, speculative, assigned_at) VALUES (?, ?, ?, ?, ?, 'assigned', ?, ?)",
    [op.attemptId, op.jobId, op.idx, number, op.contributorId, op.speculative ? 1 : 0, op.at],
  );
  if (j.state === 'queued')
    run(db, "UPDATE jobs SET state = 'running', started_at = ? WHERE id = ?", [op.at, op.jobId]);
  // The database is written: now the mirror follows.
  if (j.state === 'queued') j.state = 'running';
  if (op.idx === j.extracted) j.extracted++;
  task.attempts = number;
  task.live++;
  j.open.set(op.idx, task);
  mirrorOf(db).live.set(op.attemptId, { jobId: op.jobId, idx: op.idx, state: 'assigned' });
  return { input, number };
}

function liveAttempt(
  db: Database,
  attemptId: string,
): MirrorAttempt & { task: OpenTask; job: MirrorJob } {
  const a = mirrorOf(db).live.get(attemptId);
  if (!a) {
    const gone = row(db, 'SELECT state FROM attempts WHERE id = ?', [attemptId]);
    throw new TransitionError(
      gone ? `attempt ${attemptId} already ${String(gone.state)}` : `no attempt ${attemptId}`,
    );
  }
  const job = jobOf(db, a.jobId);
  const task = job.open.get(a.idx);
  if (!task) throw new TransitionError(`no live task ${a.jobId}/${a.idx}`);
  return { ...a, task, job };
}

function start(db: Database, op: Extract<Op, { t: 'attempt.start' }>): ApplyResult {
  const a = liveAttempt(db, op.attemptId);
  if (a.state === 'running') return {};
  run(db, "UPDATE attempts SET state = 'running' WHERE id = ?", [op.attemptId]);
  if (a.task.state === 'assigned')
    run(db, "UPDATE tasks SET state = 'running' WHERE job_id = ? AND idx = ?", [a.jobId, a.idx]);
  mirrorOf(db).live.set(op.attemptId, { jobId: a.jobId, idx: a.idx, state: 'running' });
  if (a.task.state === 'assigned') a.task.state = 'running';
  return {};
}

function end(db: Database, op: Extract<Op, { t: 'attempt.end' }>): ApplyResult {
  const a = liveAttempt(db, op.attemptId);
  const { jobId, idx, task, job: j } = a;
  const taskDone =
    task.state === 'succeeded' || task.state === 'failed' || task.state === 'cancelled';
  // A second success for a finished task (a speculative copy, a late duplicate) is not recorded.
  const duplicate = op.state === 'succeeded' && taskDone;
  const attemptState: AttemptState = duplicate ? 'cancelled' : op.state;
  if (!canMoveAttempt(a.state, attemptState))
    throw new TransitionError(
      `attempt ${op.attemptId} cannot go from ${a.state} to ${attemptState}`,
    );
  // Every refusal comes before the first write (the store runs this op without a savepoint).
  if (!taskDone && j.state !== 'running' && j.state !== 'queued')
    throw new TransitionError(`job ${jobId} is ${j.state}`);
  const ended: AttemptEnd = {
    state: attemptState,
    ended_at: op.at,
    wall_ms: op.wallMs ?? null,
    cpu_ms: op.cpuMs ?? null,
    exit_code: op.exitCode ?? null,
    error: duplicate ? 'duplicate result' : (op.error ?? null),
    logs: op.logs && Object.keys(op.logs).length > 0 ? JSON.stringify(op.logs) : null,
  };
  // The common success (no other copy of the task runs) is archived in this op: its rows are
  // not updated first, only to be deleted.
  const archiveNow = op.state === 'succeeded' && !taskDone && task.live === 1;
  if (!archiveNow)
    run(
      db,
      'UPDATE attempts SET state = ?, ended_at = ?, wall_ms = ?, cpu_ms = ?, exit_code = ?, error = ?, logs = ? WHERE id = ?',
      [
        ended.state,
        ended.ended_at,
        ended.wall_ms,
        ended.cpu_ms,
        ended.exit_code,
        ended.error,
        ended.logs,
        op.attemptId,
      ],
    );
  let result: ApplyResult;
  if (taskDone) result = { recorded: false };
  else if (archiveNow) {
    task.state = 'succeeded';
    result = { recorded: true };
  } else result = endTask(db, op, a);
  // The database is written: now the mirror follows.
  mirrorOf(db).live.delete(op.attemptId);
  if (--task.live === 0) {
    j.open.delete(idx);
    // Succeeded, and no copy of it runs any more: it leaves memory for the archive.
    if (task.state === 'succeeded')
      archiveTask(
        db,
        j,
        jobId,
        idx,
        archiveNow
          ? { attemptId: op.attemptId, ended, output: resultJson(op), finishedAt: op.at }
          : undefined,
      );
  } else result.othersLive = true;
  if (result.recorded) {
    if (task.state === 'succeeded') j.succeeded++;
    else j.failed++;
    result.jobFinished = countFinished(db, j, jobId, op.at);
  }
  return result;
}

/** The task's side of an attempt's end, on a task that is not finished yet. */
function endTask(
  db: Database,
  op: Extract<Op, { t: 'attempt.end' }>,
  { jobId, idx, task, job: j }: ReturnType<typeof liveAttempt>,
): ApplyResult {
  if (op.state === 'succeeded') {
    run(
      db,
      "UPDATE tasks SET state = 'succeeded', output = ?, error = NULL, finished_at = ? WHERE job_id = ? AND idx = ?",
      [resultJson(op), op.at, jobId, idx],
    );
    task.state = 'succeeded';
    return { recorded: true };
  }
  const failures = task.failures + (op.isFailure ? 1 : 0);
  const othersLive = task.live > 1;
  const { maxAttempts } = j.spec.limits;
  const exhausted = failures >= maxAttempts || task.attempts >= maxAttempts + EXTRA_LOST_ATTEMPTS;
  // A cancelled attempt of a live job (hard timeout aside) is re-run, like a lost one.
  const next: AttemptState | undefined = othersLive
    ? undefined
    : op.state === 'cancelled' || !exhausted
      ? 'pending'
      : 'failed';
  run(
    db,
    'UPDATE tasks SET failures = ?, error = ?, state = ?, finished_at = ? WHERE job_id = ? AND idx = ?',
    [failures, op.error ?? null, next ?? task.state, next === 'failed' ? op.at : null, jobId, idx],
  );
  task.failures = failures;
  if (next) task.state = next;
  if (next === 'failed') return { recorded: true };
  return { recorded: false, ...(next === 'pending' ? { requeued: true } : {}) };
}

/** Archived attempts kept in memory whole (slim) for the timeline: the newest this many. */
export const RECENT_ATTEMPTS_KEPT = 10_000;

const ATTEMPT_COLUMNS =
  'id, number, contributor, state, speculative, assigned_at, ended_at, wall_ms, cpu_ms, exit_code, error, logs';

/**
 * Moves a succeeded task out of the database: its row and attempts go to the job's archive file;
 * its attempts are added to the figures over time (succeeded and busy time per minute and user,
 * CPU per hour and contributor), a slim copy of each to recent_attempts (the timeline, newest
 * RECENT_ATTEMPTS_KEPT), the blobs it references to job_blobs (blob retention). The archive is
 * written before the rows go; a replay archives it again, harmlessly.
 */
function archiveTask(
  db: Database,
  j: MirrorJob,
  jobId: string,
  idx: number,
  /** The success that ends the task in this op, not written to its rows. */
  fresh?: { attemptId: string; ended: AttemptEnd; output: string; finishedAt: number },
): void {
  const t = row(
    db,
    'SELECT input, output, attempts, failures, finished_at FROM tasks WHERE job_id = ? AND idx = ?',
    [jobId, idx],
  );
  if (!t) return;
  const tries: ArchivedAttempt[] = [];
  const s = stmt(db, `SELECT ${ATTEMPT_COLUMNS} FROM attempts WHERE job_id = ? AND idx = ?`);
  try {
    s.bind([jobId, idx]);
    while (s.step()) {
      const v = s.get();
      tries.push({
        id: v[0] as string,
        number: v[1] as number,
        contributor: v[2] as string | null,
        state: v[3] as string,
        speculative: v[4] as number,
        assigned_at: v[5] as number,
        ended_at: v[6] as number | null,
        wall_ms: v[7] as number | null,
        cpu_ms: v[8] as number | null,
        exit_code: v[9] as number | null,
        error: v[10] as string | null,
        logs: v[11] as string | null,
      });
    }
  } finally {
    s.reset();
  }
  tries.sort((a, b) => a.assigned_at - b.assigned_at || a.number - b.number);
  if (fresh) {
    const i = tries.findIndex((a) => a.id === fresh.attemptId);
    if (i >= 0) tries[i] = { ...(tries[i] as ArchivedAttempt), ...fresh.ended };
  }
  const line = archiveLine(
    idx,
    t.input as string,
    fresh ? fresh.output : ((t.output as string | null) ?? 'null'),
    t.attempts as number,
    t.failures as number,
    fresh ? fresh.finishedAt : ((t.finished_at as number | null) ?? null),
    tries,
  );
  archiveOf(db).append(jobId, idx, line);
  if (line.includes('sha256')) {
    const shas = new Set<string>();
    for (const m of line.matchAll(/\\?"sha256\\?":\\?"([0-9a-f]{64})/g)) shas.add(m[1] as string);
    for (const sha of shas)
      run(db, 'INSERT OR IGNORE INTO job_blobs (job_id, sha256) VALUES (?, ?)', [jobId, sha]);
  }
  for (const a of tries) countAttempt(db, j.user, jobId, idx, a);
  run(db, 'DELETE FROM attempts WHERE job_id = ? AND idx = ?', [jobId, idx]);
  run(db, 'DELETE FROM tasks WHERE job_id = ? AND idx = ?', [jobId, idx]);
}

/** An archived attempt's share of the figures over time, and its slim copy for the timeline. */
function countAttempt(db: Database, user: string, jobId: string, idx: number, a: ArchivedAttempt) {
  const ended = a.ended_at ?? a.assigned_at;
  run(
    db,
    'INSERT INTO usage_minutes (minute, user, succeeded, busy_ms) VALUES (?, ?, ?, ?) ON CONFLICT (minute, user) DO UPDATE SET succeeded = succeeded + excluded.succeeded, busy_ms = busy_ms + excluded.busy_ms',
    [
      Math.floor(ended / 60_000),
      user,
      a.state === 'succeeded' ? 1 : 0,
      Math.max(0, ended - a.assigned_at),
    ],
  );
  if (a.contributor !== null && a.cpu_ms !== null)
    run(
      db,
      'INSERT INTO cpu_hours (hour, contributor, cpu_ms) VALUES (?, ?, ?) ON CONFLICT (hour, contributor) DO UPDATE SET cpu_ms = cpu_ms + excluded.cpu_ms',
      [Math.floor(ended / 3_600_000), a.contributor, a.cpu_ms],
    );
  run(
    db,
    'INSERT INTO recent_attempts (id, job_id, idx, number, contributor, state, assigned_at, ended_at, wall_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    [a.id, jobId, idx, a.number, a.contributor, a.state, a.assigned_at, a.ended_at, a.wall_ms],
  );
  // Bounded: every thousandth copy, the ones beyond the newest RECENT_ATTEMPTS_KEPT go.
  const last = row(db, 'SELECT last_insert_rowid() AS id', [])?.id as number;
  if (last % 1000 === 0)
    run(db, 'DELETE FROM recent_attempts WHERE rowid <= ?', [last - RECENT_ATTEMPTS_KEPT]);
}

/** A success's result as stored (JSON text): its output, with its output files if any. */
function resultJson(op: Extract<Op, { t: 'attempt.end' }>): string {
  const output =
    op.outputFiles && op.outputFiles.length > 0
      ? { ...(isObject(op.output) ? op.output : { value: op.output }), files: op.outputFiles }
      : op.output;
  return JSON.stringify(output ?? null);
}

/** The columns an attempt's end writes. */
type AttemptEnd = Pick<
  ArchivedAttempt,
  'state' | 'ended_at' | 'wall_ms' | 'cpu_ms' | 'exit_code' | 'error' | 'logs'
>;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function cancel(db: Database, op: Extract<Op, { t: 'job.cancel' }>): ApplyResult {
  return closeJob(db, op.jobId, op.at, 'cancelled', null);
}

/** The whole job fails (its inputs cannot be extracted): live attempts and open tasks are cancelled. */
function failJob(db: Database, op: Extract<Op, { t: 'job.fail' }>): ApplyResult {
  return closeJob(db, op.jobId, op.at, 'failed', op.error);
}

const FINISHED: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];

/** A finished job leaves the store: its row, tasks and attempts. A live one is refused. */
function deleteJob(db: Database, jobId: string): ApplyResult {
  const j = jobOf(db, jobId);
  const { live } = mirrorOf(db);
  if (!FINISHED.includes(j.state))
    throw new TransitionError(`job ${jobId} is ${j.state}: cancel it first, then delete it`);
  for (const a of live.values())
    if (a.jobId === jobId)
      throw new TransitionError(`job ${jobId} still has attempts ending: try again in a moment`);
  run(db, 'DELETE FROM attempts WHERE job_id = ?', [jobId]);
  run(db, 'DELETE FROM recent_attempts WHERE job_id = ?', [jobId]);
  run(db, 'DELETE FROM job_blobs WHERE job_id = ?', [jobId]);
  run(db, 'DELETE FROM tasks WHERE job_id = ?', [jobId]);
  run(db, 'DELETE FROM jobs WHERE id = ?', [jobId]);
  mirrorOf(db).jobs.delete(jobId);
  archiveOf(db).remove(jobId);
  return {};
}

/** Ends a job before its tasks did: its live attempts and open tasks are cancelled. */
function closeJob(
  db: Database,
  jobId: string,
  at: number,
  state: 'cancelled' | 'failed',
  error: string | null,
): ApplyResult {
  const j = jobOf(db, jobId);
  moveJob(j.state, state, jobId);
  run(
    db,
    "UPDATE attempts SET state = 'cancelled', ended_at = ?, error = ? WHERE job_id = ? AND state IN ('assigned', 'running')",
    [at, state === 'cancelled' ? 'job cancelled' : 'job failed', jobId],
  );
  run(
    db,
    "UPDATE tasks SET state = 'cancelled', finished_at = ? WHERE job_id = ? AND state IN ('pending', 'assigned', 'running')",
    [at, jobId],
  );
  run(
    db,
    'UPDATE jobs SET state = ?, finished_at = ?, error = ?, cancelled = task_count - succeeded - failed WHERE id = ?',
    [state, at, error, jobId],
  );
  const { live } = mirrorOf(db);
  const liveAttempts: string[] = [];
  for (const [id, a] of live) if (a.jobId === jobId) liveAttempts.push(id);
  for (const id of liveAttempts) live.delete(id);
  j.open.clear();
  j.state = state;
  return { jobFinished: true, liveAttempts };
}

function retry(db: Database, op: Extract<Op, { t: 'job.retry' }>): ApplyResult {
  const j = jobOf(db, op.jobId);
  // A running job may re-run the tasks that failed so far; any other state must be allowed to
  // become running (a cancelled or succeeded job never comes back).
  if (j.state !== 'running') moveJob(j.state, 'running', op.jobId);
  const whole = row(db, 'SELECT error FROM jobs WHERE id = ?', [op.jobId])?.error;
  if (typeof whole === 'string')
    throw new TransitionError(
      `job ${op.jobId} failed as a whole (${whole}); re-running its tasks cannot help: submit it again`,
    );
  if (j.failed === 0) throw new TransitionError(`job ${op.jobId} has no failed tasks to re-run`);
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
  j.failed = 0;
  j.state = 'running';
  return { idxs };
}

/**
 * The hot ops: they refuse (TransitionError) only before their first write, so the store runs them
 * without a savepoint of their own (DurableDbOptions.unguarded); the property test checks it.
 */
const HOT_OPS = new Set<Op['t']>(['attempt.assign', 'attempt.start', 'attempt.end']);
export const unguardedOps = {
  op: (op: Op): boolean => HOT_OPS.has(op.t),
  isRefusal: (err: unknown): boolean => err instanceof TransitionError,
};

/** The coordinator's store: its schema, its transitions, and which of them need no savepoint. */
export const COORDINATOR_STORE = {
  schema: SCHEMA,
  apply: applyOp,
  unguarded: unguardedOps,
  migrations: MIGRATIONS,
  /** Succeeded tasks live in `<store>/archive/` (archive.ts). */
  sidecar: {
    open: (db: Database, dir: string) => attachArchive(db, new TaskArchive(join(dir, 'archive'))),
    sync: (db: Database) => archiveOf(db).sync(),
    close: (db: Database) => archiveOf(db).close(),
  },
};

export function applyOp(db: Database, op: Op): ApplyResult {
  try {
    return transition(db, op);
  } catch (err) {
    // The caller rolls the database back; the mirror is rebuilt from it on the next op.
    forgetMirror(db);
    throw err;
  }
}

function transition(db: Database, op: Op): ApplyResult {
  switch (op.t) {
    case 'job.submit': {
      const { job: j } = op;
      run(
        db,
        "INSERT INTO jobs (id, seq, name, spec, runtime, state, priority, owner, created_at, task_count, submitted_by) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?)",
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
          j.submittedBy ?? null,
        ],
      );
      mirrorOf(db).jobs.set(j.id, {
        spec: j.spec,
        user: j.submittedBy ?? 'owner',
        state: 'queued',
        taskCount: j.taskCount,
        extracted: 0,
        succeeded: 0,
        failed: 0,
        open: new Map(),
      });
      return {};
    }
    case 'job.cancel':
      return cancel(db, op);
    case 'job.priority':
      jobOf(db, op.jobId);
      run(db, 'UPDATE jobs SET priority = ? WHERE id = ?', [op.priority, op.jobId]);
      return {};
    case 'job.retry':
      return retry(db, op);
    case 'job.fail':
      return failJob(db, op);
    case 'job.delete':
      return deleteJob(db, op.jobId);
    case 'attempt.assign':
      return assign(db, op);
    case 'attempt.start':
      return start(db, op);
    case 'attempt.end':
      return end(db, op);
    case 'credential.issue':
    case 'credential.revoke':
    case 'pairing.request':
    case 'pairing.decide':
    case 'pairing.expire':
      return applyTrustOp(db, op, run);
    case 'user.add':
    case 'user.remove':
    case 'user.token':
    case 'user.weight':
    case 'user.share':
    case 'audit.record':
      return applyPeopleOp(db, op, run);
    case 'fleet.groups':
    case 'fleet.policy':
    case 'fleet.control':
      return applyFleetOp(db, op, run);
    case 'contributor.seen':
      run(
        db,
        'INSERT INTO contributors (id, name, caps, first_seen, last_seen) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, caps = excluded.caps, last_seen = excluded.last_seen',
        [op.id, op.name, JSON.stringify(op.caps), op.at, op.at],
      );
      return {};
  }
}
