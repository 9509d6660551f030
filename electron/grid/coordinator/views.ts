// Read models for the API: job summaries with counts, throughput, ETA and reasons; tasks; results.
import { EXTRACTED } from '../store/schema.js';
import type { Database, SqlValue } from 'sql.js';
import type {
  AttemptRow,
  ContributorInfo,
  JobSummary,
  ResultLine,
  TaskRow,
} from '../../../shared/api.js';
import type { JobSpec } from '../../../shared/job-file.js';
import type { AttemptState, JobState } from '../../../shared/states.js';
import { sweepInput } from '../../../shared/sweep.js';
import { mismatch } from '../../../shared/requirements.js';
import type { Capabilities } from '../../../shared/protocol.js';
import type { Engine } from './engine.js';

function rows(db: Database, sql: string, params: SqlValue[] = []): Record<string, SqlValue>[] {
  const stmt = db.prepare(sql);
  const out: Record<string, SqlValue>[] = [];
  try {
    stmt.bind(params);
    while (stmt.step()) out.push(stmt.getAsObject());
  } finally {
    stmt.free();
  }
  return out;
}

export class Views {
  constructor(private readonly engine: Engine) {}

  private get db(): Database {
    return this.engine.store.db;
  }

  listJobs(): JobSummary[] {
    return rows(this.db, 'SELECT * FROM jobs ORDER BY seq DESC LIMIT 1000').map((r) =>
      this.summary(r),
    );
  }

  job(jobId: string): JobSummary | undefined {
    const r = rows(this.db, 'SELECT * FROM jobs WHERE id = ?', [jobId])[0];
    return r && this.summary(r);
  }

  private summary(r: Record<string, SqlValue>): JobSummary {
    const id = r.id as string;
    const runtime = this.engine.jobs.get(id);
    const state = r.state as JobState;
    const taskCount = r.task_count as number;
    const succeeded = r.succeeded as number;
    const failed = r.failed as number;
    const cancelled = r.cancelled as number;
    // Running means started on a worker: an attempt a contributor holds in its prefetch buffer
    // (assigned, not started) still counts as pending.
    const runningTasks = runtime
      ? new Set(
          [...runtime.live]
            .map((a) => this.engine.live.get(a))
            .filter((a) => a?.startedAt !== undefined)
            .map((a) => a?.idx),
        ).size
      : 0;
    const pending =
      state === 'cancelled' ? 0 : taskCount - succeeded - failed - cancelled - runningTasks;
    const started = r.started_at as number | null;
    const finished = r.finished_at as number | null;
    const throughput = runtime
      ? runtime.throughput(this.engine.now())
      : started !== null && finished !== null
        ? ((succeeded + failed) * 1000) / Math.max(1, finished - started)
        : 0;
    const remaining = pending + runningTasks;
    return {
      id,
      name: r.name as string,
      state,
      runtime: r.runtime as 'node' | 'command',
      priority: r.priority as number,
      owner: (r.owner as string | null) ?? null,
      createdAt: r.created_at as number,
      startedAt: (r.started_at as number | null) ?? null,
      finishedAt: (r.finished_at as number | null) ?? null,
      taskCount,
      counts: { pending, running: runningTasks, succeeded, failed, cancelled },
      throughput: Math.round(throughput * 100) / 100,
      etaSec: throughput > 0 && remaining > 0 ? Math.ceil(remaining / throughput) : null,
      reason:
        runtime && runtime.hasWork && runtime.live.size === 0
          ? this.whyNotRunning(runtime.spec, runtime.priority, id)
          : null,
    };
  }

  /** Why a job with work has nothing running, in words a submitter understands. */
  whyNotRunning(spec: JobSpec, priority: number, jobId?: string): string {
    const known = new Map<string, { caps: Capabilities; online: boolean; paused: boolean }>();
    for (const r of rows(this.db, 'SELECT id, caps FROM contributors'))
      known.set(r.id as string, {
        caps: JSON.parse(r.caps as string) as Capabilities,
        online: false,
        paused: false,
      });
    for (const s of this.engine.sessions.values())
      known.set(s.id, { caps: s.caps, online: s.peer !== undefined, paused: s.paused });
    if (known.size === 0) return 'no contributor has connected yet';
    const matching = [...known.values()].filter(
      (c) => mismatch(spec.requirements, spec.runtime, c.caps) === null,
    );
    if (matching.length === 0) {
      const reasons = new Set(
        [...known.values()].map((c) => mismatch(spec.requirements, spec.runtime, c.caps)),
      );
      return `no contributor with ${[...reasons].join(' or ')}`;
    }
    const online = matching.filter((c) => c.online);
    if (online.length === 0) return 'every matching contributor is offline';
    if (online.every((c) => c.paused))
      return 'all matching contributors are paused by their owners';
    const ahead = [...this.engine.jobs.values()].filter(
      (j) => j.id !== jobId && j.priority > priority && j.hasWork,
    );
    if (ahead.length > 0)
      return `waiting behind priority ${Math.max(...ahead.map((j) => j.priority))}`;
    return 'waiting for a free slot';
  }

