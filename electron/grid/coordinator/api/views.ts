// Read models for the API: job summaries with counts, throughput, ETA and reasons; tasks; results.
import type { JobRow, StoreReader, TaskDbRow } from '../../store/reader.js';
import type {
  AttemptRow,
  ContributorInfo,
  JobSummary,
  ResultLine,
  TaskRow,
} from '../../../../shared/api.js';
import type { TimelineAttempt } from '../../../../shared/gui-api.js';
import type { JobSpec } from '../../../../shared/job-file.js';
import type { AttemptState } from '../../../../shared/states.js';
import { sweepInput } from '../../../../shared/sweep.js';
import { liveByUser } from '../engine/scheduler.js';
import { mismatch } from '../../../../shared/requirements.js';
import type { AttemptLogs, Capabilities } from '../../../../shared/protocol.js';
import type { Engine } from '../engine/engine.js';
import type { Fleet } from '../fleet/fleet.js';

export class Views {
  constructor(
    private readonly engine: Engine,
    /** The fleet's groups and remote states of machines; absent: none shown. */
    private readonly fleet?: Fleet,
  ) {}

  private get read(): StoreReader {
    return this.engine.read;
  }

  /** The newest 1000 jobs, or the newest 1000 of one owner's. */
  listJobs(filter: { owner?: string } = {}): JobSummary[] {
    const rows = this.read.jobs(
      filter.owner === undefined ? { limit: 1000 } : { submittedBy: filter.owner, limit: 1000 },
    );
    return rows.map((r) => this.summary(r));
  }

  job(jobId: string): JobSummary | undefined {
    const r = this.read.job(jobId);
    return r && this.summary(r);
  }

  private summary(r: JobRow): JobSummary {
    const { id, state, taskCount, succeeded, failed, cancelled } = r;
    const runtime = this.engine.job(id);
    // Running means started on a worker: an attempt a contributor holds in its prefetch buffer
    // (assigned, not started) still counts as pending.
    const runningTasks = runtime
      ? new Set(
          [...runtime.live]
            .map((a) => this.engine.liveAttempt(a))
            .filter((a) => a?.startedAt !== undefined)
            .map((a) => a?.idx),
        ).size
      : 0;
    const pending =
      state === 'cancelled' ? 0 : taskCount - succeeded - failed - cancelled - runningTasks;
    const started = r.startedAt;
    const finished = r.finishedAt;
    const throughput = runtime
      ? runtime.throughput(this.engine.now())
      : started !== null && finished !== null
        ? ((succeeded + failed) * 1000) / Math.max(1, finished - started)
        : 0;
    const remaining = pending + runningTasks;
    return {
      id,
      name: r.name,
      state,
      runtime: r.runtime,
      priority: r.priority,
      // Who submitted it (a job from before users is the owner's, the bootstrap admin's).
      owner: r.submittedBy ?? 'owner',
      createdAt: r.createdAt,
      startedAt: r.startedAt,
      finishedAt: r.finishedAt,
      taskCount,
      counts: { pending, running: runningTasks, succeeded, failed, cancelled },
      throughput: Math.round(throughput * 100) / 100,
      etaSec: throughput > 0 && remaining > 0 ? Math.ceil(remaining / throughput) : null,
      reason:
        runtime && runtime.hasWork && runtime.live.size === 0
          ? this.whyNotRunning(runtime.spec, runtime.priority, id)
          : null,
      error: r.error,
    };
  }

