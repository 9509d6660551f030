// The coordinator store's read API: every query the engine, views and routes need, typed; no SQL outside the store.
import type { Database, SqlValue } from 'sql.js';
import type { AuditEntry } from '../../../shared/api.js';
import type { JobState } from '../../../shared/states.js';
import type { AttemptState } from '../../../shared/states.js';
import type { DurableDb } from './durable-db.js';
import { forgetMirror } from './mirror.js';
import type { ApplyResult, Op, UserRole } from './ops.js';
import { archiveOf, type ArchivedTask } from './archive.js';

/** A row of `jobs`; JSON columns (spec) stay text: the caller parses what it uses. */
export interface JobRow {
  id: string;
  seq: number;
  name: string;
  spec: string;
  runtime: 'node' | 'command';
  state: JobState;
  priority: number;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  taskCount: number;
  /** Byte offset after the last task extracted from an NDJSON inputs blob. */
  cursor: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  error: string | null;
  /** The user whose token submitted it (null before users existed: the owner). */
  submittedBy: string | null;
}

/** A job row with how many of its tasks have been extracted (have a row in `tasks`). */
export interface JobRowExtracted extends JobRow {
  extracted: number;
}

export interface TaskDbRow {
  idx: number;
  /** JSON text */
  input: string;
  state: AttemptState;
  attempts: number;
  failures: number;
  /** JSON text, or null */
  output: string | null;
  error: string | null;
  finishedAt: number | null;
}

export interface AttemptDbRow {
  id: string;
  jobId: string;
  idx: number;
  number: number;
  contributor: string | null;
  state: AttemptState;
  speculative: boolean;
  assignedAt: number;
  endedAt: number | null;
  wallMs: number | null;
  cpuMs: number | null;
  exitCode: number | null;
  error: string | null;
  /** JSON of the kept log blobs' references, or null */
  logs: string | null;
}

export interface TimelineDbRow {
  id: string;
  jobId: string;
  jobName: string;
  idx: number;
  number: number;
  contributor: string;
  state: AttemptState;
  assignedAt: number;
  endedAt: number | null;
  wallMs: number | null;
}

export interface ContributorDbRow {
  id: string;
  name: string;
  /** JSON text of its capabilities */
  caps: string;
  firstSeen: number;
  lastSeen: number;
}

export interface UserDbRow {
  name: string;
  role: UserRole;
  /** sha256 of the token, hex */
  hash: string;
  weight: number;
  /** Cap on the grid's slots (0-1], or null: none. */
  maxShare: number | null;
  createdAt: number;
  tokenAt: number;
}

export interface PairingDbRow {
  contributorId: string;
  name: string;
  user: string | null;
  fingerprint: string;
  state: 'pending' | 'approved' | 'denied';
  createdAt: number;
}

/** An audit row as stored: the API's entry, column for column. */
export type AuditDbRow = AuditEntry;

/** Which audit entries to list, besides `since` and `limit`. */
export interface AuditFilter {
  /** Only entries older than this one (by seq): the next page when newest come first. */
  before?: number;
  /** Only this user's entries. */
  user?: string;
  /** Only actions named so, or starting with it and a dot (`job` matches `job.cancel`). */
  action?: string;
  /** Newest first (the GUI's order); oldest first otherwise (the CLI's). */
  newestFirst?: boolean;
}

type Row = Record<string, SqlValue>;

const str = (v: SqlValue | undefined): string | null =>
  v === null || v === undefined ? null : String(v);
const num = (v: SqlValue | undefined): number | null =>
  v === null || v === undefined ? null : Number(v);

function jobRow(r: Row): JobRow {
  return {
    id: r.id as string,
    seq: r.seq as number,
    name: r.name as string,
    spec: r.spec as string,
    runtime: r.runtime as JobRow['runtime'],
    state: r.state as JobState,
    priority: r.priority as number,
    createdAt: r.created_at as number,
    startedAt: num(r.started_at),
    finishedAt: num(r.finished_at),
    taskCount: r.task_count as number,
    cursor: r.cursor as number,
    succeeded: r.succeeded as number,
    failed: r.failed as number,
    cancelled: r.cancelled as number,
    error: str(r.error),
    submittedBy: str(r.submitted_by),
  };
}

