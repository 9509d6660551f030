// Samples the machine on a timer, asks the owner policy, and tells its listeners when the decision
// changes. The manager (headless or in the tray app) enforces what it decides.
import { EventEmitter } from 'node:events';
import type { PolicyDecision, SnoozeKind } from '../../../../shared/owner-policy.js';
import type { FleetState, OwnerPolicy, PolicySample, Snooze } from './owner-policy.js';

/** What the manager needs from a policy: the decision now, and word of each change. */
export interface PolicySource {
  current(): PolicyDecision;
  on(event: 'change', listener: (d: PolicyDecision) => void): unknown;
  off(event: 'change', listener: (d: PolicyDecision) => void): unknown;
  /** Suspended attempts are handed back after this long. */
  readonly vacateAfterMs: number;
  /** The coordinator sent the admin's groups, fleet policy and remote control. */
  applyFleet?(fleet: FleetState): void;
}

export interface DriverTimers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export interface PolicyDriverOptions {
  policy: OwnerPolicy;
  /** Reads the machine: idle time, load, battery (everything but the time). */
  sample: () => Omit<PolicySample, 'now'>;
  /** @defaultValue Date.now */
  now?: () => number;
  /** @defaultValue 2000 */
  intervalMs?: number;
  /** @defaultValue the global setInterval/clearInterval, unref'd */
  timers?: DriverTimers;
  /** Called after every pause/resume from the tray, so it can be saved. */
  onSnooze?: (snooze: Snooze | undefined) => void;
  /** Called with each fleet message, so it can be saved (a lock holds before the next connect). */
  onFleet?: (fleet: FleetState) => void;
}

const realTimers: DriverTimers = {
  setInterval: (fn, ms) => setInterval(fn, ms).unref(),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
};

/** Only these fields make a change worth acting on; reasons with live numbers are refreshed anyway. */
function key(d: PolicyDecision): string {
  return JSON.stringify([
    d.state,
    d.cause,
    d.suspend,
    d.workers,
    d.duty,
    d.runLimit,
    d.cause === 'snooze' && d.until,
  ]);
}

export class PolicyDriver implements PolicySource {
  private readonly events = new EventEmitter();
  private readonly now: () => number;
  private readonly timers: DriverTimers;
  private handle: unknown;
  private last: PolicyDecision | undefined;
  private lastRead: PolicySample | undefined;

  constructor(private readonly o: PolicyDriverOptions) {
    this.now = o.now ?? Date.now;
    this.timers = o.timers ?? realTimers;
    const ms = o.intervalMs ?? 2000;
    if (!Number.isInteger(ms) || ms < 10)
      throw new RangeError('PolicyDriver: intervalMs must be an integer ≥ 10');
  }

  get policy(): OwnerPolicy {
    return this.o.policy;
  }

  get vacateAfterMs(): number {
    return this.o.policy.vacateAfterMs;
  }

  on(event: 'change', listener: (d: PolicyDecision) => void): this {
    this.events.on(event, listener);
    return this;
  }

  off(event: 'change', listener: (d: PolicyDecision) => void): this {
    this.events.off(event, listener);
    return this;
  }

  start(): void {
    if (this.handle !== undefined) return;
    this.tick();
    this.handle = this.timers.setInterval(() => this.tick(), this.o.intervalMs ?? 2000);
  }

  stop(): void {
    if (this.handle !== undefined) this.timers.clearInterval(this.handle);
    this.handle = undefined;
  }

  /** The latest decision (deciding once now if there is none yet). */
  current(): PolicyDecision {
    return this.last ?? this.tick();
  }

  /** What the machine looked like at the last decision (sensors for the panel). */
  get lastSample(): PolicySample | undefined {
    return this.lastRead;
  }

  /** Samples and decides once; emits `change` when the decision differs in substance. */
  tick(): PolicyDecision {
    this.lastRead = { ...this.o.sample(), now: this.now() };
    const d = this.o.policy.decide(this.lastRead);
    const changed = this.last === undefined || key(this.last) !== key(d);
    this.last = d;
    if (changed) this.events.emit('change', d);
    return d;
  }

  applyFleet(fleet: FleetState): void {
    this.o.policy.setFleet(fleet);
    this.o.onFleet?.(fleet);
    this.tick();
  }

  pause(kind: SnoozeKind): PolicyDecision {
    // Not inside `onSnooze?.(…)`: an optional call skips its arguments when there is no callee.
    const snooze = this.o.policy.pause(kind, this.now());
    this.o.onSnooze?.(snooze);
    return this.tick();
  }

  resume(): PolicyDecision {
    this.o.policy.resume();
    this.o.onSnooze?.(undefined);
    return this.tick();
  }
}
