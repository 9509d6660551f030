// The owner's newer rules under an injected clock and timer: a busy program, a full-screen window,
// the CPU's heat (with hysteresis) and throttle mode, each driven through the PolicyDriver sample by
// sample as the contributor runs it (no real clock, no Electron, no real sensors).
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_OWNER_POLICY,
  ownerPolicySettingsSchema,
  type OwnerPolicySettingsInput,
  type PolicyDecision,
} from '../../../../../shared/owner-policy.js';
import {
  OwnerPolicy,
  type PolicySample,
} from '../../../../../electron/grid/contributor/policy/owner-policy.js';
import {
  PolicyDriver,
  type DriverTimers,
} from '../../../../../electron/grid/contributor/policy/policy-driver.js';
import {
  programKey,
  runningBusyPrograms,
} from '../../../../../electron/grid/contributor/policy/owner-policy-programs.js';

const SAMPLE_MS = 2_000;
/** Monday 6 January 2025, 09:00 local time. */
const T0 = new Date(2025, 0, 6, 9, 0, 0).getTime();

type Machine = Omit<PolicySample, 'now'>;

/** A driver on a clock and timer the test moves: `step()` is one sample interval. */
function rig(
  settings: OwnerPolicySettingsInput,
  given: Machine,
  platform: NodeJS.Platform = 'linux',
) {
  const machine = { ...given };
  let now = T0;
  let fire: (() => void) | undefined;
  const timers: DriverTimers = {
    setInterval: (fn) => (fire = fn),
    clearInterval: () => (fire = undefined),
  };
  const policy = new OwnerPolicy(ownerPolicySettingsSchema.parse(settings), { cores: 4, platform });
  const driver = new PolicyDriver({
    policy,
    sample: () => ({ ...machine }),
    now: () => now,
    timers,
    intervalMs: SAMPLE_MS,
  });
  const changes: PolicyDecision[] = [];
  driver.on('change', (d) => changes.push(d));
  driver.start();
  return {
    driver,
    changes,
    machine,
    /** One sample interval passes. */
    step(): PolicyDecision {
      now += SAMPLE_MS;
      fire?.();
      return driver.current();
    },
  };
}

const desk: Machine = { userIdleMs: 60 * 60_000, otherCpuLoad: 0, onBattery: false };

describe('busy programs', () => {
  it('suspends within one sample of a listed program appearing and resumes when it ends', () => {
    const r = rig({}, { ...desk, programs: new Set(['bash', 'firefox']) });
    expect(r.driver.current()).toMatchObject({ state: 'working', suspend: false });
    r.machine.programs = new Set(['bash', 'firefox', 'zoom']);
    const d = r.step();
    expect(d).toMatchObject({
      state: 'paused',
      cause: 'program',
      reason: 'Paused: zoom is running',
      suspend: true,
      workers: 0,
    });
    expect(r.changes.at(-1)).toBe(d);
    r.machine.programs = new Set(['bash']);
    expect(r.step()).toMatchObject({ state: 'working', suspend: false });
  });

  it('uses this platform’s list, without case or .exe, and the owner’s own entries', () => {
    const win = rig({}, { ...desk, programs: new Set([programKey('ZOOM.EXE')]) }, 'win32');
    expect(win.driver.current().reason).toBe('Paused: Zoom is running');
    // zoom.us is on the macOS list, not on Linux's.
    const linux = rig({}, { ...desk, programs: new Set(['zoom.us']) }, 'linux');
    expect(linux.driver.current().state).toBe('working');
    const own = rig(
      { busyPrograms: { linux: ['colony-busy-game'] } },
      { ...desk, programs: new Set(['zoom', 'colony-busy-game']) },
    );
    expect(own.driver.current().reason).toBe('Paused: colony-busy-game is running');
    // An empty list turns the rule off.
    const none = rig({ busyPrograms: { linux: [] } }, { ...desk, programs: new Set(['zoom']) });
    expect(none.driver.current().state).toBe('working');
  });

  it('pauses in "always" mode too, and cannot-list is no reason to pause', () => {
    const r = rig(
      { computeWhen: 'always' },
      { ...desk, userIdleMs: 0, programs: new Set(['obs']) },
    );
    expect(r.driver.current()).toMatchObject({
      cause: 'program',
      reason: 'Paused: obs is running',
    });
    const blind = rig({}, { ...desk, unknown: { programs: 'tasklist: not found' } });
    expect(blind.driver.current().state).toBe('working');
  });

  it('matches names the platform cut short (Linux comm keeps 15 characters)', () => {
    const running = new Set(['colony-busy-gam', 'sh']);
    expect(runningBusyPrograms(['colony-busy-game', 'colony-busy'], running)).toEqual([
      'colony-busy-game',
    ]);
    expect(runningBusyPrograms(['Microsoft PowerPoint'], new Set(['microsoft power']))).toEqual([
      'Microsoft PowerPoint',
    ]);
  });

  it('refuses a bad list with the field named', () => {
    const bad = ownerPolicySettingsSchema.safeParse({ busyPrograms: { linux: ['zoom', ''] } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => i.path.join('.'))).toEqual(['busyPrograms.linux.1']);
    expect(DEFAULT_OWNER_POLICY.busyPrograms.windows).toContain('Zoom.exe');
  });
});