function attemptRow(a: Row): AttemptDbRow {
  return {
    id: a.id as string,
    jobId: a.job_id as string,
    idx: a.idx as number,
    number: a.number as number,
    contributor: str(a.contributor),
    state: a.state as AttemptState,
    speculative: a.speculative === 1,
    assignedAt: a.assigned_at as number,
    endedAt: num(a.ended_at),
    wallMs: num(a.wall_ms),
    cpuMs: num(a.cpu_ms),
    exitCode: num(a.exit_code),
    error: str(a.error),
    logs: str(a.logs),
  };
}

function taskRow(r: Row): TaskDbRow {
  return {
    idx: r.idx as number,
    input: r.input as string,
    state: r.state as AttemptState,
    attempts: r.attempts as number,
    failures: r.failures as number,
    output: str(r.output),
    error: str(r.error),
    finishedAt: num(r.finished_at),
  };
}

/**
 * Attempts for the timeline: those of tasks not archived, and slim copies of the newest archived
 * ones (recent_attempts).
 */
const TIMELINE_ATTEMPTS = `(SELECT id, job_id, idx, number, contributor, state, assigned_at, ended_at, wall_ms FROM attempts
  UNION ALL SELECT id, job_id, idx, number, contributor, state, assigned_at, ended_at, wall_ms FROM recent_attempts)`;

const MINUTE = 60_000;
const HOUR = 3_600_000;

/** A task row from its archived record. */
function archivedRow(a: ArchivedTask | undefined): TaskDbRow | undefined {
  return (
    a && {
      idx: a.idx,
      input: JSON.stringify(a.input ?? null),
      state: 'succeeded',
      attempts: a.attempts,
      failures: a.failures,
      output: JSON.stringify(a.output ?? null),
      error: null,
      finishedAt: a.finishedAt,
    }
  );
}

/** Blob references inside JSON text: `"sha256":"…"` (modules, files, outputs, logs), `"inputsBlob":"…"`. */
const BLOB_REF = /"sha256":"([0-9a-f]{64})"|"inputsBlob":"([0-9a-f]{64})"/g;

/** Typed reads of the coordinator's store. Never writes (but see forgetRefusedJob). */
export class StoreReader {
  constructor(private readonly db: Database) {}

  static of(store: DurableDb<Op, ApplyResult>): StoreReader {
    return new StoreReader(store.db);
  }

  private rows(sql: string, params: SqlValue[] = []): Row[] {
    const stmt = this.db.prepare(sql);
    const out: Row[] = [];
    try {
      stmt.bind(params);
      while (stmt.step()) out.push(stmt.getAsObject());
    } finally {
      stmt.free();
    }
    return out;
  }

  private values(sql: string, params: SqlValue[] = []): SqlValue[][] {
    return this.db.exec(sql, params)[0]?.values ?? [];
  }

  // ---- jobs ---------------------------------------------------------------------------------

  /** The newest `limit` jobs, or the newest of one submitter's (null submitter: the owner). */
  jobs(filter: { submittedBy?: string; limit?: number } = {}): JobRow[] {
    const limit = filter.limit ?? 1000;
    return filter.submittedBy === undefined
      ? this.rows('SELECT * FROM jobs ORDER BY seq DESC LIMIT ?', [limit]).map(jobRow)
      : this.rows(
          "SELECT * FROM jobs WHERE COALESCE(submitted_by, 'owner') = ? ORDER BY seq DESC LIMIT ?",
          [filter.submittedBy, limit],
        ).map(jobRow);
  }

  job(jobId: string): JobRow | undefined {
    const r = this.rows('SELECT * FROM jobs WHERE id = ?', [jobId])[0];
    return r && jobRow(r);
  }

  /** One job with its extracted-task count. */
  jobExtracted(jobId: string): JobRowExtracted | undefined {
    const r = this.rows('SELECT * FROM jobs WHERE id = ?', [jobId])[0];
    return r && { ...jobRow(r), extracted: r.extracted as number };
  }

  /** Queued and running jobs with their extracted-task counts (the scheduler's memory at start). */
  unfinishedJobs(): JobRowExtracted[] {
    return this.rows("SELECT * FROM jobs WHERE state IN ('queued', 'running')").map((r) => ({
      ...jobRow(r),
      extracted: r.extracted as number,
    }));
  }

