// The owner's policy (SPEC §7) as a plain, clock-free function of samples: may this machine
// compute now, with how many workers, and why. Time comes in with each sample; nothing here reads
// a clock or imports Electron, so the desktop app, the headless contributor and the tests share it.
import {
  type DutyCycle,
  type OwnerPolicySettings,
  type PolicyDecision,
  type SnoozeKind,
} from '../../../shared/owner-policy.js';
import { CpuGate } from './owner-policy-cpu.js';
import {
  describeSchedule,
  describeTime,
  inSchedule,
  nextMidnight,
  nextWindowStart,
} from './owner-policy-schedule.js';

export interface PolicySample {
  /** Epoch ms the sample was taken. */
  now: number;
  /** Time since the last keyboard/mouse input; undefined on a headless machine (no desktop session). */
  userIdleMs?: number;
  screenLocked?: boolean;
  /** Someone is connected through remote desktop / screen sharing. */
  remoteSession?: boolean;
  /** CPU used by other processes (ours subtracted), 0..1 of the whole machine. */
  otherCpuLoad: number;
  onBattery: boolean;
}

/** A pause from the tray; `until` undefined = until resumed. */
export interface Snooze {
  kind: SnoozeKind;
  until?: number;
}

const HOUR_MS = 60 * 60 * 1000;

/** Run/stop periods that give `limitPercent` of a core; undefined at 100 % (no cycling). */
export function dutyCycle(limitPercent: number, periodMs = 1000): DutyCycle | undefined {
  if (limitPercent >= 100) return undefined;
  const runMs = Math.max(1, Math.round((periodMs * Math.max(1, limitPercent)) / 100));
  return { runMs, stopMs: Math.max(1, periodMs - runMs) };
}

/** cores − 1, at least 1, unless the owner set a number. */
export function allowedWorkers(s: OwnerPolicySettings, cores: number): number {
  return s.maxWorkers === 'auto' ? Math.max(1, cores - 1) : s.maxWorkers;
}

export class OwnerPolicy {
  private gate: CpuGate;
  private snoozed: Snooze | undefined;

  constructor(
    private s: OwnerPolicySettings,
    private readonly machine: { cores: number },
  ) {
    this.gate = new CpuGate(s.cpu);
  }

  get settings(): OwnerPolicySettings {
    return this.s;
  }

  get snooze(): Snooze | undefined {
    return this.snoozed;
  }

  get maxWorkers(): number {
    return allowedWorkers(this.s, this.machine.cores);
  }

  get vacateAfterMs(): number {
    return this.s.vacateAfterMinutes * 60_000;
  }

  /** New settings apply from the next decision; the CPU history starts afresh. */
  setSettings(s: OwnerPolicySettings): void {
    this.s = s;
    this.gate = new CpuGate(s.cpu);
  }

  /** Pause from the tray: for an hour, until local midnight, or until `resume()`. */
  pause(kind: SnoozeKind, now: number): Snooze {
    const until =
      kind === '1h' ? now + HOUR_MS : kind === 'until-tomorrow' ? nextMidnight(now) : undefined;
    this.snoozed = { kind, ...(until !== undefined ? { until } : {}) };
    return this.snoozed;
  }

  resume(): void {
    this.snoozed = undefined;
  }

  /** Restores a snooze saved across a restart (ignored once it has ended). */
  restoreSnooze(snooze: Snooze | undefined, now: number): void {
    this.snoozed =
      snooze && (snooze.until === undefined || snooze.until > now) ? snooze : undefined;
  }

  decide(x: PolicySample): PolicyDecision {
    // The CPU history is kept up to date whatever else decides, so the average is right later.
    const cpuBusy = this.gate.update(x.otherCpuLoad, x.now);
    if (this.snoozed?.until !== undefined && x.now >= this.snoozed.until) this.snoozed = undefined;
    if (this.snoozed) return this.snoozeDecision(this.snoozed, x.now);
    const s = this.s;
    if (!inSchedule(s.schedule, x.now)) {
      const until = nextWindowStart(s.schedule, x.now);
      return stop(
        'idle',
        'schedule',
        `Idle: outside the schedule (${describeSchedule(s.schedule)})`,
        until,
      );
    }
    if (x.onBattery && s.onBattery === 'pause')
      return stop('paused', 'battery', 'Paused: this computer is running on battery');
    if (s.computeWhen === 'idle') {
      const user = this.userDecision(x);
      if (user) return user;
      if (cpuBusy) {
        const pct = Math.round((this.gate.smoothed ?? 0) * 100);
        return stop('paused', 'cpu', `Paused: other programs are using the CPU (${pct} %)`);
      }
    }
    return this.working(x);
  }

  private userDecision(x: PolicySample): PolicyDecision | undefined {
    if (x.userIdleMs === undefined || x.screenLocked) return undefined; // headless or away
    if (x.remoteSession)
      return stop('paused', 'remote', 'Paused: someone is using this computer remotely');
    const idleMs = this.s.idleMinutes * 60_000;
    if (x.userIdleMs < idleMs)
      // Stays paused at least until the idle time could reach the threshold.
      return stop(
        'paused',
        'user',
        'Paused: you are using this computer',
        x.now + idleMs - x.userIdleMs,
      );
    return undefined;
  }

  private working(x: PolicySample): PolicyDecision {
    const duty = dutyCycle(this.s.cpuLimitPercent, this.s.dutyPeriodMs);
    let why: string;
    if (this.s.computeWhen === 'always') why = 'Working: allowed at any time';
    else if (x.screenLocked) why = 'Working: the screen is locked';
    else if (x.userIdleMs !== undefined)
      why = `Working: no one has used this computer for ${Math.floor(x.userIdleMs / 60_000)} min`;
    else why = `Working: the CPU is free (other programs ${Math.round(x.otherCpuLoad * 100)} %)`;
    if (duty) why += ` · limited to ${this.s.cpuLimitPercent} % CPU`;
    return {
      state: 'working',
      cause: 'none',
      reason: why,
      workers: this.maxWorkers,
      suspend: false,
      ...(duty ? { duty } : {}),
    };
  }

  private snoozeDecision(z: Snooze, now: number): PolicyDecision {
    const reason =
      z.until === undefined
        ? 'Paused by you until you resume'
        : `Paused by you until ${describeTime(z.until, now)}`;
    return stop('paused', 'snooze', reason, z.until);
  }
}

function stop(
  state: 'idle' | 'paused',
  cause: PolicyDecision['cause'],
  reason: string,
  until?: number,
): PolicyDecision {
  return {
    state,
    cause,
    reason,
    workers: 0,
    suspend: true,
    ...(until !== undefined ? { until } : {}),
  };
}
