// Throttle mode as the enforcer puts it into effect, under fake timers: while the owner is active
// only `runLimit` attempts run, duty-cycled to the CPU cap; the others are held suspended (and
// handed back after the vacate delay); a held one takes a finished one's place; when the owner
// leaves, everything runs again at full speed. The host is a recording test double of the manager.
import { EventEmitter } from 'node:events';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PolicyEnforcer } from '../../../../../electron/grid/contributor/manager/manager-policy.js';
import type { PolicySource } from '../../../../../electron/grid/contributor/policy/policy-driver.js';
import type { PolicyDecision } from '../../../../../shared/owner-policy.js';

const working: PolicyDecision = {
  state: 'working',
  cause: 'none',
  reason: 'Working: no one has used this computer for 9 min',
  workers: 3,
  suspend: false,
};
const throttled: PolicyDecision = {
  state: 'working',
  cause: 'user',
  reason: 'Throttled: you are using this computer · 1 worker at 25 % CPU',
  workers: 1,
  runLimit: 1,
  suspend: false,
  duty: { runMs: 250, stopMs: 750 },
};

/** A policy source whose decision the test sets. */
class Source extends EventEmitter implements PolicySource {
  vacateAfterMs = 60_000;
  constructor(public d: PolicyDecision) {
    super();
  }
  current(): PolicyDecision {
    return this.d;
  }
  set(d: PolicyDecision): void {
    this.d = d;
    this.emit('change', d);
  }
}

/** Records what the enforcer does to each attempt; running time is summed on the fake clock. */
class Host {
  running: string[] = [];
  waiting: string[] = [];
  stopped = new Set<string>();
  vacated: { id: string; reason: string }[] = [];
  offers = 0;
  private since = new Map<string, number>();
  readonly ranMs = new Map<string, number>();
  readonly log = pino({ level: 'silent' });

  start(id: string): void {
    this.running.push(id);
    this.since.set(id, Date.now());
  }
  suspend(id: string): void {
    if (this.stopped.has(id)) return;
    this.account(id);
    this.stopped.add(id);
  }
  resume(id: string): void {
    if (!this.stopped.delete(id)) return;
    this.since.set(id, Date.now());
  }
  runningIds = () => [...this.running];
  waitingIds = () => [...this.waiting];
  vacate(id: string, reason: string): void {
    this.vacated.push({ id, reason });
    this.running = this.running.filter((r) => r !== id);
    this.waiting = this.waiting.filter((r) => r !== id);
  }
  offer(): void {
    this.offers++;
  }
  report(): void {}
  /** Adds running time up to now to the attempt's total. */
  account(id: string): void {
    if (this.stopped.has(id)) return;
    this.ranMs.set(id, (this.ranMs.get(id) ?? 0) + Date.now() - (this.since.get(id) ?? Date.now()));
    this.since.set(id, Date.now());
  }
}

describe('throttle mode in the enforcer', () => {
  let host: Host;
  let source: Source;
  let enforcer: PolicyEnforcer;
  beforeEach(() => {
    vi.useFakeTimers();
    host = new Host();
    source = new Source(working);
    enforcer = new PolicyEnforcer(source, host);
  });
  afterEach(() => {
    enforcer.stop();
    vi.useRealTimers();
  });

  const ran = (id: string) => {
    host.account(id);
    return host.ranMs.get(id) ?? 0;
  };

  it('keeps one attempt at a quarter of its core and holds the others', () => {
    for (const id of ['a', 'b', 'c']) {
      host.start(id);
      enforcer.attemptStarted(id);
    }
    host.waiting = ['d'];
    vi.advanceTimersByTime(1000);
    expect(['a', 'b', 'c'].map(ran)).toEqual([1000, 1000, 1000]);

    source.set(throttled);
    expect(enforcer.startRoom()).toBe(0);
    expect(enforcer.holdLimit()).toBe(1);
    // The staged attempt beyond the limit goes back at once; b and c are held.
    expect(host.vacated).toEqual([{ id: 'd', reason: `not started: ${throttled.reason}` }]);
    expect([...host.stopped].sort()).toEqual(['b', 'c']);
    const before = ['a', 'b', 'c'].map(ran);
    vi.advanceTimersByTime(10_000);
    const used = ['a', 'b', 'c'].map((id, i) => ran(id) - before[i]!);
    // 10 s at 250 ms of every 1000 ms: 2.5 s for a, nothing for the held ones.
    expect(used).toEqual([2500, 0, 0]);
  });

  it('lets a held attempt take the place of a finished one, and hands held ones back after the delay', () => {
    for (const id of ['a', 'b']) {
      host.start(id);
      enforcer.attemptStarted(id);
    }
    source.set(throttled);
    vi.advanceTimersByTime(5_000);
    host.running = host.running.filter((r) => r !== 'a');
    enforcer.attemptEnded('a');
    const b0 = ran('b');
    vi.advanceTimersByTime(4_000);
    expect(ran('b') - b0).toBe(1000);
    // A new attempt that starts while b runs is held at once, and vacated after the delay.
    host.start('c');
    enforcer.attemptStarted('c');
    expect(host.stopped.has('c')).toBe(true);
    vi.advanceTimersByTime(60_000);
    expect(host.vacated.map((v) => v.id)).toEqual(['c']);
    expect(host.vacated[0]?.reason).toMatch(/^suspended longer than 60 s \(Throttled:/);
  });

  it('runs everything at full speed again when the owner leaves, and offers work', () => {
    for (const id of ['a', 'b']) {
      host.start(id);
      enforcer.attemptStarted(id);
    }
    source.set(throttled);
    vi.advanceTimersByTime(3_000);
    const offers = host.offers;
    source.set(working);
    expect(host.stopped.size).toBe(0);
    expect(host.offers).toBe(offers + 1);
    expect(enforcer.startRoom()).toBe(Infinity);
    expect(enforcer.holdLimit()).toBeUndefined();
    const before = ['a', 'b'].map(ran);
    vi.advanceTimersByTime(120_000);
    expect(['a', 'b'].map((id, i) => ran(id) - before[i]!)).toEqual([120_000, 120_000]);
    expect(host.vacated).toEqual([]);
  });
});