  /** Ids of finished jobs (succeeded, failed, cancelled) that ended before `before`, at most `limit`. */
  finishedJobsBefore(before: number, limit = 1000): string[] {
    return this.values(
      "SELECT id FROM jobs WHERE state IN ('succeeded', 'failed', 'cancelled') AND finished_at < ? LIMIT ?",
      [before, limit],
    ).map((r) => String(r[0]));
  }

  /** The highest job sequence number ever used (0 for an empty store). */
  maxJobSeq(): number {
    return Number(this.values('SELECT COALESCE(MAX(seq), 0) FROM jobs')[0]?.[0] ?? 0);
  }

  // ---- tasks and attempts -------------------------------------------------------------------

  /** Indexes of a job's extracted tasks waiting to run, ascending. */
  pendingTasks(jobId: string): number[] {
    return this.values(
      "SELECT idx FROM tasks WHERE job_id = ? AND state = 'pending' ORDER BY idx",
      [jobId],
    ).map((r) => r[0] as number);
  }

  /**
   * How many extracted tasks a job has (in `state`, if given). Succeeded ones are counted by the
   * job: most of them are in the archive, not in `tasks`.
   */
  taskCount(jobId: string, state?: AttemptState): number {
    if (!state || state === 'succeeded') {
      const [extracted, succeeded] = this.values(
        'SELECT extracted, succeeded FROM jobs WHERE id = ?',
        [jobId],
      )[0] ?? [0, 0];
      return Number(state ? succeeded : extracted);
    }
    return Number(
      this.values('SELECT COUNT(*) FROM tasks WHERE job_id = ? AND state = ?', [
        jobId,
        state,
      ])[0]?.[0] ?? 0,
    );
  }

  /**
   * A page of a job's extracted tasks in index order (in `state`, if given). Every extracted task
   * has a row or is archived (succeeded), so without a state the page is the index range
   * [offset, offset + limit); a row wins over an archived record of the same task (one archived
   * by an op the journal lost, which then ran again).
   */
  tasks(jobId: string, q: { state?: AttemptState; offset: number; limit: number }): TaskDbRow[] {
    if (q.state === 'succeeded') return this.succeededTasks(jobId, q.offset, q.limit);
    if (q.state)
      return this.rows(
        'SELECT * FROM tasks WHERE job_id = ? AND state = ? ORDER BY idx LIMIT ? OFFSET ?',
        [jobId, q.state, q.limit, q.offset],
      ).map(taskRow);
    const end = Math.min(q.offset + q.limit, this.extracted(jobId));
    if (end <= q.offset) return [];
    const rows = new Map(
      this.rows('SELECT * FROM tasks WHERE job_id = ? AND idx >= ? AND idx < ?', [
        jobId,
        q.offset,
        end,
      ]).map((r) => [r.idx as number, taskRow(r)]),
    );
    if (rows.size === end - q.offset) return [...rows.values()].sort((a, b) => a.idx - b.idx);
    const archived = archiveOf(this.db).range(jobId, q.offset, end);
    const out: TaskDbRow[] = [];
    for (let idx = q.offset; idx < end; idx++) {
      const r = rows.get(idx) ?? archivedRow(archived.get(idx));
      if (r) out.push(r);
    }
    return out;
  }

  /** Succeeded tasks in index order, from the `offset`-th: archived ones and rows merged. */
  private succeededTasks(jobId: string, offset: number, limit: number): TaskDbRow[] {
    const idxs: number[] = [];
    let skip = offset;
    for (const idx of this.succeededIndexes(jobId, 0)) {
      if (skip > 0) skip--;
      else if (idxs.push(idx) >= limit) break;
    }
    return this.tasksAt(jobId, idxs);
  }

  /** Finished tasks (succeeded or failed) after index `after`, in index order, at most `limit`. */
  finishedTasksAfter(jobId: string, after: number, limit: number): TaskDbRow[] {
    const failed = this.values(
      "SELECT idx FROM tasks WHERE job_id = ? AND idx > ? AND state = 'failed' ORDER BY idx LIMIT ?",
      [jobId, after, limit],
    ).map((r) => r[0] as number);
    const idxs: number[] = [];
    let f = 0;
    for (const idx of this.succeededIndexes(jobId, after + 1)) {
      while (f < failed.length && (failed[f] as number) < idx && idxs.length < limit)
        idxs.push(failed[f++] as number);
      if (idxs.length >= limit) break;
      idxs.push(idx);
      if (idxs.length >= limit) break;
    }
    while (f < failed.length && idxs.length < limit) idxs.push(failed[f++] as number);
    return this.tasksAt(jobId, idxs);
  }

