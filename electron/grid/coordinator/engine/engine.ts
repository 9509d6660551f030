// The coordinator's core: jobs in, tasks out to contributors that ask, results in, exactly once.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { JSON_LIMITS, checkJson } from '../../../../shared/bounded-json.js';
import { ColonyError } from '../../../../shared/errors.js';
import type { JobSpec } from '../../../../shared/job-file.js';
import {
  CLOSE,
  PROTOCOL_VERSION,
  type Assignment,
  type ContributorMessage,
  type Hello,
  type ResultMessage,
} from '../../../../shared/protocol.js';
import type { DurableDb } from '../../store/durable-db.js';
import { forgetRefusedJob, StoreReader } from '../../store/reader.js';
import type { ApplyResult, Op } from '../../store/ops.js';
import { JobRuntime } from './job-runtime.js';
import { NdjsonCursor } from './ndjson-cursor.js';
import { guarded } from '../../guard.js';
import { pickJob, type Shares } from './scheduler.js';
import { Session, type LiveAttempt, type Peer } from './session.js';
import { TypedEmitter, type CoordinatorEvents } from './events.js';
import { loadRuntimes, loadLiveAttempts, loadUsage } from './recovery.js';

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
  /** Half-life of a user's past usage in fair share (HTCondor's user priority). @defaultValue 1 day */
  usageHalfLifeMs?: number;
}

const LOG_LINES_KEPT = 200;

/** How an attempt ended, as the engine is told it. */
export type AttemptEnd = Omit<Extract<Op, { t: 'attempt.end' }>, 't' | 'attemptId' | 'at'>;