  /** Why a job with work has nothing running, in words a submitter understands. */
  whyNotRunning(spec: JobSpec, priority: number, jobId?: string): string {
    const known = new Map<string, { caps: Capabilities; online: boolean; paused: boolean }>();
    for (const r of this.read.contributors('first-seen'))
      known.set(r.id, {
        caps: JSON.parse(r.caps) as Capabilities,
        online: false,
        paused: false,
      });
    for (const s of this.engine.sessionList())
      known.set(s.id, { caps: s.caps, online: s.peer !== undefined, paused: s.paused });
    if (known.size === 0) return 'no contributor has connected yet';
    const matching = [...known.values()].filter(
      (c) => mismatch(spec.requirements, spec.runtime, c.caps, spec.network) === null,
    );
    if (matching.length === 0) {
      const reasons = new Set(
        [...known.values()].map((c) =>
          mismatch(spec.requirements, spec.runtime, c.caps, spec.network),
        ),
      );
      return `no contributor with ${[...reasons].join(' or ')}`;
    }
    const online = matching.filter((c) => c.online);
    if (online.length === 0) return 'every matching contributor is offline';
    if (online.every((c) => c.paused))
      return 'all matching contributors are paused by their owners';
    const jobs = this.engine.liveJobs();
    const owner = jobId === undefined ? undefined : this.engine.job(jobId)?.owner;
    if (owner !== undefined) {
      const live = liveByUser(jobs);
      // A user at their cap waits even with slots free.
      const cap = this.engine.capOf(owner);
      if (cap !== undefined && (live.get(owner) ?? 0) >= cap.limit)
        return `waiting under ${owner}'s cap: at most ${Math.round(cap.maxShare * 100)} % of the slots (${cap.limit} of ${cap.slots}), and ${owner} has ${live.get(owner) ?? 0} running`;
      // Fair share between users comes first: is another user with work further below theirs?
      const perWeight = (u: string) => (live.get(u) ?? 0) / this.engine.shares.weight(u);
      const mine = perWeight(owner);
      const below = [
        ...new Set(jobs.filter((j) => j.hasWork && j.owner !== owner).map((j) => j.owner)),
      ].filter((u) => perWeight(u) < mine);
      if (below.length > 0)
        return `waiting for its share: ${owner} has ${live.get(owner) ?? 0} running, ${below
          .map((u) => `${u} ${live.get(u) ?? 0}`)
          .join(', ')}; slots go to whoever is furthest below their share`;
    }
    const ahead = jobs.filter(
      (j) =>
        j.id !== jobId &&
        (owner === undefined || j.owner === owner) &&
        j.priority > priority &&
        j.hasWork,
    );
    if (ahead.length > 0)
      return `waiting behind priority ${Math.max(...ahead.map((j) => j.priority))}`;
    return 'waiting for a free slot';
  }

