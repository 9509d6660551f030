// The contributor manager: keeps the connection to the coordinator, pulls work with `ready`
// credits it can honour, runs assignments on the supervisor and reports every result until acked.
import { EventEmitter } from 'node:events';
import { mkdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import {
  type Assignment,
  type ContributorMessage,
  type CoordinatorMessage,
  type Hello,
  type ResultMessage,
} from '../../../../shared/protocol.js';
import { BlobCache } from '../link/blob-cache.js';
import { Connection, type Welcome } from '../link/connection.js';
import { ActiveAttempt } from './manager-attempt.js';
import { PrefetchPolicy, SlotGate } from './manager-gate.js';
import { PolicyEnforcer } from './manager-policy.js';
import type { ManagerEvents, ManagerStatus } from './manager-types.js';
import { SlotManager } from './manager-slots.js';
import {
  buildHello,
  loadContributorId,
  resolveOptions,
  type ManagerOptions,
  type ResolvedOptions,
} from './manager-options.js';
import { Supervisor } from '../supervisor/supervisor.js';

export type { ManagerOptions } from './manager-options.js';

export type { ManagerEvents, ManagerStatus } from './manager-types.js';

type Incoming = Exclude<CoordinatorMessage, Welcome>;

export class ContributorManager {
  private readonly o: ResolvedOptions;
  private readonly log: Logger;
  private readonly events = new EventEmitter();
  private readonly slots: SlotManager;
  private readonly active = new Map<string, ActiveAttempt>();
  /** Results sent (or to send) and not yet acknowledged; jobId/idx go into the hello's running list. */
  private readonly unacked = new Map<
    string,
    { result: ResultMessage; jobId: string; idx: number }
  >();
  private readonly runs = new Set<Promise<void>>();
  private readonly gate: SlotGate;
  private readonly prefetch: PrefetchPolicy;
  private id: string | undefined;
  private supervisor: Supervisor | undefined;
  private policy: PolicyEnforcer | undefined;
  private cache: BlobCache | undefined;
  private conn: Connection | undefined;
  private cacheDir = '';
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private state: 'new' | 'started' | 'stopped' = 'new';

  constructor(opts: ManagerOptions) {
    this.o = resolveOptions(opts);
    // The credential goes nowhere near the logger: only the URL and the machine name do.
    this.log = this.o.logger.child({ component: 'contributor' });
    this.gate = new SlotGate(
      () => Math.min(this.supervisor?.freeSlots ?? 0, this.policy?.startRoom() ?? Infinity),
      () => this.policy?.paused ?? false,
    );
    this.prefetch = new PrefetchPolicy(this.o.prefetchBelowMs);
    this.slots = new SlotManager(
      this.o.initialSlots,
      this.o.maxSlots,
      this.o.idleShrinkMs,
      {
        setSupervisorSlots: (n) => {
          this.supervisor?.setSlots(n);
          this.gate.admit();
        },
        activeCount: () => this.active.size,
        link: () => this.conn,
        changed: (slots) => this.emit('slots', slots),
        paused: () => this.policy?.paused ?? false,
        holdLimit: () => this.policy?.holdLimit(),
        isolation: () => this.supervisor?.isolation,
      },
      this.log,
    );
  }

  get contributorId(): string {
    if (!this.id)
      throw new Error('ContributorManager: contributorId is known once start() resolved');
    return this.id;
  }

  on<E extends keyof ManagerEvents>(event: E, listener: ManagerEvents[E]): this {
    this.events.on(event, listener);
    return this;
  }

  off<E extends keyof ManagerEvents>(event: E, listener: ManagerEvents[E]): this {
    this.events.off(event, listener);
    return this;
  }

  private emit<E extends keyof ManagerEvents>(e: E, ...args: Parameters<ManagerEvents[E]>): void {
    this.events.emit(e, ...args);
  }

  /** Loads the identity, starts the workers, then connects (and keeps reconnecting until stop). */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error('ContributorManager: start() can be called once');
    this.state = 'started';
    await mkdir(this.o.dataDir, { recursive: true, mode: 0o700 });
    // Workers' read permission is checked on resolved paths; staged files must resolve inside it.
    const dataDir = await realpath(this.o.dataDir);
    this.id = await loadContributorId(dataDir);
    this.cacheDir = path.join(dataDir, 'blobs');
    this.cache = await BlobCache.open(this.cacheDir, {
      baseUrl: this.o.currentUrl ?? this.o.url,
      credential: this.o.credential,
      ...(this.o.tls ? { fetch: this.o.tls.fetch } : {}),
    });
    this.supervisor = new Supervisor({
      workRoot: path.join(dataDir, 'work'),
      blobCacheDir: this.cacheDir,
      allowCommands: this.o.allowCommands,
      allowNetwork: this.o.allowNetwork,
      logger: this.log,
      // A job's worker stays while this manager still holds tasks of that job.
      keepWorker: (jobId) => this.holdsWaiting(jobId),
      ...this.o.supervisor,
      slots: this.slots.capacity,
    });
    await this.supervisor.start();
    this.log.info(
      {
        isolation: this.supervisor.isolation,
        ...(this.supervisor.isolationReason ? { why: this.supervisor.isolationReason } : {}),
      },
      this.supervisor.isolation === 'sandbox'
        ? 'tasks run in the operating-system sandbox'
        : 'tasks run under the permission model only',
    );
    if (this.o.policy) this.policy = this.enforce(this.o.policy, this.supervisor);
    this.conn = new Connection(
      {
        url: this.o.currentUrl ?? this.o.url,
        ...(this.o.tls ? { agent: this.o.tls.agent } : {}),
        credential: this.o.credential,
        logger: this.log,
        reconnect: this.o.reconnect,
        refusedRetryMs: this.o.refusedRetryMs,
        handshakeTimeoutMs: this.o.handshakeTimeoutMs,
        random: this.o.random,
        ...(this.o.version ? { version: this.o.version } : {}),
      },
      {
        hello: () => this.hello(),
        welcome: (w) => this.onWelcome(w),
        message: (m) => this.onMessage(m),
        closed: (info) => this.onClosed(info),
      },
    );
    this.log.info(
      { url: this.o.url, contributorId: this.id, slots: this.slots.capacity },
      'contributor starting',
    );
    this.conn.open();
  }

  /** Disconnects, kills running attempts and workers. Unacknowledged results are dropped. */
  async stop(): Promise<void> {
    if (this.state !== 'started') return;
    this.state = 'stopped';
    clearInterval(this.heartbeatTimer);
    this.slots.stop();
    this.policy?.stop();
    await this.conn?.close();
    this.cache?.close();
    // Attempts still fetching or waiting must not start; running ones die with the supervisor.
    for (const attempt of this.active.values())
      if (attempt.phase === 'fetching' || attempt.phase === 'waiting') void attempt.cancel();
    await this.supervisor?.stop();
    await Promise.allSettled([...this.runs]);
  }

  status(): ManagerStatus {
    const running = [...this.active.values()].map((at) => ({
      attemptId: at.id,
      jobId: at.a.jobId,
      idx: at.a.idx,
      phase: at.phase,
      ...(at.progress !== undefined ? { progress: at.progress } : {}),
      ...(at.message !== undefined ? { message: at.message } : {}),
    }));
    return {
      contributorId: this.id ?? '',
      connected: this.conn?.ready ?? false,
      slots: this.slots.capacity,
      maxSlots: this.o.maxSlots,
      freeSlots: Math.max(0, this.slots.capacity - this.active.size),
      promised: this.slots.credits.promised,
      running,
      unacknowledged: [...this.unacked.keys()],
    };
  }

  /** Our worker processes and command process groups, whose CPU is not the owner's. */
  workerPids(): number[] {
    const attempts = [...this.active.keys()].map((id) => this.supervisor?.probe(id)?.pid);
    return [...(this.supervisor?.workerPids() ?? []), ...attempts.filter((p) => p !== undefined)];
  }

  /** Drops the socket as a network failure would; the manager reconnects (tests, diagnostics). */
  dropConnection(): void {
    this.conn?.drop();
  }

  private enforce(source: NonNullable<ManagerOptions['policy']>, sup: Supervisor): PolicyEnforcer {
    return new PolicyEnforcer(source, {
      suspend: (id) => sup.suspend(id),
      resume: (id) => sup.resume(id),
      runningIds: () =>
        [...this.active.values()].filter((a) => a.phase === 'running').map((a) => a.id),
      waitingIds: () => this.gate.waiting,
      vacate: (id, reason) => {
        this.send({ type: 'vacate', attemptId: id, reason: reason.slice(0, 500) });
        this.active
          .get(id)
          ?.cancel()
          .catch((err: unknown) => this.log.warn({ err, attemptId: id }, 'cancel failed'));
      },
      offer: () => {
        this.gate.admit();
        this.slots.offer();
      },
      report: () => this.sendHeartbeat(),
      log: this.log,
    });
  }

  private send(msg: ContributorMessage): boolean {
    return this.conn?.send(msg) ?? false;
  }

  private hello(): Hello {
    // Finished but unacknowledged attempts count as running: the coordinator must not re-assign them.
    const running = [
      ...[...this.active.values()].map((at) => ({
        attemptId: at.id,
        jobId: at.a.jobId,
        idx: at.a.idx,
      })),
      ...[...this.unacked.entries()].map(([attemptId, u]) => ({
        attemptId,
        jobId: u.jobId,
        idx: u.idx,
      })),
    ];
    const hello = buildHello(
      this.o,
      this.contributorId,
      this.slots.capacity,
      running,
      this.supervisor?.isolation,
    );
    return this.policy ? { ...hello, policy: this.policy.status() } : hello;
  }

  private onWelcome(w: Welcome): void {
    if (w.contributorId !== this.id)
      this.log.warn(
        { ours: this.id, theirs: w.contributorId },
        'the coordinator knows us under another id',
      );
    this.log.info({ coordinatorId: w.coordinatorId }, 'connected to the coordinator');
    this.slots.connectionReset();
    for (const { result } of this.unacked.values()) this.send(result);
    this.slots.offer();
    clearInterval(this.heartbeatTimer);
    // Beat at the interval we promised, or faster if the coordinator asks for it.
    const every = Math.min(this.o.heartbeatMs, w.heartbeatMs);
    this.heartbeatTimer = setInterval(() => this.sendHeartbeat(), every);
    this.emit('connected', { coordinatorId: w.coordinatorId, heartbeatMs: every });
  }

  private onClosed(info: { code: number; reason: string; refused: boolean }): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    // Credit lives with the connection: the next one starts from zero on both sides.
    if (this.state === 'started') this.slots.connectionReset();
    this.emit('disconnected', info);
  }

  private sendHeartbeat(): void {
    const running = [...this.active.values()].map((at) => at.heartbeat());
    const policy = this.policy?.status();
    this.send({ type: 'heartbeat', running, ...(policy ? { policy } : {}) });
  }

  private onMessage(m: Incoming): void {
    switch (m.type) {
      case 'assign':
        for (const a of m.attempts) this.onAssign(a);
        return;
      case 'result-ack':
        return this.onAck(m.attemptId, m.accepted);
      case 'cancel':
        return this.onCancel(m.attemptId, m.reason);
      case 'probe':
        return this.onProbe(m.attemptId);
      case 'scale':
        return this.slots.scale(m.backlog, m.slotsOnOffer);
      case 'error':
        this.log.warn({ code: m.code, message: m.message }, 'the coordinator reported an error');
        return;
      case 'fleet':
        this.log.info(
          { groups: m.groups, locked: m.policy?.locked ?? [], control: m.control.state },
          'fleet policy from the coordinator',
        );
        this.o.policy?.applyFleet?.({ groups: m.groups, policy: m.policy, control: m.control });
        return;
      default: {
        const never: never = m;
        this.log.warn({ msg: never }, 'unhandled message');
      }
    }
  }

  private onAssign(a: Assignment): void {
    const log = this.log.child({ attemptId: a.attemptId, jobId: a.jobId, idx: a.idx });
    if (this.active.has(a.attemptId) || this.unacked.has(a.attemptId)) {
      log.warn('ignored a duplicate assignment');
      const done = this.unacked.get(a.attemptId);
      if (done) this.send(done.result);
      return;
    }
    const limit = this.policy?.holdLimit();
    if (this.policy && limit !== undefined && this.active.size >= limit) {
      // Credit given before a pause (or a throttle) cannot be withdrawn; hand such work straight back.
      this.slots.take();
      this.send({ type: 'vacate', attemptId: a.attemptId, reason: this.policy.status().reason });
      return;
    }
    if (!this.slots.take()) {
      log.warn({ slots: this.slots.capacity }, 'assignment beyond our free slots; vacating it');
      this.send({
        type: 'vacate',
        attemptId: a.attemptId,
        reason: 'no free slot on this contributor',
      });
      return;
    }
    const attempt = new ActiveAttempt(a, {
      cache: this.cache!,
      supervisor: this.supervisor!,
      gate: this.gate,
      cacheDir: this.cacheDir,
      logger: this.log,
      send: (msg) => this.send(msg),
      started: (attemptId) => {
        this.policy?.attemptStarted(attemptId);
        this.emit('started', attemptId);
      },
      now: this.o.now,
      progressIntervalMs: this.o.progressIntervalMs,
      logFlushMs: this.o.logFlushMs,
      logBytes: this.o.logBytes,
    });
    this.active.set(a.attemptId, attempt);
    log.info({ runtime: a.runtime, number: a.number }, 'attempt assigned');
    this.emit('assigned', a);
    const run = attempt.run().then((result) => this.finish(attempt, result));
    this.runs.add(run);
    void run.finally(() => this.runs.delete(run));
  }

  /** Attempts of `jobId` this manager holds that have not reached a worker yet. */
  private holdsWaiting(jobId: string): boolean {
    for (const a of this.active.values())
      if (a.a.jobId === jobId && (a.phase === 'fetching' || a.phase === 'waiting')) return true;
    return false;
  }

  private finish(attempt: ActiveAttempt, result: ResultMessage): void {
    this.active.delete(attempt.id);
    this.policy?.attemptEnded(attempt.id);
    if (this.state === 'stopped') return; // killed by stop(): nobody is left to tell
    attempt.log.info(
      { state: result.state, wallMs: result.wallMs, cpuMs: result.cpuMs },
      'attempt finished',
    );
    this.unacked.set(attempt.id, { result, jobId: attempt.a.jobId, idx: attempt.a.idx });
    this.send(result);
    this.emit('outcome', result);
    if (result.state === 'succeeded') {
      this.prefetch.observe(result.wallMs);
      this.slots.credits.extra = this.prefetch.depth;
    }
    this.slots.settle();
    this.slots.offer();
  }

  private onAck(attemptId: string, accepted: boolean): void {
    const held = this.unacked.get(attemptId);
    if (!held) return;
    this.unacked.delete(attemptId);
    this.log.debug({ attemptId, accepted }, 'result acknowledged');
    this.emit('acknowledged', { attemptId, accepted });
    // A task that succeeded with no output files left none to remove (collecting writes only
    // files it reports); any other ending may have left some part-way.
    const { result } = held;
    if (result.state === 'succeeded' && !result.outputFiles?.length) return;
    this.supervisor
      ?.removeOutputs(attemptId)
      .catch((err: unknown) => this.log.warn({ err, attemptId }, 'could not remove output files'));
  }

  private onCancel(attemptId: string, reason: string): void {
    const attempt = this.active.get(attemptId);
    if (!attempt) return;
    attempt.log.info({ reason }, 'cancel requested by the coordinator');
    const { jobId } = attempt.a;
    attempt
      .cancel()
      // Nothing more of this job held here (it was cancelled or failed, or its last task was
      // won elsewhere): its idle workers end now rather than after their idle wait, so none of
      // its code lives on in them.
      .then(() => (this.holdsJob(jobId) ? undefined : this.supervisor?.endJob(jobId)))
      .catch((err: unknown) => attempt.log.warn({ err }, 'cancel failed'));
  }

  /** Whether an attempt of `jobId` is held here that nobody asked to stop. */
  private holdsJob(jobId: string): boolean {
    for (const a of this.active.values())
      if (a.a.jobId === jobId && !a.cancelRequested) return true;
    return false;
  }

  private onProbe(attemptId: string): void {
    const p = this.supervisor?.probe(attemptId);
    const progress = p?.progress ?? this.active.get(attemptId)?.progress;
    this.send({
      type: 'probe-reply',
      attemptId,
      // Alive = a result will come from here: still fetching or buffered, or on the supervisor —
      // even if its worker just died, the supervisor is about to report that as the outcome
      // (answering false then raced the crash report and turned a failure into 'lost').
      alive: p !== undefined || this.active.has(attemptId),
      cpuMs: p?.cpuMs ?? 0,
      ...(progress !== undefined ? { progress } : {}),
      suspended: p?.suspended ?? false,
    });
  }
}
