// The coordinator's core: jobs in, tasks out to contributors that ask, results in, exactly once.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { ColonyError } from '../../../shared/errors.js';
import type { JobSpec } from '../../../shared/job-file.js';
import {
  CLOSE,
  PROTOCOL_VERSION,
  type Assignment,
  type ContributorMessage,
  type Hello,
  type ResultMessage,
} from '../../../shared/protocol.js';
import type { DurableDb } from '../store/durable-db.js';
import { forgetMirror } from '../store/mirror.js';
import type { ApplyResult, Op } from '../store/ops.js';
import { JobRuntime } from './job-runtime.js';
import { NdjsonCursor } from './ndjson-cursor.js';
import { pickJob } from './scheduler.js';
import { Session, type LiveAttempt, type Peer } from './session.js';
import { TypedEmitter, type CoordinatorEvents } from './events.js';
import { loadRuntimes, loadLiveAttempts } from './recovery.js';

export interface EngineOptions {
  /** Clock, injected so leases and probes can be driven by tests. @defaultValue Date.now */
  now?: () => number;
  /** Grace for contributors to come back after a coordinator restart. @defaultValue 10_000 */
  reconnectGraceMs?: number;
  /** A `scale` message goes to a contributor at most this often. @defaultValue 5_000 */
  scaleEveryMs?: number;
  /** Where an input blob is on disk. */
  blobPath: (sha256: string) => string;
  coordinatorId: string;
  logger: Logger;
}

const LOG_LINES_KEPT = 200;

export class Engine {
  readonly events = new TypedEmitter<CoordinatorEvents>();
  readonly jobs = new Map<string, JobRuntime>();
  readonly sessions = new Map<string, Session>();
  readonly live = new Map<string, LiveAttempt>();
  /** Contributors advertising on the LAN (mDNS), paired or not; set when discovery is on. */
  lan:
    | ReadonlyMap<
        string,
        { contributorId: string; name: string; host: string | undefined; lastSeen: number }
      >
    | undefined;
  private attemptCounter = 0;
  private jobSeq = 0;
  readonly now: () => number;
  private readonly startedAt: number;
  private readonly opts: Required<Omit<EngineOptions, 'now'>>;

  constructor(
    readonly store: DurableDb<Op, ApplyResult>,
    opts: EngineOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.opts = { reconnectGraceMs: 10_000, scaleEveryMs: 5_000, ...opts };
    this.startedAt = this.now();
    const { runtimes, maxSeq } = loadRuntimes(store.db, opts.blobPath);
    for (const job of runtimes) this.jobs.set(job.id, job);
    this.jobSeq = maxSeq;
    for (const attempt of loadLiveAttempts(store.db)) {
      this.live.set(attempt.attemptId, attempt);
      this.jobs.get(attempt.jobId)?.live.add(attempt.attemptId);
    }
  }

  get log(): Logger {
    return this.opts.logger;
  }

  // ---- jobs ---------------------------------------------------------------------------------

  /** Store a validated job; resolves once it is durable. */
  async submit(spec: JobSpec, taskCount: number): Promise<string> {
    const id = `j${this.now().toString(36)}${randomBytes(3).toString('hex')}`;
    const seq = ++this.jobSeq;
    const createdAt = this.now();
    const { durable } = this.commit({
      t: 'job.submit',
      job: { id, seq, spec, taskCount, createdAt },
    });
    const runtime = new JobRuntime(id, seq, spec, spec.priority, 'queued', taskCount, 0, createdAt);
    if (spec.tasks.inputsBlob)
      runtime.cursor = new NdjsonCursor(this.opts.blobPath(spec.tasks.inputsBlob), 0);
    this.jobs.set(id, runtime);
    try {
      await durable;
    } catch (err) {
      // The journal failed (disk full): the job was refused and a restart will not have it, so
      // nothing of it may show meanwhile. The store is fail-stop: nothing else is journaled.
      this.jobs.delete(id);
      this.store.db.run('DELETE FROM jobs WHERE id = ?', [id]);
      forgetMirror(this.store.db);
      throw err;
    }
    this.log.info({ jobId: id, name: spec.name, taskCount }, 'job submitted');
    this.events.emit('job', id);
    this.dispatch();
    return id;
  }