describe('full-screen window', () => {
  it('suspends within one sample of a full-screen window coming to the front', () => {
    const r = rig({}, { ...desk, fullScreen: false });
    expect(r.driver.current().state).toBe('working');
    r.machine.fullScreen = true;
    expect(r.step()).toMatchObject({
      state: 'paused',
      cause: 'fullscreen',
      reason: 'Paused: a full-screen window is in front',
      suspend: true,
    });
    r.machine.fullScreen = false;
    expect(r.step().state).toBe('working');
  });

  it('is ignored when switched off or when the desktop cannot tell', () => {
    expect(
      rig({ pauseWhenFullScreen: false }, { ...desk, fullScreen: true }).driver.current().state,
    ).toBe('working');
    const blind = rig({}, { ...desk, unknown: { fullScreen: 'Wayland does not tell' } });
    expect(blind.driver.current().state).toBe('working');
  });
});

describe('heat', () => {
  it('pauses above the limit and resumes only below limit − hysteresis', () => {
    const r = rig(
      { heat: { limitCelsius: 85, hysteresisCelsius: 10 } },
      { ...desk, cpuCelsius: 70 },
    );
    const at = (c: number) => {
      r.machine.cpuCelsius = c;
      return r.step();
    };
    expect(r.driver.current().state).toBe('working');
    expect(at(85).state).toBe('working'); // at the limit is not over it
    expect(at(86)).toMatchObject({
      state: 'paused',
      cause: 'heat',
      reason: 'Paused: the CPU is hot (86 °C, limit 85 °C)',
      suspend: true,
    });
    // Cooling through the band: still paused, and it says so.
    expect(at(80)).toMatchObject({
      state: 'paused',
      reason: 'Paused: the CPU is cooling down (80 °C, resumes below 75 °C)',
    });
    expect(at(75).state).toBe('paused');
    expect(at(74.5).state).toBe('working');
    // Back into the band from below does not pause: only over the limit does.
    expect(at(84).state).toBe('working');
  });

  it('does not flap when the temperature wobbles around the limit', () => {
    const r = rig(
      { heat: { limitCelsius: 85, hysteresisCelsius: 10 } },
      { ...desk, cpuCelsius: 84 },
    );
    for (let i = 0; i < 100; i++) {
      r.machine.cpuCelsius = 84 + 4 * Math.sin(i / 3); // 80..88
      r.step();
    }
    expect(r.changes.map((d) => d.state)).toEqual(['working', 'paused']);
  });

  it('without a sensor, or switched off, it never pauses', () => {
    const none = rig({}, { ...desk, unknown: { temperature: 'no CPU temperature sensor found' } });
    expect(none.driver.current().state).toBe('working');
    expect(
      rig({ heat: { enabled: false } }, { ...desk, cpuCelsius: 110 }).driver.current().state,
    ).toBe('working');
    const bad = ownerPolicySettingsSchema.safeParse({
      heat: { limitCelsius: 40, hysteresisCelsius: 45 },
    });
    expect(bad.error?.issues.map((i) => i.path.join('.'))).toEqual(['heat.hysteresisCelsius']);
  });
});

describe('throttle while the owner is active', () => {
  it('keeps N workers on the CPU cap instead of pausing when the owner comes back', () => {
    const r = rig(
      { whenActive: 'throttle', throttle: { workers: 1, cpuLimitPercent: 25 }, dutyPeriodMs: 1000 },
      desk,
    );
    expect(r.driver.current()).toMatchObject({ state: 'working', cause: 'none', workers: 3 });
    expect(r.driver.current().runLimit).toBeUndefined();
    r.machine.userIdleMs = 0;
    const d = r.step();
    expect(d).toMatchObject({
      state: 'working',
      cause: 'user',
      suspend: false,
      workers: 1,
      runLimit: 1,
      reason: 'Throttled: you are using this computer · 1 worker at 25 % CPU',
      duty: { runMs: 250, stopMs: 750 },
    });
    // The cap is what the duty cycle gives: run time over the period.
    expect(d.duty!.runMs / (d.duty!.runMs + d.duty!.stopMs)).toBeLessThanOrEqual(0.25);
    expect(r.changes.at(-1)).toBe(d);
  });

  it('throttles under other programs’ CPU load too, but still pauses for programs, heat and remote use', () => {
    const base = { whenActive: 'throttle' as const, cpu: { smoothingSeconds: 0 } };
    const busy = rig(base, { ...desk, otherCpuLoad: 0.9 });
    expect(busy.driver.current()).toMatchObject({ cause: 'cpu', runLimit: 1, suspend: false });
    expect(busy.driver.current().reason).toMatch(/^Throttled: other programs are using the CPU/);
    expect(
      rig(base, { ...desk, userIdleMs: 0, programs: new Set(['zoom']) }).driver.current(),
    ).toMatchObject({ cause: 'program', suspend: true });
    expect(rig(base, { ...desk, userIdleMs: 0, cpuCelsius: 99 }).driver.current()).toMatchObject({
      cause: 'heat',
      suspend: true,
    });
    expect(
      rig(base, { ...desk, remoteSession: true, userIdleMs: 0 }).driver.current(),
    ).toMatchObject({
      cause: 'remote',
      suspend: true,
    });
  });

  it('never raises the cap above the owner’s general CPU limit, nor the workers above the maximum', () => {
    const r = rig(
      {
        whenActive: 'throttle',
        throttle: { workers: 8, cpuLimitPercent: 50 },
        cpuLimitPercent: 20,
      },
      { ...desk, userIdleMs: 0 },
    );
    expect(r.driver.current()).toMatchObject({ workers: 3, runLimit: 3 });
    expect(r.driver.current().reason).toMatch(/3 workers at 20 % CPU$/);
  });
});