  /**
   * Indexes of a job's succeeded tasks from `from` up, ascending: archived ones without a row,
   * merged with rows that say succeeded (a store from before the archive keeps those).
   */
  private *succeededIndexes(jobId: string, from: number): Generator<number> {
    const withRow = new Set(
      this.values('SELECT idx FROM tasks WHERE job_id = ? AND idx >= ?', [jobId, from]).map(
        (r) => r[0] as number,
      ),
    );
    const rowsSucceeded = this.values(
      "SELECT idx FROM tasks WHERE job_id = ? AND idx >= ? AND state = 'succeeded' ORDER BY idx",
      [jobId, from],
    ).map((r) => r[0] as number);
    let k = 0;
    for (const idx of archiveOf(this.db).indexes(jobId, from, this.extracted(jobId))) {
      if (withRow.has(idx)) continue;
      while (k < rowsSucceeded.length && (rowsSucceeded[k] as number) < idx)
        yield rowsSucceeded[k++] as number;
      yield idx;
    }
    while (k < rowsSucceeded.length) yield rowsSucceeded[k++] as number;
  }

  /** The tasks at `idxs` (ascending), each from its row or else from the archive. */
  private tasksAt(jobId: string, idxs: number[]): TaskDbRow[] {
    if (idxs.length === 0) return [];
    const lo = idxs[0] as number;
    const hi = (idxs[idxs.length - 1] as number) + 1;
    const rows = new Map(
      this.rows('SELECT * FROM tasks WHERE job_id = ? AND idx >= ? AND idx < ?', [
        jobId,
        lo,
        hi,
      ]).map((r) => [r.idx as number, taskRow(r)]),
    );
    const missing = idxs.filter((i) => !rows.has(i));
    const archived =
      missing.length > 0
        ? archiveOf(this.db).range(
            jobId,
            missing[0] as number,
            (missing[missing.length - 1] as number) + 1,
          )
        : new Map<number, ArchivedTask>();
    const out: TaskDbRow[] = [];
    for (const idx of idxs) {
      const r = rows.get(idx) ?? archivedRow(archived.get(idx));
      if (r) out.push(r);
    }
    return out;
  }

  private extracted(jobId: string): number {
    return Number(this.values('SELECT extracted FROM jobs WHERE id = ?', [jobId])[0]?.[0] ?? 0);
  }

  /** Every attempt of one task, in the order assigned (from the archive once the task succeeded). */
  attemptsOf(jobId: string, idx: number): AttemptDbRow[] {
    const rows = this.rows(
      'SELECT * FROM attempts WHERE job_id = ? AND idx = ? ORDER BY assigned_at, number',
      [jobId, idx],
    ).map(attemptRow);
    if (rows.length > 0) return rows;
    const archived = archiveOf(this.db).get(jobId, idx);
    if (
      !archived ||
      this.values('SELECT 1 FROM tasks WHERE job_id = ? AND idx = ?', [jobId, idx]).length > 0
    )
      return [];
    return archived.tries.map((a) => attemptRow({ ...a, job_id: jobId, idx }));
  }

  /** Attempts assigned or running when the store was last written. */
  liveAttempts(): AttemptDbRow[] {
    return this.rows("SELECT * FROM attempts WHERE state IN ('assigned', 'running')").map(
      attemptRow,
    );
  }

  /** Attempts on a contributor running or ended since `since`, newest first, at most `limit`. */
  timeline(since: number, limit: number): TimelineDbRow[] {
    return this.rows(
      `SELECT a.id, a.job_id, a.idx, a.number, a.contributor, a.state, a.assigned_at, a.ended_at,
              a.wall_ms, j.name
       FROM ${TIMELINE_ATTEMPTS} a JOIN jobs j ON j.id = a.job_id
       WHERE a.contributor IS NOT NULL AND (a.ended_at IS NULL OR a.ended_at >= ?)
       ORDER BY a.assigned_at DESC LIMIT ?`,
      [since, limit],
    ).map((r) => ({
      id: r.id as string,
      jobId: r.job_id as string,
      jobName: r.name as string,
      idx: r.idx as number,
      number: r.number as number,
      contributor: r.contributor as string,
      state: r.state as AttemptState,
      assignedAt: r.assigned_at as number,
      endedAt: num(r.ended_at),
      wallMs: num(r.wall_ms),
    }));
  }