  async cancel(jobId: string): Promise<void> {
    const job = this.requireLive(jobId);
    const { result, durable } = this.commit({ t: 'job.cancel', jobId, at: this.now() });
    for (const attemptId of result.liveAttempts ?? []) this.terminate(attemptId, 'job cancelled');
    job.state = 'cancelled';
    this.jobs.delete(jobId);
    await durable;
    this.log.info({ jobId }, 'job cancelled');
    this.events.emit('job', jobId);
  }

  async setPriority(jobId: string, priority: number): Promise<void> {
    const job = this.requireLive(jobId);
    const { durable } = this.commit({ t: 'job.priority', jobId, priority });
    job.priority = priority;
    await durable;
    this.events.emit('job', jobId);
    this.dispatch();
  }

  async retryFailed(jobId: string, rebuild: () => JobRuntime | undefined): Promise<number> {
    const { result, durable } = this.commit({ t: 'job.retry', jobId, at: this.now() });
    let job = this.jobs.get(jobId);
    if (!job) {
      job = rebuild();
      if (!job) throw new ColonyError('NOT_FOUND', `no job ${jobId}`);
      this.jobs.set(jobId, job);
    } else {
      for (const idx of result.idxs ?? []) job.requeue(idx);
    }
    job.state = 'running';
    await durable;
    this.events.emit('job', jobId);
    this.dispatch();
    return result.idxs?.length ?? 0;
  }

  private requireLive(jobId: string): JobRuntime {
    const job = this.jobs.get(jobId);
    if (job) return job;
    throw new ColonyError('CONFLICT', `job ${jobId} is not queued or running`);
  }

  commit(op: Op, opts: { lazy?: boolean } = {}): { result: ApplyResult; durable: Promise<void> } {
    if (this.store.failed)
      throw new ColonyError(
        'STORE_UNAVAILABLE',
        'the job store cannot write to disk; refusing new work',
      );
    return this.store.commit(op, opts);
  }

  // ---- contributors -------------------------------------------------------------------------

  /** A contributor said hello: (re)attach its session and reconcile what it is running. */
  hello(peer: Peer, hello: Hello): Session {
    const now = this.now();
    const previous = this.sessions.get(hello.contributorId);
    if (previous?.peer && previous.peer !== peer)
      previous.peer.close(CLOSE.replaced, 'replaced by a newer connection');
    const session =
      previous ?? new Session(hello.contributorId, hello.name, hello.caps, hello.heartbeatMs, now);
    Object.assign(session, {
      name: hello.name,
      caps: hello.caps,
      heartbeatMs: hello.heartbeatMs,
      peer,
      credit: 0,
    });
    session.lastSeen = now;
    session.policy = hello.policy;
    this.sessions.set(session.id, session);
    this.store.commit(
      { t: 'contributor.seen', id: session.id, name: hello.name, caps: hello.caps, at: now },
      { lazy: true },
    );
    peer.send({
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      coordinatorId: this.opts.coordinatorId,
      contributorId: session.id,
      heartbeatMs: hello.heartbeatMs,
    });
    this.reconcile(session, new Set(hello.running.map((r) => r.attemptId)));
    this.log.info(
      { contributorId: session.id, name: hello.name, slots: hello.caps.slots },
      'contributor connected',
    );
    this.events.emit('contributor', session.id);
    return session;
  }

  private reconcile(session: Session, reported: Set<string>): void {
    for (const attempt of [...this.live.values()]) {
      if (attempt.contributorId !== session.id) continue;
      if (reported.has(attempt.attemptId)) session.attempts.add(attempt.attemptId);
      else this.endInBackground(attempt, { state: 'lost', error: 'contributor no longer runs it' });
    }
    for (const attemptId of reported) {
      const attempt = this.live.get(attemptId);
      if (!attempt || attempt.contributorId !== session.id)
        session.send({ type: 'cancel', attemptId, reason: 'unknown attempt' });
    }
  }

