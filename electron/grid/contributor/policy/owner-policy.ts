// The owner's policy (docs/owner-policy.md) as a plain, clock-free function of samples: may this machine
// compute now, with how many workers, and why. Time comes in with each sample; nothing here reads
// a clock or imports Electron, so the desktop app, the headless contributor and the tests share it.
import {
  programPlatform,
  type DutyCycle,
  type OwnerPolicySettings,
  type PolicyDecision,
  type SnoozeKind,
} from '../../../../shared/owner-policy.js';
import {
  effectivePolicy,
  type FleetControlState,
  type FleetPolicy,
} from '../../../../shared/fleet-policy.js';
import { CpuGate } from './owner-policy-cpu.js';
import { programLabel, runningBusyPrograms } from './owner-policy-programs.js';
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
  /** Names of running programs (`programKey` form); undefined when they cannot be listed. */
  programs?: ReadonlySet<string>;
  /** A full-screen window is in front; undefined where the desktop does not tell. */
  fullScreen?: boolean;
  /** CPU temperature in °C; undefined where there is no sensor. */
  cpuCelsius?: number;
  /** The sensor `cpuCelsius` came from, in words. */
  cpuSensor?: string;
  /** Why a reading above is missing, for the panel. */
  unknown?: { programs?: string; fullScreen?: string; temperature?: string };
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

/** What the admin sent this machine (docs/fleet-rollout.md). */
export interface FleetState {
  groups: string[];
  policy: FleetPolicy | null;
  control: FleetControlState;
}

export class OwnerPolicy {
  private gate: CpuGate;
  private snoozed: Snooze | undefined;
  private heat = false;
  /** The owner's own settings; `s` is what runs: these with the fleet's laid on (locks applied). */
  private own: OwnerPolicySettings;
  private fleetState: FleetState | undefined;

  constructor(
    private s: OwnerPolicySettings,
    private readonly machine: { cores: number; platform?: NodeJS.Platform },
  ) {
    this.own = s;
    this.gate = new CpuGate(s.cpu);
  }

  /** The settings in force: the owner's, with the fleet policy applied. */
  get settings(): OwnerPolicySettings {
    return this.s;
  }

  /** The owner's own settings (what the panel edits). */
  get ownSettings(): OwnerPolicySettings {
    return this.own;
  }

  /** The admin's groups, policy and remote control for this machine; undefined until one came. */
  get fleet(): FleetState | undefined {
    return this.fleetState;
  }

  /** A fleet message from the coordinator: its policy applies from the next decision. */
  setFleet(f: FleetState): void {
    this.fleetState = f;
    this.recompute();
  }

  private recompute(): void {
    const before = JSON.stringify(this.s.cpu);
    this.s = effectivePolicy(this.own, this.fleetState?.policy);
    if (JSON.stringify(this.s.cpu) !== before) this.gate = new CpuGate(this.s.cpu);
  }

  get snooze(): Snooze | undefined {
    return this.snoozed;
  }

  get maxWorkers(): number {
    return allowedWorkers(this.s, this.machine.cores);
  }

  /** This platform's busy-program list. */
  get busyPrograms(): string[] {
    return this.s.busyPrograms[programPlatform(this.machine.platform ?? process.platform)];
  }

  /** The CPU was over the heat limit and has not cooled below limit − hysteresis yet. */
  get hot(): boolean {
    return this.heat;
  }

  get vacateAfterMs(): number {
    return this.s.vacateAfterMinutes * 60_000;
  }

  /** New settings apply from the next decision; the CPU history starts afresh. */
  setSettings(s: OwnerPolicySettings): void {
    this.own = s;
    this.s = effectivePolicy(s, this.fleetState?.policy);
    this.gate = new CpuGate(this.s.cpu);
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
    this.updateHeat(x.cpuCelsius);
    if (this.snoozed?.until !== undefined && x.now >= this.snoozed.until) this.snoozed = undefined;
    const control = this.fleetState?.control;
    if (control?.state === 'paused')
      return stop(
        'paused',
        'fleet',
        `Paused by the admin${control.by ? ` (${control.by}${control.reason ? `: ${control.reason}` : ''})` : ''}`,
      );
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
    if (this.heat) {
      const c = Math.round(x.cpuCelsius ?? 0);
      const { limitCelsius: limit, hysteresisCelsius: h } = s.heat;
      return stop(
        'paused',
        'heat',
        c > limit
          ? `Paused: the CPU is hot (${c} °C, limit ${limit} °C)`
          : `Paused: the CPU is cooling down (${c} °C, resumes below ${limit - h} °C)`,
      );
    }
    const program = x.programs ? runningBusyPrograms(this.busyPrograms, x.programs)[0] : undefined;
    if (program !== undefined)
      return stop('paused', 'program', `Paused: ${programLabel(program)} is running`);
    if (s.pauseWhenFullScreen && x.fullScreen)
      return stop('paused', 'fullscreen', 'Paused: a full-screen window is in front');
    if (s.computeWhen === 'idle') {
      const user = this.userDecision(x);
      if (user) return user.cause === 'remote' ? user : this.throttleOr(user);
      if (cpuBusy) {
        const pct = Math.round((this.gate.smoothed ?? 0) * 100);
        return this.throttleOr(
          stop('paused', 'cpu', `Paused: other programs are using the CPU (${pct} %)`),
        );
      }
    }
    return this.working(x);
  }

  /** Hysteresis: hot above the limit, cool again only below limit − hysteresis (or no sensor). */
  private updateHeat(c: number | undefined): void {
    const h = this.s.heat;
    if (!h.enabled || c === undefined || !Number.isFinite(c)) this.heat = false;
    else if (!this.heat && c > h.limitCelsius) this.heat = true;
    else if (this.heat && c < h.limitCelsius - h.hysteresisCelsius) this.heat = false;
  }

  /** The owner is active: pause as decided, or, in throttle mode, keep a few workers on a CPU cap. */
  private throttleOr(paused: PolicyDecision): PolicyDecision {
    if (this.s.whenActive !== 'throttle') return paused;
    const t = this.s.throttle;
    const workers = Math.min(t.workers, this.maxWorkers);
    const pct = Math.min(t.cpuLimitPercent, this.s.cpuLimitPercent);
    const duty = dutyCycle(pct, this.s.dutyPeriodMs);
    const why = paused.reason.replace(/^Paused: /, 'Throttled: ');
    return {
      state: 'working',
      cause: paused.cause,
      reason: `${why} · ${workers} worker${workers === 1 ? '' : 's'} at ${pct} % CPU`,
      workers,
      runLimit: workers,
      suspend: false,
      ...(paused.until !== undefined ? { until: paused.until } : {}),
      ...(duty ? { duty } : {}),
    };
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
    // A fleet policy's maxWorkers holds at once (the owner's own takes effect at the next start).
    const fleetMax = this.fleetState?.policy?.settings.maxWorkers !== undefined;
    if (fleetMax)
      why += ` · at most ${this.maxWorkers} worker${this.maxWorkers === 1 ? '' : 's'} (fleet policy)`;
    return {
      state: 'working',
      cause: 'none',
      reason: why,
      workers: this.maxWorkers,
      suspend: false,
      ...(fleetMax ? { runLimit: this.maxWorkers } : {}),
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