  /**
   * Attempts that ended at or after `since`, with the user whose job they ran (`owner` for jobs
   * from before users): streamed, as there may be many. Archived tasks' attempts come summed per
   * minute and user, as one attempt ending mid-minute.
   */
  *endedAttempts(since: number): Generator<{ user: string; assignedAt: number; endedAt: number }> {
    const stmt = this.db.prepare(
      `SELECT COALESCE(j.submitted_by, 'owner'), a.assigned_at, a.ended_at
       FROM attempts a JOIN jobs j ON j.id = a.job_id
       WHERE a.ended_at IS NOT NULL AND a.ended_at >= ?`,
    );
    try {
      stmt.bind([since]);
      while (stmt.step()) {
        const [user, assignedAt, endedAt] = stmt.get();
        yield {
          user: user as string,
          assignedAt: assignedAt as number,
          endedAt: endedAt as number,
        };
      }
    } finally {
      stmt.free();
    }
    for (const [minute, user, busy] of this.values(
      'SELECT minute, user, busy_ms FROM usage_minutes WHERE minute >= ?',
      [Math.floor(since / MINUTE)],
    )) {
      const endedAt = Number(minute) * MINUTE + MINUTE / 2;
      yield { user: user as string, assignedAt: endedAt - Number(busy), endedAt };
    }
  }

  /** Attempts that succeeded in [since, until), counted per minute (ms / 60 000). */
  succeededPerMinute(since: number, until: number): { minute: number; n: number }[] {
    const byMinute = new Map<number, number>();
    const add = (minute: number, n: number) =>
      byMinute.set(minute, (byMinute.get(minute) ?? 0) + n);
    for (const [m, n] of this.values(
      "SELECT ended_at / 60000 AS m, COUNT(*) AS n FROM attempts WHERE state = 'succeeded' AND ended_at >= ? AND ended_at < ? GROUP BY m",
      [since, until],
    ))
      add(Math.floor(Number(m)), Number(n));
    for (const [m, n] of this.values(
      'SELECT minute, SUM(succeeded) FROM usage_minutes WHERE minute >= ? AND minute < ? GROUP BY minute',
      [Math.floor(since / MINUTE), Math.ceil(until / MINUTE)],
    ))
      if (Number(n) > 0) add(Number(m), Number(n));
    return [...byMinute].sort((a, b) => a[0] - b[0]).map(([minute, n]) => ({ minute, n }));
  }

  /**
   * CPU ms per contributor over attempts that ended at or after `since` (archived tasks' attempts
   * to the hour: those of the hour `since` falls in count whole).
   */
  cpuByContributor(since: number): Record<string, number> {
    const out: Record<string, number> = {};
    const add = (c: SqlValue | undefined, cpu: SqlValue | undefined) =>
      (out[c as string] = (out[c as string] ?? 0) + Number(cpu ?? 0));
    for (const [contributor, cpu] of this.values(
      `SELECT contributor, SUM(cpu_ms) AS cpu FROM attempts
       WHERE ended_at >= ? AND cpu_ms IS NOT NULL AND contributor IS NOT NULL
       GROUP BY contributor`,
      [since],
    ))
      add(contributor, cpu);
    for (const [contributor, cpu] of this.values(
      'SELECT contributor, SUM(cpu_ms) FROM cpu_hours WHERE hour >= ? GROUP BY contributor',
      [Math.floor(since / HOUR)],
    ))
      add(contributor, cpu);
    for (const c of Object.keys(out)) out[c] = Math.round(out[c] as number);
    return out;
  }

  // ---- blobs --------------------------------------------------------------------------------

  /** Every blob some job still needs: modules, files, inputs, output files and kept logs. */
  referencedBlobs(): Set<string> {
    const shas = new Set<string>();
    const add = (text: SqlValue | undefined) => {
      if (typeof text !== 'string') return;
      for (const m of text.matchAll(BLOB_REF)) shas.add((m[1] ?? m[2]) as string);
    };
    for (const [spec] of this.values('SELECT spec FROM jobs')) add(spec);
    for (const [output] of this.values(`SELECT output FROM tasks WHERE output LIKE '%"sha256":%'`))
      add(output);
    for (const [logs] of this.values('SELECT logs FROM attempts WHERE logs IS NOT NULL')) add(logs);
    for (const [sha] of this.values('SELECT sha256 FROM job_blobs')) shas.add(sha as string);
    return shas;
  }