  /** Forget a contributor now (lease expired, revoked): close it and re-queue what it held. */
  dropContributor(contributorId: string, code: number, reason: string): void {
    const session = this.sessions.get(contributorId);
    if (!session) return;
    session.peer?.close(code, reason);
    this.sessions.delete(contributorId);
    for (const attemptId of [...session.attempts]) {
      const attempt = this.live.get(attemptId);
      if (attempt) this.endInBackground(attempt, { state: 'lost', error: reason });
    }
    this.events.emit('contributor', contributorId);
    queueMicrotask(() => this.dispatch());
  }

  disconnected(session: Session, peer: Peer): void {
    if (session.peer !== peer) return;
    session.peer = undefined;
    session.credit = 0;
    this.log.info({ contributorId: session.id }, 'contributor disconnected');
    this.events.emit('contributor', session.id);
  }

  message(session: Session, msg: ContributorMessage): void {
    session.lastSeen = this.now();
    switch (msg.type) {
      case 'hello':
        throw new ColonyError('BAD_INPUT', 'hello twice');
      case 'ready':
        session.credit += msg.slots;
        this.dispatch();
        return;
      case 'heartbeat':
        session.policy = msg.policy ?? session.policy;
        for (const r of msg.running)
          this.touch(session, r.attemptId, r.progress, r.message, r.suspended);
        return;
      case 'started': {
        const attempt = this.owned(session, msg.attemptId);
        if (attempt && attempt.startedAt === undefined) {
          attempt.startedAt = this.now();
          this.store.commit({ t: 'attempt.start', attemptId: msg.attemptId }, { lazy: true });
          this.events.emit('task', attempt.jobId, attempt.idx, 'running', attempt.attemptId);
        }
        return;
      }
      case 'progress':
        this.touch(session, msg.attemptId, msg.fraction, msg.message);
        return;
      case 'log': {
        const attempt = this.owned(session, msg.attemptId);
        if (!attempt) return;
        attempt.logs.push(...msg.lines);
        if (attempt.logs.length > LOG_LINES_KEPT)
          attempt.logs.splice(0, attempt.logs.length - LOG_LINES_KEPT);
        return;
      }
      case 'result':
        void this.result(session, msg);
        return;
      case 'probe-reply': {
        const attempt = this.owned(session, msg.attemptId);
        if (attempt && !msg.alive)
          this.endInBackground(attempt, { state: 'lost', error: 'worker gone (probe)' });
        return;
      }
      case 'vacate': {
        const attempt = this.owned(session, msg.attemptId);
        if (attempt)
          this.endInBackground(attempt, { state: 'lost', error: `vacated: ${msg.reason}` });
        return;
      }
    }
  }

  private owned(session: Session, attemptId: string): LiveAttempt | undefined {
    const attempt = this.live.get(attemptId);
    return attempt && attempt.contributorId === session.id ? attempt : undefined;
  }

  private touch(
    session: Session,
    attemptId: string,
    progress?: number,
    message?: string,
    suspended?: boolean,
  ): void {
    const attempt = this.owned(session, attemptId);
    if (!attempt) return;
    if (progress !== undefined) attempt.progress = progress;
    if (message !== undefined) attempt.message = message;
    if (suspended !== undefined) attempt.suspended = suspended;
  }

  private async result(session: Session, msg: ResultMessage): Promise<void> {
    const attempt = this.owned(session, msg.attemptId);
    if (!attempt) {
      // Fencing: a result for an attempt that is no longer live is acknowledged and dropped.
      session.send({ type: 'result-ack', attemptId: msg.attemptId, accepted: false });
      return;
    }
    const state = msg.state === 'cancelled' ? 'lost' : msg.state;
    let durable: Promise<void>;
    try {
      durable = this.endAttempt(attempt, {
        state,
        output: msg.output,
        outputFiles: msg.outputFiles,
        error: msg.error,
        exitCode: msg.exitCode,
        wallMs: msg.wallMs,
        cpuMs: msg.cpuMs,
      });
      await durable;
    } catch (err) {
      this.log.error(
        { err, attemptId: msg.attemptId },
        'result not stored; contributor will resend',
      );
      return;
    }
    session.send({ type: 'result-ack', attemptId: msg.attemptId, accepted: true });
  }

