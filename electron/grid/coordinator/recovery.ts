// Rebuild the scheduler's memory from the store after a (re)start: unfinished jobs and live attempts.
import { EXTRACTED } from '../store/schema.js';
import type { Database, SqlValue } from 'sql.js';
import type { JobSpec } from '../../../shared/job-file.js';
import type { JobState } from '../../../shared/states.js';
import { JobRuntime } from './job-runtime.js';
import { NdjsonCursor } from './ndjson-cursor.js';
import type { LiveAttempt } from './session.js';

function runtimeFromRow(
  db: Database,
  r: Record<string, unknown>,
  blobPath?: (sha: string) => string,
): JobRuntime {
  const spec = JSON.parse(r.spec as string) as JobSpec;
  const job = new JobRuntime(
    r.id as string,
    r.seq as number,
    spec,
    r.priority as number,
    r.state as JobState,
    r.task_count as number,
    r.extracted as number,
    r.created_at as number,
  );
  const pending = db.exec(
    "SELECT idx FROM tasks WHERE job_id = ? AND state = 'pending' ORDER BY idx",
    [job.id],
  );
  for (const [idx] of pending[0]?.values ?? []) job.requeue(idx as number);
  if (spec.tasks.inputsBlob && blobPath)
    job.cursor = new NdjsonCursor(blobPath(spec.tasks.inputsBlob), r.cursor as number);
  return job;
}

/** Runtimes of the jobs matching `where` (SQL over `jobs`), with their pending tasks re-queued. */
export function runtimesWhere(
  db: Database,
  where: string,
  params: SqlValue[],
  blobPath?: (sha: string) => string,
): JobRuntime[] {
  const runtimes: JobRuntime[] = [];
  const stmt = db.prepare(`SELECT *, ${EXTRACTED} AS extracted FROM jobs WHERE ${where}`);
  try {
    stmt.bind(params);
    while (stmt.step()) runtimes.push(runtimeFromRow(db, stmt.getAsObject(), blobPath));
  } finally {
    stmt.free();
  }
  return runtimes;
}

export function loadRuntimes(
  db: Database,
  blobPath?: (sha: string) => string,
): { runtimes: JobRuntime[]; maxSeq: number } {
  const runtimes = runtimesWhere(db, "state IN ('queued', 'running')", [], blobPath);
  const max = db.exec('SELECT COALESCE(MAX(seq), 0) FROM jobs')[0]?.values[0]?.[0];
  return { runtimes, maxSeq: Number(max ?? 0) };
}

/** Attempts that were live when the coordinator stopped: kept until their contributor reports back. */
export function loadLiveAttempts(db: Database): LiveAttempt[] {
  const out: LiveAttempt[] = [];
  const stmt = db.prepare(
    "SELECT id, job_id, idx, number, contributor, assigned_at, speculative, state FROM attempts WHERE state IN ('assigned', 'running')",
  );
  try {
    while (stmt.step()) {
      const r = stmt.getAsObject();
      out.push({
        attemptId: r.id as string,
        jobId: r.job_id as string,
        idx: r.idx as number,
        number: r.number as number,
        contributorId: r.contributor as string,
        assignedAt: r.assigned_at as number,
        ...(r.state === 'running' ? { startedAt: r.assigned_at as number } : {}),
        speculative: r.speculative === 1,
        logs: [],
      });
    }
  } finally {
    stmt.free();
  }
  return out;
}
