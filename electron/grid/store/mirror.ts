// What the state machine reads on every task op, kept in memory beside the sql.js database: jobs,
// live attempts and the tasks they run. Derived from the database (rebuilt from it after a load),
// so it needs no journal of its own; it saves the SELECTs that made most of an op's cost.
import type { Database, SqlValue } from 'sql.js';
import type { JobSpec } from '../../../shared/job-file.js';
import type { AttemptState, JobState } from '../../../shared/states.js';

export interface MirrorJob {
  spec: JobSpec;
  /** Whose job it is, for the usage figures ('owner': submitted before users existed). */
  user: string;
  state: JobState;
  taskCount: number;
  /** Tasks extracted so far (in index order): they have a row, or are archived once succeeded. */
  extracted: number;
  succeeded: number;
  failed: number;
  /** Tasks with at least one live attempt, by index. */
  open: Map<number, OpenTask>;
}

export interface OpenTask {
  state: AttemptState;
  attempts: number;
  failures: number;
  live: number;
}

export interface MirrorAttempt {
  jobId: string;
  idx: number;
  state: 'assigned' | 'running';
}

export interface Mirror {
  jobs: Map<string, MirrorJob>;
  live: Map<string, MirrorAttempt>;
}

const mirrors = new WeakMap<Database, Mirror>();

/** The mirror of `db`, built from it on first use. */
export function mirrorOf(db: Database): Mirror {
  let m = mirrors.get(db);
  if (!m) mirrors.set(db, (m = build(db)));
  return m;
}

/**
 * Drops the mirror of `db`; the next op rebuilds it from the database. For anything that changes
 * the database around the state machine (an op that threw half-way, a refused submission).
 */
export function forgetMirror(db: Database): void {
  mirrors.delete(db);
}

function each(db: Database, sql: string, params: SqlValue[], fn: (r: SqlValue[]) => void): void {
  const s = db.prepare(sql);
  try {
    s.bind(params);
    while (s.step()) fn(s.get());
  } finally {
    s.free();
  }
}

function build(db: Database): Mirror {
  const jobs = new Map<string, MirrorJob>();
  each(
    db,
    "SELECT id, spec, state, task_count, succeeded, failed, extracted, COALESCE(submitted_by, 'owner') FROM jobs",
    [],
    ([id, spec, state, taskCount, succeeded, failed, extracted, user]) =>
      jobs.set(id as string, {
        spec: JSON.parse(spec as string) as JobSpec,
        user: user as string,
        state: state as JobState,
        taskCount: taskCount as number,
        extracted: extracted as number,
        succeeded: succeeded as number,
        failed: failed as number,
        open: new Map(),
      }),
  );
  const live = new Map<string, MirrorAttempt>();
  each(
    db,
    `SELECT a.id, a.job_id, a.idx, a.state, t.state, t.attempts, t.failures
     FROM attempts a JOIN tasks t ON t.job_id = a.job_id AND t.idx = a.idx
     WHERE a.state IN ('assigned', 'running')`,
    [],
    ([id, jobId, idx, state, taskState, attempts, failures]) => {
      const job = jobs.get(jobId as string);
      if (!job) return;
      live.set(id as string, {
        jobId: jobId as string,
        idx: idx as number,
        state: state as 'assigned' | 'running',
      });
      const task = job.open.get(idx as number);
      if (task) task.live++;
      else
        job.open.set(idx as number, {
          state: taskState as AttemptState,
          attempts: attempts as number,
          failures: failures as number,
          live: 1,
        });
    },
  );
  return { jobs, live };
}