  /** The blobs one job references (its spec, its tasks' output files, its attempts' kept logs). */
  blobsOfJob(jobId: string): Set<string> {
    const shas = new Set<string>();
    const add = (text: SqlValue | undefined) => {
      if (typeof text !== 'string') return;
      for (const m of text.matchAll(BLOB_REF)) shas.add((m[1] ?? m[2]) as string);
    };
    for (const [spec] of this.values('SELECT spec FROM jobs WHERE id = ?', [jobId])) add(spec);
    for (const [output] of this.values(
      `SELECT output FROM tasks WHERE job_id = ? AND output LIKE '%"sha256":%'`,
      [jobId],
    ))
      add(output);
    for (const [logs] of this.values(
      'SELECT logs FROM attempts WHERE job_id = ? AND logs IS NOT NULL',
      [jobId],
    ))
      add(logs);
    for (const [sha] of this.values('SELECT sha256 FROM job_blobs WHERE job_id = ?', [jobId]))
      shas.add(sha as string);
    return shas;
  }

  // ---- contributors and trust ---------------------------------------------------------------

  /** Every contributor ever seen, by name (or in the order first seen). */
  contributors(order: 'name' | 'first-seen' = 'name'): ContributorDbRow[] {
    const sql = `SELECT * FROM contributors ${order === 'name' ? 'ORDER BY name' : 'ORDER BY rowid'}`;
    return this.rows(sql).map((r) => ({
      id: r.id as string,
      name: r.name as string,
      caps: r.caps as string,
      firstSeen: r.first_seen as number,
      lastSeen: r.last_seen as number,
    }));
  }

  /** One known contributor (seen, or holding a credential), or undefined. */
  contributor(id: string): ContributorDbRow | undefined {
    const r = this.rows('SELECT * FROM contributors WHERE id = ?', [id])[0];
    return r
      ? {
          id: r.id as string,
          name: r.name as string,
          caps: r.caps as string,
          firstSeen: r.first_seen as number,
          lastSeen: r.last_seen as number,
        }
      : undefined;
  }

  /**
   * CPU ms of a contributor's attempts that ended at or after `since`, per `bucketMs` (bucket
   * start); archived tasks' attempts to the hour.
   */
  contributorCpuByBucket(id: string, since: number, bucketMs: number): Map<number, number> {
    const out = new Map<number, number>();
    const add = (start: number, cpu: number) => out.set(start, (out.get(start) ?? 0) + cpu);
    for (const [bucket, cpu] of this.values(
      `SELECT CAST(ended_at AS INTEGER) / CAST(? AS INTEGER) AS bucket, SUM(cpu_ms) AS cpu
       FROM attempts WHERE contributor = ? AND ended_at >= ? AND cpu_ms IS NOT NULL GROUP BY bucket`,
      [bucketMs, id, since],
    ))
      add(Math.floor(Number(bucket)) * bucketMs, Number(cpu ?? 0));
    for (const [hour, cpu] of this.values(
      'SELECT hour, cpu_ms FROM cpu_hours WHERE contributor = ? AND hour >= ?',
      [id, Math.floor(since / HOUR)],
    ))
      add(Math.floor((Number(hour) * HOUR) / bucketMs) * bucketMs, Number(cpu));
    return out;
  }

  // ---- the fleet ----------------------------------------------------------------------------

  /** Groups the admin set per machine (JSON arrays as stored). */
  contributorGroups(): { contributorId: string; groups: string }[] {
    return this.values('SELECT contributor_id, groups FROM contributor_groups').map(([id, g]) => ({
      contributorId: id as string,
      groups: g as string,
    }));
  }

  /** Fleet policies per scope (`group:NAME` / `machine:ID`), JSON as stored. */
  fleetPolicies(): { scope: string; policy: string }[] {
    return this.values('SELECT scope, policy FROM fleet_policies').map(([scope, policy]) => ({
      scope: scope as string,
      policy: policy as string,
    }));
  }