  // ---- attempts -----------------------------------------------------------------------------

  /** End a live attempt and do what follows: requeue, cancel speculative twins, finish the job. */
  endAttempt(
    attempt: LiveAttempt,
    end: Omit<Extract<Op, { t: 'attempt.end' }>, 't' | 'attemptId' | 'at'>,
  ): Promise<void> {
    const now = this.now();
    const { result, durable } = this.commit({
      t: 'attempt.end',
      attemptId: attempt.attemptId,
      at: now,
      isFailure: end.state === 'failed',
      ...end,
    });
    this.live.delete(attempt.attemptId);
    this.sessions.get(attempt.contributorId)?.attempts.delete(attempt.attemptId);
    const job = this.jobs.get(attempt.jobId);
    job?.live.delete(attempt.attemptId);
    job?.speculate.delete(attempt.idx);
    this.events.emit('task', attempt.jobId, attempt.idx, end.state, attempt.attemptId);
    if (this.log.isLevelEnabled('debug'))
      this.log.debug(
        {
          jobId: attempt.jobId,
          idx: attempt.idx,
          attemptId: attempt.attemptId,
          state: end.state,
          error: end.error,
        },
        'attempt ended',
      );
    if (job && result.requeued) job.requeue(attempt.idx);
    if (job && result.recorded) {
      job.recordFinish(now, end.state === 'succeeded' ? end.wallMs : undefined);
      // Speculative copies of this task still running: stop them (scan only when there are some).
      for (const twin of result.othersLive ? [...job.live] : []) {
        const other = this.live.get(twin);
        if (other?.idx !== attempt.idx) continue;
        this.endAttempt(other, {
          state: 'cancelled',
          error: 'another attempt finished first',
        }).catch(() => undefined);
        this.sendCancel(other, 'another attempt finished first');
      }
    }
    if (job && result.jobFinished) {
      this.jobs.delete(job.id);
      this.log.info({ jobId: job.id }, 'job finished');
    }
    if (job) this.events.emit('job', job.id);
    if (result.requeued) queueMicrotask(() => this.dispatch());
    return durable;
  }

  /** Forget a live attempt whose end is already stored, and tell its contributor to stop it now. */
  private terminate(attemptId: string, reason: string): void {
    const attempt = this.live.get(attemptId);
    if (!attempt) return;
    this.live.delete(attemptId);
    this.jobs.get(attempt.jobId)?.live.delete(attemptId);
    this.sessions.get(attempt.contributorId)?.attempts.delete(attemptId);
    this.sendCancel(attempt, reason);
  }

  /** End an attempt nobody waits on (lost, superseded); a store failure is logged, not thrown. */
  endInBackground(attempt: LiveAttempt, end: Parameters<Engine['endAttempt']>[1]): void {
    this.endAttempt(attempt, end).catch((err: unknown) =>
      this.log.error(
        { err, attemptId: attempt.attemptId },
        'could not record the end of an attempt',
      ),
    );
  }

  sendCancel(attempt: LiveAttempt, reason: string): void {
    this.sessions
      .get(attempt.contributorId)
      ?.send({ type: 'cancel', attemptId: attempt.attemptId, reason });
  }

  // ---- dispatch -----------------------------------------------------------------------------

