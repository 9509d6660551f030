// Puts the owner policy into effect on this machine's attempts: suspends them all at once when the
// owner needs the machine, resumes them when it is free again, duty-cycles them under a CPU limit,
// keeps only a few running while throttled (the rest held suspended), and hands back (vacates)
// attempts that stayed suspended longer than the vacate delay.
import type { Logger } from 'pino';
import { policyStatus, type PolicyDecision } from '../../../../shared/owner-policy.js';
import type { PolicyStatus } from '../../../../shared/protocol.js';
import type { PolicySource } from '../policy/policy-driver.js';

export interface EnforcerHost {
  suspend(attemptId: string): void;
  resume(attemptId: string): void;
  /** Attempts on a worker now. */
  runningIds(): string[];
  /** Attempts staged and waiting for a worker slot (prefetched): handed back at once on a pause. */
  waitingIds(): string[];
  /** Tell the coordinator we give the attempt back, then stop it. */
  vacate(attemptId: string, reason: string): void;
  /** The policy allows work again: offer free slots. */
  offer(): void;
  /** Report the new decision now (heartbeat), not at the next beat. */
  report(): void;
  log: Logger;
}

export class PolicyEnforcer {
  private decision: PolicyDecision;
  private readonly vacateTimers = new Map<string, NodeJS.Timeout>();
  private dutyTimer: NodeJS.Timeout | undefined;
  private dutyStopped = false;
  /** Attempts held suspended because a throttle allows fewer to run. */
  private readonly held = new Set<string>();
  private readonly onChange = (d: PolicyDecision) => this.apply(d);

  constructor(
    private readonly source: PolicySource,
    private readonly host: EnforcerHost,
  ) {
    this.decision = source.current();
    source.on('change', this.onChange);
    this.apply(this.decision);
  }

  /** No work now: running attempts are stopped and no `ready` credit is offered. */
  get paused(): boolean {
    return this.decision.suspend;
  }

  /** How many more attempts may start on a worker now (a throttle's limit; unlimited otherwise). */
  startRoom(): number {
    if (this.decision.suspend) return 0;
    const limit = this.decision.runLimit;
    return limit === undefined ? Infinity : Math.max(0, limit - this.host.runningIds().length);
  }

  /** Attempts worth holding (running or staged) now; undefined: as many as there are slots. */
  holdLimit(): number | undefined {
    return this.decision.suspend ? 0 : this.decision.runLimit;
  }

  status(): PolicyStatus {
    return policyStatus(this.source.current());
  }

  /** An attempt reached a worker: it must obey the current decision too. */
  attemptStarted(attemptId: string): void {
    if (this.decision.suspend) return this.suspendOne(attemptId);
    const limit = this.decision.runLimit;
    const others = this.host.runningIds().filter((id) => id !== attemptId && !this.held.has(id));
    if (limit !== undefined && others.length >= limit) {
      this.held.add(attemptId);
      this.suspendOne(attemptId);
    } else if (this.dutyStopped) this.host.suspend(attemptId);
  }

  attemptEnded(attemptId: string): void {
    this.clearVacate(attemptId);
    if (this.held.delete(attemptId) || this.decision.suspend) return;
    // A throttled worker finished: a held attempt takes its place before anything new starts.
    const next = this.held.values().next();
    if (next.done) return;
    this.held.delete(next.value);
    this.clearVacate(next.value);
    if (!this.dutyStopped) this.host.resume(next.value);
  }

  private clearVacate(attemptId: string): void {
    clearTimeout(this.vacateTimers.get(attemptId));
    this.vacateTimers.delete(attemptId);
  }

  stop(): void {
    this.source.off('change', this.onChange);
    this.stopDuty();
    for (const t of this.vacateTimers.values()) clearTimeout(t);
    this.vacateTimers.clear();
    this.held.clear();
  }

  private apply(d: PolicyDecision): void {
    const was = this.decision;
    this.decision = d;
    this.host.log.info({ state: d.state, cause: d.cause, reason: d.reason }, 'owner policy');
    this.stopDuty();
    if (d.suspend) {
      this.held.clear();
      for (const id of this.host.runningIds()) this.suspendOne(id);
      for (const id of this.host.waitingIds()) this.host.vacate(id, `not started: ${d.reason}`);
    } else {
      // Throttled: the first `runLimit` attempts run (duty-cycled), the others are held suspended
      // and handed back after the vacate delay like any suspended attempt.
      const running = this.host.runningIds();
      const limit = d.runLimit ?? Infinity;
      const keep = running.slice(0, limit);
      this.held.clear();
      for (const id of running.slice(keep.length)) {
        this.held.add(id);
        this.suspendOne(id);
      }
      for (const id of keep) {
        this.clearVacate(id);
        this.host.resume(id);
      }
      if (d.runLimit !== undefined)
        for (const id of this.host.waitingIds().slice(Math.max(0, limit - keep.length)))
          this.host.vacate(id, `not started: ${d.reason}`);
      if (d.duty) this.runDuty(d.duty);
      if (was.suspend || was === d || (was.runLimit ?? Infinity) < limit) this.host.offer();
    }
    if (was !== d) this.host.report();
  }

  private suspendOne(attemptId: string): void {
    this.host.suspend(attemptId);
    if (this.vacateTimers.has(attemptId)) return;
    const timer = setTimeout(() => {
      this.vacateTimers.delete(attemptId);
      const reason = `suspended longer than ${Math.round(this.source.vacateAfterMs / 1000)} s (${this.decision.reason})`;
      this.host.log.info({ attemptId, reason }, 'vacating a suspended attempt');
      this.host.vacate(attemptId, reason);
    }, this.source.vacateAfterMs);
    timer.unref();
    this.vacateTimers.set(attemptId, timer);
  }

  /** SIGCONT for runMs, SIGSTOP for stopMs, over and over, while the decision stands. */
  private runDuty(duty: { runMs: number; stopMs: number }): void {
    const phase = (stopped: boolean) => {
      this.dutyStopped = stopped;
      for (const id of this.host.runningIds())
        if (this.held.has(id)) continue;
        else if (stopped) this.host.suspend(id);
        else this.host.resume(id);
      this.dutyTimer = setTimeout(() => phase(!stopped), stopped ? duty.stopMs : duty.runMs);
      this.dutyTimer.unref();
    };
    phase(false);
  }

  private stopDuty(): void {
    clearTimeout(this.dutyTimer);
    this.dutyTimer = undefined;
    this.dutyStopped = false;
  }
}