  tasks(
    jobId: string,
    query: { state?: AttemptState; offset: number; limit: number },
  ): { total: number; offset: number; tasks: TaskRow[] } | undefined {
    const job = this.read.jobExtracted(jobId);
    if (!job) return undefined;
    const spec = JSON.parse(job.spec) as JobSpec;
    const extracted = job.extracted;
    // Tasks not extracted yet are pending (or cancelled, with their job) and exist only implicitly.
    const implicitState: AttemptState = job.state === 'cancelled' ? 'cancelled' : 'pending';
    const implicit = job.taskCount - extracted;
    const stored = this.read.taskCount(jobId, query.state);
    const withImplicit = !query.state || query.state === implicitState;
    const total = stored + (withImplicit ? implicit : 0);
    const found = this.read.tasks(jobId, query);
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

  private taskRow(jobId: string, r: TaskDbRow): TaskRow {
    const { idx } = r;
    const attempts: AttemptRow[] = this.read.attemptsOf(jobId, idx).map((a) => ({
      attemptId: a.id,
      number: a.number,
      state: a.state,
      contributorId: a.contributor,
      assignedAt: a.assignedAt,
      endedAt: a.endedAt,
      wallMs: a.wallMs,
      cpuMs: a.cpuMs,
      exitCode: a.exitCode,
      error: a.error,
      logs: a.logs ? (JSON.parse(a.logs) as AttemptLogs) : null,
    }));
    const liveAttempt = attempts
      .map((a) => this.engine.liveAttempt(a.attemptId))
      .find((a) => a !== undefined);
    return {
      idx,
      state: r.state,
      input: JSON.parse(r.input) as unknown,
      ...(r.output !== null ? { output: JSON.parse(r.output) as unknown } : {}),
      error: r.error,
      attempts,
      progress: liveAttempt?.progress ?? null,
    };
  }

  /** Results in task order, a page at a time so a million-task job streams in constant memory. */
  *results(jobId: string, pageSize = 1000): Generator<ResultLine> {
    let after = -1;
    for (;;) {
      const page = this.read.finishedTasksAfter(jobId, after, pageSize);
      for (const r of page) {
        after = r.idx;
        const line: ResultLine = { task: after, input: JSON.parse(r.input) as unknown };
        if (r.state === 'succeeded') line.output = JSON.parse(r.output as string) as unknown;
        else line.error = r.error ?? 'failed';
        yield line;
      }
      if (page.length < pageSize) return;
    }
  }

  /** Attempts running now or ended since `since`, newest first, at most `limit` (the timeline). */
  timeline(since: number, limit: number): { attempts: TimelineAttempt[]; truncated: boolean } {
    const found = this.read.timeline(since, limit + 1);
    const attempts = found.slice(0, limit).map((r): TimelineAttempt => {
      const { id, endedAt, wallMs: wall } = r;
      const live = this.engine.liveAttempt(id);
      const startedAt =
        live?.startedAt ?? (endedAt !== null && wall !== null ? Math.round(endedAt - wall) : null);
      return {
        attemptId: id,
        jobId: r.jobId,
        jobName: r.jobName,
        idx: r.idx,
        number: r.number,
        contributorId: r.contributor,
        state: r.state,
        assignedAt: r.assignedAt,
        startedAt,
        endedAt,
      };
    });
    return { attempts, truncated: found.length > limit };
  }

  contributors(): ContributorInfo[] {
    const out = new Map<string, ContributorInfo>();
    for (const r of this.read.contributors()) {
      const caps = JSON.parse(r.caps) as Capabilities | null;
      out.set(r.id, {
        id: r.id,
        name: r.name,
        state: 'offline',
        caps,
        isolation: isolationOf(caps),
        policy: null,
        slotsInUse: 0,
        running: [],
        heartbeatMs: null,
        lastSeen: r.lastSeen,
        connectedAt: null,
        ...this.fleetOf(r.id, caps),
      });
    }
    for (const s of this.engine.sessionList()) {
      out.set(s.id, {
        id: s.id,
        name: s.name,
        state: s.peer ? 'online' : 'offline',
        caps: s.caps,
        isolation: isolationOf(s.caps),
        policy: s.policy ?? null,
        slotsInUse: s.attempts.size,
        running: [...s.attempts],
        heartbeatMs: s.heartbeatMs,
        lastSeen: s.lastSeen,
        connectedAt: s.connectedAt,
        version: s.version ?? null,
        ...this.fleetOf(s.id, s.caps),
      });
    }
    return [...out.values()];
  }

  private fleetOf(
    id: string,
    caps: Capabilities | null,
  ): Pick<ContributorInfo, 'groups' | 'fleet'> | Record<string, never> {
    if (!this.fleet) return {};
    return {
      groups: this.fleet.groupsOf(id, caps),
      fleet: this.fleet.stateOf(this.engine.session(id), id),
    };
  }

  /**
   * CPU time its finished attempts used, per hour over the last `hours` hours (oldest first):
   * what the machine donated, from the stored attempts.
   */
  donatedCpu(id: string, hours = 24): { hour: number; cpuMs: number }[] {
    const HOUR = 3_600_000;
    const end = Math.floor(this.engine.now() / HOUR) * HOUR + HOUR;
    const start = end - hours * HOUR;
    const byHour = this.read.contributorCpuByBucket(id, start, HOUR);
    const out: { hour: number; cpuMs: number }[] = [];
    for (let h = start; h < end; h += HOUR) out.push({ hour: h, cpuMs: byHour.get(h) ?? 0 });
    return out;
  }
}

function isolationOf(caps: Capabilities | null): ContributorInfo['isolation'] {
  return caps ? (caps.isolation ?? 'permission-model') : null;
}