export class Engine {
  readonly events = new TypedEmitter<CoordinatorEvents>();
  /** Typed reads of the store (views, routes, people and trust read through it, never SQL). */
  readonly read: StoreReader;
  /** Queued and running jobs: the scheduler's. */
  private readonly jobs = new Map<string, JobRuntime>();
  private readonly sessions = new Map<string, Session>();
  /** Attempts assigned or running: the engine is their one owner (assign, end, terminate). */
  private readonly live = new Map<string, LiveAttempt>();
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
    this.opts = {
      reconnectGraceMs: 10_000,
      scaleEveryMs: 5_000,
      usageHalfLifeMs: 86_400_000,
      ...opts,
    };
    this.dispatchLater = guarded(this.opts.logger, 'dispatch', () => this.dispatch());
    this.startedAt = this.now();
    this.halfLifeMs = this.opts.usageHalfLifeMs;
    this.read = StoreReader.of(store);
    const { runtimes, maxSeq } = loadRuntimes(this.read, opts.blobPath);
    for (const job of runtimes) this.jobs.set(job.id, job);
    this.jobSeq = maxSeq;
    for (const attempt of loadLiveAttempts(this.read)) {
      this.live.set(attempt.attemptId, attempt);
      this.jobs.get(attempt.jobId)?.live.add(attempt.attemptId);
    }
    for (const [user, ms] of loadUsage(this.read, this.startedAt, this.halfLifeMs))
      this.usageByUser.set(user, { ms, at: this.startedAt });
  }

  /** Fair-share weights per user; the coordinator sets them from its users. */
  weightOf: (user: string) => number = () => 1;
  private readonly halfLifeMs: number;
  /** Each user's past slot-time (ms), decayed to `at`; rebuilt from the stored attempts at start. */
  private readonly usageByUser = new Map<string, { ms: number; at: number }>();

  /** A user's past slot-time (ms), decayed by the half-life to now. */
  usage(user: string): number {
    const u = this.usageByUser.get(user);
    return u ? u.ms * 2 ** (-(this.now() - u.at) / this.halfLifeMs) : 0;
  }

  private chargeUsage(user: string, ms: number): void {
    this.usageByUser.set(user, { ms: this.usage(user) + ms, at: this.now() });
  }

  /** The fleet's word on a machine (remote pause, drain, a locked maxWorkers); set by the coordinator. */
  mayAssign: (session: Session) => boolean = () => true;
  /** Called after each welcome: the fleet sends the machine its groups and policy. */
  welcomed: (session: Session) => void = () => undefined;

  /** A user's cap as a share of the slots (0-1]; the coordinator sets it from its users. */
  maxShareOf: (user: string) => number | undefined = () => undefined;

  /**
   * The slots of the contributors connected and not paused, busy or offered (attempts held plus
   * credit; a contributor grows its slots with the backlog): what a cap is a share of.
   */
  slotsOnline(): number {
    let slots = 0;
    for (const s of this.sessions.values())
      if (s.peer && !s.paused) slots += s.attempts.size + s.credit;
    return slots;
  }

  /**
   * A capped user's limit on live attempts: their share of the online slots, rounded down, but
   * at least one (a cap slows a user down; it never stops them).
   */
  capOf(user: string): { maxShare: number; slots: number; limit: number } | undefined {
    const maxShare = this.maxShareOf(user);
    if (maxShare === undefined) return undefined;
    const slots = this.slotsOnline();
    return { maxShare, slots, limit: Math.max(1, Math.floor(maxShare * slots + 1e-9)) };
  }

  /** What pickJob needs of people: weights, decayed usage and caps. */
  readonly shares: Shares = {
    weight: (user) => this.weightOf(user),
    usage: (user) => this.usage(user),
    limit: (user) => this.capOf(user)?.limit,
  };

  get log(): Logger {
    return this.opts.logger;
  }

  // ---- what is live (read-only to everyone else) --------------------------------------------

  /** A queued or running job's scheduler state; undefined once it finished. */
  job(jobId: string): JobRuntime | undefined {
    return this.jobs.get(jobId);
  }

  /** Every queued and running job. */
  liveJobs(): JobRuntime[] {
    return [...this.jobs.values()];
  }

  /** A contributor's session (connected, or disconnected within its lease). */
  session(contributorId: string): Session | undefined {
    return this.sessions.get(contributorId);
  }

  /** Every contributor session. */
  sessionList(): Session[] {
    return [...this.sessions.values()];
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** A live (assigned or running) attempt; undefined once it ended. */
  liveAttempt(attemptId: string): Readonly<LiveAttempt> | undefined {
    return this.live.get(attemptId);
  }

  /**
   * Whether a contributor holds a live attempt whose job needs blob `sha` (its module or a staged
   * file): what a contributor may download, and nothing else.
   */
  contributorNeedsBlob(contributorId: string, sha: string): boolean {
    for (const id of this.sessions.get(contributorId)?.attempts ?? []) {
      const attempt = this.live.get(id);
      if (attempt && this.jobs.get(attempt.jobId)?.needsBlob(sha)) return true;
    }
    return false;
  }

  /** Every live attempt. */
  liveAttempts(): Readonly<LiveAttempt>[] {
    return [...this.live.values()];
  }

  /** How many live attempts a job has of task `idx` (more than one: speculative copies). */
  liveCopies(jobId: string, idx: number): number {
    const job = this.jobs.get(jobId);
    let n = 0;
    for (const id of job?.live ?? []) if (this.live.get(id)?.idx === idx) n++;
    return n;
  }

  /** Task `idx` of a job runs long near the job's end: offer a speculative copy of it. */
  offerSpeculation(jobId: string, idx: number): void {
    this.jobs.get(jobId)?.speculate.add(idx);
  }

  /** The contact loop probed this attempt at `at`. */
  markProbed(attemptId: string, at: number): void {
    const attempt = this.live.get(attemptId);
    if (attempt) attempt.probedAt = at;
  }

  // ---- jobs ---------------------------------------------------------------------------------

  /** Store a validated job; resolves once it is durable. */
  async submit(spec: JobSpec, taskCount: number, submittedBy = 'owner'): Promise<string> {
    const id = `j${this.now().toString(36)}${randomBytes(3).toString('hex')}`;
    const seq = ++this.jobSeq;
    const createdAt = this.now();
    const { durable } = this.commit({
      t: 'job.submit',
      job: { id, seq, spec, taskCount, createdAt, submittedBy },
    });
    const runtime = new JobRuntime(id, seq, spec, spec.priority, 'queued', taskCount, 0, createdAt);
    runtime.owner = submittedBy;
    if (spec.tasks.inputsBlob)
      runtime.cursor = new NdjsonCursor(this.opts.blobPath(spec.tasks.inputsBlob), 0);
    this.jobs.set(id, runtime);
    try {
      await durable;
    } catch (err) {
      // The journal failed (disk full): the job was refused and a restart will not have it, so
      // nothing of it may show meanwhile. The store is fail-stop: nothing else is journaled.
      this.jobs.delete(id);
      forgetRefusedJob(this.store, id);
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

  /**
   * Deletes a finished or cancelled job with its tasks and attempts; resolves once durable, with
   * the blobs it referenced and when it ended (for the blob collector). A live job is refused.
   */
  async deleteJob(jobId: string): Promise<{ blobs: Set<string>; finishedAt: number }> {
    const row = this.read.job(jobId);
    if (!row) throw new ColonyError('NOT_FOUND', `no job ${jobId}`);
    if (this.jobs.has(jobId))
      throw new ColonyError(
        'CONFLICT',
        `job ${jobId} is ${row.state}: cancel it first (colony cancel ${jobId}), then delete it`,
      );
    const blobs = this.read.blobsOfJob(jobId);
    const { durable } = this.commit({ t: 'job.delete', jobId });
    await durable;
    this.log.info({ jobId }, 'job deleted');
    this.events.emit('job', jobId); // open GUIs drop it
    return { blobs, finishedAt: row.finishedAt ?? row.createdAt };
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

  /** Applies and journals `op`; throws STORE_UNAVAILABLE (503, with the reason) once the store failed. */
  commit(op: Op, opts: { lazy?: boolean } = {}): { result: ApplyResult; durable: Promise<void> } {
    const failure = this.store.failure;
    if (failure)
      throw new ColonyError(
        'STORE_UNAVAILABLE',
        `the job store cannot write to disk (${failure.message}); refusing writes until the coordinator is restarted`,
      );
    return this.store.commit(op, opts);
  }

  /** A record nobody waits for (a sighting, a start): skipped, not thrown, once the store failed. */
  private commitQuietly(op: Op): void {
    if (this.store.failed) return;
    try {
      this.store.commit(op, { lazy: true });
    } catch (err) {
      this.log.error({ err, op: op.t }, 'could not record an op');
    }
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
    if (hello.policy) session.notePolicy(hello.policy, now);
    else session.policy = undefined;
    this.sessions.set(session.id, session);
    this.commitQuietly({
      t: 'contributor.seen',
      id: session.id,
      name: hello.name,
      caps: hello.caps,
      at: now,
    });
    peer.send({
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      coordinatorId: this.opts.coordinatorId,
      contributorId: session.id,
      heartbeatMs: hello.heartbeatMs,
    });
    this.welcomed(session);
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
      else
        this.endInBackground(attempt.attemptId, {
          state: 'lost',
          error: 'contributor no longer runs it',
        });
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
      if (attempt) this.endInBackground(attempt.attemptId, { state: 'lost', error: reason });
    }
    this.events.emit('contributor', contributorId);
    queueMicrotask(this.dispatchLater);
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
        if (msg.isolation && msg.isolation !== session.caps.isolation) {
          session.caps = { ...session.caps, isolation: msg.isolation };
          this.events.emit('contributor', session.id);
        }
        session.credit += msg.slots;
        this.dispatch();
        return;
      case 'heartbeat':
        if (msg.policy && session.notePolicy(msg.policy, this.now()))
          this.events.emit('contributor', session.id);
        for (const r of msg.running)
          this.touch(session, r.attemptId, r.progress, r.message, r.suspended);
        return;
      case 'started': {
        const attempt = this.owned(session, msg.attemptId);
        if (attempt && attempt.startedAt === undefined) {
          attempt.startedAt = this.now();
          this.commitQuietly({ t: 'attempt.start', attemptId: msg.attemptId });
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
        attempt.logTotal = (attempt.logTotal ?? 0) + msg.lines.length;
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
          this.endInBackground(attempt.attemptId, { state: 'lost', error: 'worker gone (probe)' });
        return;
      }
      case 'vacate': {
        const attempt = this.owned(session, msg.attemptId);
        if (attempt)
          this.endInBackground(attempt.attemptId, {
            state: 'lost',
            error: `vacated: ${msg.reason}`,
          });
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
    let state: 'succeeded' | 'failed' | 'lost' = msg.state === 'cancelled' ? 'lost' : msg.state;
    let error = msg.error;
    // The frame was within its limits; the output must be within a task output's (a contributor
    // of ours checks this before sending). Deterministic, so it counts as a failed attempt.
    const tooBig =
      state === 'succeeded'
        ? checkJson(msg.output, JSON_LIMITS.output, 'result', 'output')
        : undefined;
    if (tooBig) {
      state = 'failed';
      error = tooBig.message;
      this.log.warn(
        { attemptId: msg.attemptId, contributorId: session.id, error },
        'result refused',
      );
    }
    let durable: Promise<void>;
    try {
      durable = this.endAttempt(attempt, {
        state,
        ...(tooBig ? {} : { output: msg.output, outputFiles: msg.outputFiles }),
        error,
        exitCode: msg.exitCode,
        wallMs: msg.wallMs,
        cpuMs: msg.cpuMs,
        ...(msg.logs ? { logs: msg.logs } : {}),
      });
      await durable;
    } catch (err) {
      this.log.error(
        { err: err instanceof ColonyError ? err.message : err, attemptId: msg.attemptId },
        'result not stored; contributor will resend',
      );
      return;
    }
    session.send({ type: 'result-ack', attemptId: msg.attemptId, accepted: true });
  }

  // ---- attempts -----------------------------------------------------------------------------

  /** End a live attempt and do what follows: requeue, cancel speculative twins, finish the job. */
  private endAttempt(attempt: LiveAttempt, end: AttemptEnd): Promise<void> {
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
    if (job) this.chargeUsage(job.owner, Math.max(0, now - attempt.assignedAt));
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
    if (result.requeued) queueMicrotask(this.dispatchLater);
    return durable;
  }

  /** Forget a live attempt whose end is already stored, and tell its contributor to stop it now. */
  private terminate(attemptId: string, reason: string): void {
    const attempt = this.live.get(attemptId);
    if (!attempt) return;
    this.live.delete(attemptId);
    const job = this.jobs.get(attempt.jobId);
    job?.live.delete(attemptId);
    // Its slot-time counts as it would after a restart (the store has the attempt ended now).
    if (job) this.chargeUsage(job.owner, Math.max(0, this.now() - attempt.assignedAt));
    this.sessions.get(attempt.contributorId)?.attempts.delete(attemptId);
    this.sendCancel(attempt, reason);
  }

  /** End an attempt nobody waits on (lost, superseded); a store failure is logged, not thrown. */
  endInBackground(attemptId: string, end: AttemptEnd): void {
    const logged = (err: unknown) =>
      this.log.error(
        { err, attemptId, state: end.state },
        'could not record the end of an attempt',
      );
    const attempt = this.live.get(attemptId);
    // Once the store failed nothing can be recorded: the attempt stays live, and a restart
    // replays the journal and settles it then.
    if (!attempt || this.store.failed) return;
    try {
      this.endAttempt(attempt, end).catch(logged);
    } catch (err) {
      logged(err);
    }
  }

  /**
   * The whole job fails with `reason` (its inputs cannot be extracted): recorded, its live attempts
   * cancelled, and it leaves the scheduler whatever happens, so other jobs go on.
   */
  failJob(job: JobRuntime, reason: string): void {
    this.jobs.delete(job.id);
    job.state = 'failed';
    this.log.error({ jobId: job.id, reason }, 'job failed');
    try {
      const { result, durable } = this.commit({
        t: 'job.fail',
        jobId: job.id,
        at: this.now(),
        error: reason,
      });
      for (const attemptId of result.liveAttempts ?? []) this.terminate(attemptId, 'job failed');
      durable.catch((err: unknown) =>
        this.log.error({ err, jobId: job.id }, 'could not record that the job failed'),
      );
    } catch (err) {
      this.log.error({ err, jobId: job.id }, 'could not record that the job failed');
    }
    this.events.emit('job', job.id);
  }

  /** Tell the contributor holding a live attempt to stop it. */
  sendCancel(attempt: Pick<LiveAttempt, 'attemptId' | 'contributorId'>, reason: string): void {
    this.sessions
      .get(attempt.contributorId)
      ?.send({ type: 'cancel', attemptId: attempt.attemptId, reason });
  }

  // ---- dispatch -----------------------------------------------------------------------------

  /** dispatch() for the event loop to call: an exception is logged, never thrown out of it. */
  private readonly dispatchLater: () => void;

  /** Hand tasks to every contributor that has asked for them, while there is work they can run. */
  dispatch(): void {
    if (this.store.failed) return;
    for (const session of this.sessions.values()) {
      if (!session.peer || session.credit <= 0 || session.paused) continue;
      const batch: Assignment[] = [];
      try {
        while (session.credit > 0 && this.mayAssign(session)) {
          const assignment = this.assignOne(session);
          if (!assignment) break;
          batch.push(assignment);
          session.credit--;
        }
      } catch (err) {
        // A bug or a store failure: what was assigned still goes out; the next tick tries again.
        this.log.error({ err, contributorId: session.id }, 'dispatch failed');
      }
      if (batch.length > 0) session.send({ type: 'assign', attempts: batch });
      this.maybeScale(session);
    }
  }

  private assignOne(session: Session): Assignment | undefined {
    // A job whose inputs cannot be extracted fails and leaves the scheduler: try the next one.
    for (let job = pickJob(this.jobs.values(), session.caps, undefined, this.shares); job;) {
      const assignment = this.assignFrom(job, session, false);
      if (assignment || this.jobs.has(job.id)) return assignment;
      job = pickJob(this.jobs.values(), session.caps, undefined, this.shares);
    }
    // No fresh work: consider a speculative copy of a long-running task near a job's end.
    const spec = pickJob(
      this.jobs.values(),
      session.caps,
      (j) => j.speculate.size > 0,
      this.shares,
    );
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
          try {
            extracted = job.cursor.next();
          } catch (err) {
            this.failJob(
              job,
              `inputs could not be extracted: task ${idx}: ${(err as Error).message}`,
            );
            return undefined;
          }
          if (!extracted) {
            this.failJob(
              job,
              `inputs could not be extracted: the inputs file ends after ${idx} of ${job.taskCount} tasks`,
            );
            return undefined;
          }
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
      ...(spec.network ? { network: true } : {}),
      ...(spec.limits.maxOutputFiles !== undefined
        ? { maxOutputFiles: spec.limits.maxOutputFiles }
        : {}),
      ...(spec.limits.maxOutputBytes !== undefined
        ? { maxOutputBytes: spec.limits.maxOutputBytes }
        : {}),
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