  /** Hand tasks to every contributor that has asked for them, while there is work they can run. */
  dispatch(): void {
    if (this.store.failed) return;
    for (const session of this.sessions.values()) {
      if (!session.peer || session.credit <= 0 || session.paused) continue;
      const batch: Assignment[] = [];
      while (session.credit > 0) {
        const assignment = this.assignOne(session);
        if (!assignment) break;
        batch.push(assignment);
        session.credit--;
      }
      if (batch.length > 0) session.send({ type: 'assign', attempts: batch });
      this.maybeScale(session);
    }
  }

  private assignOne(session: Session): Assignment | undefined {
    const job = pickJob(this.jobs.values(), session.caps);
    if (job) return this.assignFrom(job, session, false);
    // No fresh work: consider a speculative copy of a long-running task near a job's end.
    const spec = pickJob(this.jobs.values(), session.caps, (j) => j.speculate.size > 0);
    return spec ? this.assignFrom(spec, session, true) : undefined;
  }

  private assignFrom(
    job: JobRuntime,
    session: Session,
    speculative: boolean,
  ): Assignment | undefined {
    let idx: number | undefined;
    let extracted: { input: unknown; cursor: number } | undefined;
    if (speculative) {
      for (const candidate of job.speculate) {
        const holders = [...job.live]
          .map((id) => this.live.get(id))
          .filter((a) => a?.idx === candidate);
        job.speculate.delete(candidate);
        if (holders.length === 1 && holders[0]?.contributorId !== session.id) {
          idx = candidate;
          break;
        }
      }
      if (idx === undefined) return undefined;
    } else {
      idx = job.takeRetry();
      if (idx === undefined) {
        idx = job.nextIdx;
        if (job.cursor) {
          extracted = job.cursor.next();
          if (!extracted) throw new ColonyError('INTERNAL', `input blob of ${job.id} ended early`);
        }
        job.nextIdx++;
      }
    }
    const attemptId = `${this.store.epoch.toString(36)}-${(++this.attemptCounter).toString(36)}`;
    const now = this.now();
    // Lazy: an assignment is fenced, not acknowledged; it reaches the disk with the next write.
    const { result } = this.commit(
      {
        t: 'attempt.assign',
        attemptId,
        jobId: job.id,
        idx,
        contributorId: session.id,
        at: now,
        ...(speculative ? { speculative: true } : {}),
        ...(extracted ? { input: extracted.input, cursor: extracted.cursor } : {}),
      },
      { lazy: true },
    );
    const attempt: LiveAttempt = {
      attemptId,
      jobId: job.id,
      idx,
      number: result.number ?? 1,
      contributorId: session.id,
      assignedAt: now,
      speculative,
      logs: [],
    };
    this.live.set(attemptId, attempt);
    job.live.add(attemptId);
    session.attempts.add(attemptId);
    if (job.state === 'queued') {
      job.state = 'running';
      this.events.emit('job', job.id);
    }
    const { spec } = job;
    return {
      attemptId,
      jobId: job.id,
      idx,
      number: attempt.number,
      runtime: spec.runtime,
      ...(spec.module ? { module: spec.module } : {}),
      ...(spec.command ? { command: spec.command } : {}),
      input: (result.input ?? null) as Assignment['input'],
      files: spec.files,
      outputs: spec.outputs,
      timeoutMs: Math.round(spec.limits.timeoutSec * 1000),
    };
  }

  /** Ask contributors for more slots while the backlog exceeds what is on offer. */
  private maybeScale(session: Session): void {
    const now = this.now();
    if (now - session.lastScaleAt < this.opts.scaleEveryMs) return;
    let backlog = 0;
    for (const job of this.jobs.values())
      if (job.state === 'queued' || job.state === 'running') backlog += job.backlog;
    let slotsOnOffer = 0;
    for (const s of this.sessions.values()) if (s.peer) slotsOnOffer += s.caps.slots;
    if (backlog <= slotsOnOffer) return;
    session.lastScaleAt = now;
    session.send({ type: 'scale', backlog, slotsOnOffer });
  }

  get uptimeMs(): number {
    return this.now() - this.startedAt;
  }

  get reconnectGraceMs(): number {
    return this.opts.reconnectGraceMs;
  }
}