  /** Remote pause / drain per scope. */
  fleetControls(): {
    scope: string;
    state: string;
    by: string | null;
    reason: string | null;
    at: number;
  }[] {
    return this.values('SELECT scope, state, by, reason, at FROM fleet_controls').map(
      ([scope, state, by, reason, at]) => ({
        scope: scope as string,
        state: state as string,
        by: by as string | null,
        reason: reason as string | null,
        at: at as number,
      }),
    );
  }

  /** Active credentials: hash → contributor id. */
  activeCredentials(): { hash: string; contributorId: string }[] {
    return this.values("SELECT hash, contributor_id FROM credentials WHERE state = 'active'").map(
      ([hash, id]) => ({ hash: hash as string, contributorId: id as string }),
    );
  }

  credentialState(contributorId: string): 'active' | 'revoked' | undefined {
    const v = this.values('SELECT state FROM credentials WHERE contributor_id = ?', [
      contributorId,
    ])[0]?.[0];
    return (v ?? undefined) as 'active' | 'revoked' | undefined;
  }

  /** Contributors whose credential was revoked. */
  revokedContributors(): string[] {
    return this.values("SELECT contributor_id FROM credentials WHERE state = 'revoked'").map((v) =>
      String(v[0]),
    );
  }

  /** A pairing's public key, state and name (what a claim is checked against). */
  pairingKey(
    contributorId: string,
  ): { publicKey: string; state: PairingDbRow['state']; name: string } | undefined {
    const r = this.values('SELECT public_key, state, name FROM pairings WHERE contributor_id = ?', [
      contributorId,
    ])[0];
    return (
      r && {
        publicKey: r[0] as string,
        state: r[1] as PairingDbRow['state'],
        name: r[2] as string,
      }
    );
  }

  /** Pairing requests (of one contributor, if given), oldest first. */
  pairings(contributorId?: string): PairingDbRow[] {
    const sql = `SELECT contributor_id, name, user, fingerprint, state, created_at FROM pairings ${contributorId ? 'WHERE contributor_id = ?' : ''} ORDER BY created_at`;
    return this.values(sql, contributorId ? [contributorId] : []).map((r) => ({
      contributorId: r[0] as string,
      name: r[1] as string,
      user: str(r[2]),
      fingerprint: r[3] as string,
      state: r[4] as PairingDbRow['state'],
      createdAt: r[5] as number,
    }));
  }

  // ---- people -------------------------------------------------------------------------------

  /** Every user, by name. */
  users(): UserDbRow[] {
    return this.values(
      'SELECT name, role, hash, weight, created_at, token_at, max_share FROM users ORDER BY name',
    ).map((r) => ({
      name: r[0] as string,
      role: r[1] as UserRole,
      hash: r[2] as string,
      weight: r[3] as number,
      maxShare: num(r[6]),
      createdAt: r[4] as number,
      tokenAt: r[5] as number,
    }));
  }

  /** Audit entries at or after `since`, oldest first (or newest), at most `limit`. */
  audit(since: number, limit: number, filter: AuditFilter = {}): AuditDbRow[] {
    const where = ['at >= ?'];
    const params: SqlValue[] = [since];
    if (filter.before !== undefined) {
      where.push('seq < ?');
      params.push(filter.before);
    }
    if (filter.user !== undefined) {
      where.push('user = ?');
      params.push(filter.user);
    }
    if (filter.action !== undefined) {
      where.push("(action = ? OR substr(action, 1, length(?) + 1) = ? || '.')");
      params.push(filter.action, filter.action, filter.action);
    }
    return this.values(
      `SELECT seq, at, user, role, action, target, address, status, detail FROM audit
       WHERE ${where.join(' AND ')} ORDER BY seq ${filter.newestFirst ? 'DESC' : ''} LIMIT ?`,
      [...params, limit],
    ).map((r) => ({
      seq: r[0] as number,
      at: r[1] as number,
      user: r[2] as string,
      role: r[3] as string,
      action: r[4] as string,
      target: str(r[5]),
      address: str(r[6]),
      status: r[7] as number,
      detail: str(r[8]),
    }));
  }
}

/**
 * Takes back a job.submit whose journal write failed (the store is fail-stop then): the job was
 * refused, so nothing of it may show before the restart, which will not have it either.
 */
export function forgetRefusedJob(store: DurableDb<Op, ApplyResult>, jobId: string): void {
  store.db.run('DELETE FROM jobs WHERE id = ?', [jobId]);
  forgetMirror(store.db);
}