  tasks(
    jobId: string,
    query: { state?: AttemptState; offset: number; limit: number },
  ): { total: number; offset: number; tasks: TaskRow[] } | undefined {
    const job = rows(
      this.db,
      `SELECT spec, task_count, state, ${EXTRACTED} AS extracted FROM jobs WHERE id = ?`,
      [jobId],
    )[0];
    if (!job) return undefined;
    const spec = JSON.parse(job.spec as string) as JobSpec;
    const extracted = job.extracted as number;
    // Tasks not extracted yet are pending (or cancelled, with their job) and exist only implicitly.
    const implicitState: AttemptState = job.state === 'cancelled' ? 'cancelled' : 'pending';
    const implicit = (job.task_count as number) - extracted;
    const where = query.state ? 'AND state = ?' : '';
    const params: SqlValue[] = query.state ? [jobId, query.state] : [jobId];
    const stored = Number(
      rows(this.db, `SELECT COUNT(*) AS n FROM tasks WHERE job_id = ? ${where}`, params)[0]?.n ?? 0,
    );
    const withImplicit = !query.state || query.state === implicitState;
    const total = stored + (withImplicit ? implicit : 0);
    const found = rows(
      this.db,
      `SELECT * FROM tasks WHERE job_id = ? ${where} ORDER BY idx LIMIT ? OFFSET ?`,
      [...params, query.limit, query.offset],
    );
    const out: TaskRow[] = found.map((r) => this.taskRow(jobId, r));
    if (withImplicit) {
      const firstImplicit = Math.max(0, query.offset - stored);
      for (let i = firstImplicit; out.length < query.limit && i < implicit; i++) {
        const idx = extracted + i;
        out.push({
          idx,
          state: implicitState,
          input: spec.tasks.sweep
            ? sweepInput(spec.tasks.sweep, idx)
            : (spec.tasks.inputs?.[idx] ?? null),
          error: null,
          attempts: [],
          progress: null,
        });
      }
    }
    return { total, offset: query.offset, tasks: out };
  }

  private taskRow(jobId: string, r: Record<string, SqlValue>): TaskRow {
    const idx = r.idx as number;
    const attempts: AttemptRow[] = rows(
      this.db,
      'SELECT * FROM attempts WHERE job_id = ? AND idx = ? ORDER BY number',
      [jobId, idx],
    ).map((a) => ({
      attemptId: a.id as string,
      number: a.number as number,
      state: a.state as AttemptState,
      contributorId: (a.contributor as string | null) ?? null,
      assignedAt: a.assigned_at as number,
      endedAt: (a.ended_at as number | null) ?? null,
      wallMs: (a.wall_ms as number | null) ?? null,
      cpuMs: (a.cpu_ms as number | null) ?? null,
      exitCode: (a.exit_code as number | null) ?? null,
      error: (a.error as string | null) ?? null,
    }));
    const liveAttempt = attempts
      .map((a) => this.engine.live.get(a.attemptId))
      .find((a) => a !== undefined);
    return {
      idx,
      state: r.state as AttemptState,
      input: JSON.parse(r.input as string) as unknown,
      ...(r.output !== null ? { output: JSON.parse(r.output as string) as unknown } : {}),
      error: (r.error as string | null) ?? null,
      attempts,
      progress: liveAttempt?.progress ?? null,
    };
  }

  /** Results in task order, a page at a time so a million-task job streams in constant memory. */
  *results(jobId: string, pageSize = 1000): Generator<ResultLine> {
    let after = -1;
    for (;;) {
      const page = rows(
        this.db,
        "SELECT idx, input, output, error, state FROM tasks WHERE job_id = ? AND idx > ? AND state IN ('succeeded', 'failed') ORDER BY idx LIMIT ?",
        [jobId, after, pageSize],
      );
      for (const r of page) {
        after = r.idx as number;
        const line: ResultLine = { task: after, input: JSON.parse(r.input as string) as unknown };
        if (r.state === 'succeeded') line.output = JSON.parse(r.output as string) as unknown;
        else line.error = (r.error as string | null) ?? 'failed';
        yield line;
      }
      if (page.length < pageSize) return;
    }
  }

  contributors(): ContributorInfo[] {
    const out = new Map<string, ContributorInfo>();
    for (const r of rows(this.db, 'SELECT * FROM contributors ORDER BY name')) {
      out.set(r.id as string, {
        id: r.id as string,
        name: r.name as string,
        state: 'offline',
        caps: JSON.parse(r.caps as string) as Capabilities,
        policy: null,
        slotsInUse: 0,
        running: [],
        heartbeatMs: null,
        lastSeen: r.last_seen as number,
        connectedAt: null,
      });
    }
    for (const s of this.engine.sessions.values()) {
      out.set(s.id, {
        id: s.id,
        name: s.name,
        state: s.peer ? 'online' : 'offline',
        caps: s.caps,
        policy: s.policy ?? null,
        slotsInUse: s.attempts.size,
        running: [...s.attempts],
        heartbeatMs: s.heartbeatMs,
        lastSeen: s.lastSeen,
        connectedAt: s.connectedAt,
      });
    }
    return [...out.values()];
  }
}
