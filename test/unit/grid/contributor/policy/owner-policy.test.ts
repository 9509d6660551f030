// Owner policy over simulated timelines: user active/idle, CPU spikes and oscillation, battery,
// schedule windows and snoozes, asserting each decision and its reason (no clock, no Electron).
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_OWNER_POLICY,
  ownerPolicySettingsSchema,
  type OwnerPolicySettingsInput,
  type PolicyDecision,
} from '../../../../../shared/owner-policy.js';
import {
  dutyCycle,
  OwnerPolicy,
  type PolicySample,
} from '../../../../../electron/grid/contributor/policy/owner-policy.js';

const MIN = 60_000;
/** Monday 6 January 2025, 09:00 local time. */
const T0 = new Date(2025, 0, 6, 9, 0, 0).getTime();

function policy(s: OwnerPolicySettingsInput = {}, cores = 4): OwnerPolicy {
  return new OwnerPolicy(ownerPolicySettingsSchema.parse(s), { cores });
}

type Step = Partial<PolicySample>;
const desk = (userIdleMs: number, extra: Step = {}): Step => ({ userIdleMs, ...extra });

/** Runs the policy every `every` ms from `from` to `to` with samples from `at(t)`; returns decisions. */
function timeline(
  p: OwnerPolicy,
  from: number,
  to: number,
  every: number,
  at: (t: number) => Step,
): { t: number; d: PolicyDecision }[] {
  const out: { t: number; d: PolicyDecision }[] = [];
  for (let t = from; t <= to; t += every)
    out.push({ t, d: p.decide({ now: t, otherCpuLoad: 0, onBattery: false, ...at(t) }) });
  return out;
}

function transitions(ds: { t: number; d: PolicyDecision }[]): { t: number; state: string }[] {
  const out: { t: number; state: string }[] = [];
  for (const { t, d } of ds) if (out.at(-1)?.state !== d.state) out.push({ t, state: d.state });
  return out;
}

describe('owner policy settings', () => {
  it('has the docs/owner-policy.md defaults', () => {
    expect(DEFAULT_OWNER_POLICY).toMatchObject({
      computeWhen: 'idle',
      idleMinutes: 5,
      cpu: { busyAbovePercent: 25, quietBelowPercent: 15 },
      maxWorkers: 'auto',
      cpuLimitPercent: 100,
      onBattery: 'pause',
      schedule: [],
      vacateAfterMinutes: 10,
      whenActive: 'pause',
      throttle: { workers: 1, cpuLimitPercent: 25 },
      pauseWhenFullScreen: true,
      heat: { enabled: true, limitCelsius: 90, hysteresisCelsius: 10 },
    });
    expect(policy({}, 8).maxWorkers).toBe(7);
    expect(policy({}, 1).maxWorkers).toBe(1);
  });

  it('names the bad field', () => {
    const bad = ownerPolicySettingsSchema.safeParse({
      cpu: { busyAbovePercent: 20, quietBelowPercent: 30 },
      schedule: [{ from: '25:00', to: '08:00' }],
    });
    expect(bad.success).toBe(false);
    const fields = bad.error?.issues.map((i) => i.path.join('.'));
    expect(fields).toEqual(expect.arrayContaining(['cpu.quietBelowPercent', 'schedule.0.from']));
  });
});

describe('owner policy decisions', () => {
  it('pauses the moment the user comes back and works again after 5 idle minutes', () => {
    const p = policy();
    // User away 10 min, back at 09:10 (typing for 3 min), then away again.
    const back = T0 + 10 * MIN;
    const gone = back + 3 * MIN;
    const ds = timeline(p, T0, T0 + 30 * MIN, 5_000, (t) =>
      desk(t < back ? 10 * MIN + (t - T0) : t < gone ? 0 : t - gone),
    );
    expect(ds[0]?.d).toMatchObject({ state: 'working', suspend: false, workers: 3 });
    expect(ds[0]?.d.reason).toMatch(/^Working: no one has used this computer for \d+ min$/);
    const atBack = ds.find(({ t }) => t === back)?.d;
    expect(atBack).toMatchObject({
      state: 'paused',
      cause: 'user',
      reason: 'Paused: you are using this computer',
      suspend: true,
      workers: 0,
      until: back + 5 * MIN,
    });
    expect(transitions(ds)).toEqual([
      { t: T0, state: 'working' },
      { t: back, state: 'paused' },
      { t: gone + 5 * MIN, state: 'working' },
    ]);
  });

  it('counts a locked screen as away and a remote-desktop session as in use', () => {
    const p = policy();
    const base = { now: T0, otherCpuLoad: 0, onBattery: false };
    expect(p.decide({ ...base, userIdleMs: 1000, screenLocked: true })).toMatchObject({
      state: 'working',
      reason: 'Working: the screen is locked',
    });
    expect(p.decide({ ...base, userIdleMs: 60 * MIN, remoteSession: true })).toMatchObject({
      state: 'paused',
      cause: 'remote',
      reason: 'Paused: someone is using this computer remotely',
    });
  });

  it('ignores a short CPU spike but steps aside under sustained load, then waits out the dwell', () => {
    const p = policy();
    // A 2 s spike to 90 % at 09:05; sustained 60 % from 09:20 to 09:30.
    const load = (t: number) =>
      t >= T0 + 5 * MIN && t < T0 + 5 * MIN + 2_000
        ? 0.9
        : t >= T0 + 20 * MIN && t < T0 + 30 * MIN
          ? 0.6
          : 0.05;
    const ds = timeline(p, T0, T0 + 40 * MIN, 1_000, (t) =>
      desk(60 * MIN, { otherCpuLoad: load(t) }),
    );
    const tr = transitions(ds);
    expect(tr).toHaveLength(3);
    expect(tr[1]?.state).toBe('paused');
    expect(tr[1]!.t).toBeGreaterThan(T0 + 20 * MIN);
    expect(tr[1]!.t).toBeLessThan(T0 + 20 * MIN + 10_000);
    const paused = ds.find(({ t }) => t === tr[1]!.t)?.d;
    expect(paused?.reason).toMatch(/^Paused: other programs are using the CPU \(\d+ %\)$/);
    // Back to work only once the load stayed below 15 % for the whole 60 s dwell.
    expect(tr[2]?.state).toBe('working');
    expect(tr[2]!.t - (T0 + 30 * MIN)).toBeGreaterThanOrEqual(60_000);
  });

  it('does not flap under oscillating load', () => {
    const p = policy();
    // Square wave 0 % / 50 % with a 20 s period for one hour, sampled every 2 s.
    const ds = timeline(p, T0, T0 + 60 * MIN, 2_000, (t) =>
      desk(60 * MIN, { otherCpuLoad: Math.floor((t - T0) / 10_000) % 2 ? 0.5 : 0 }),
    );
    expect(transitions(ds).length).toBeLessThanOrEqual(2);
    // A load wobbling inside the hysteresis band (12..28 %) never changes a decision either.
    const q = policy();
    const wobble = timeline(q, T0, T0 + 60 * MIN, 1_000, (t) =>
      desk(60 * MIN, { otherCpuLoad: 0.2 + 0.08 * Math.sin((t - T0) / 3_000) }),
    );
    expect(transitions(wobble)).toHaveLength(1);
  });

  it('bounds state changes under any load pattern by the quiet dwell', () => {
    const p = policy({ cpu: { smoothingSeconds: 0, quietForSeconds: 30 } });
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const ds = timeline(p, T0, T0 + 60 * MIN, 1_000, () => desk(60 * MIN, { otherCpuLoad: rnd() }));
    const tr = transitions(ds);
    for (let i = 1; i < tr.length; i++)
      if (tr[i]?.state === 'working')
        expect(tr[i]!.t - tr[i - 1]!.t).toBeGreaterThanOrEqual(30_000);
  });

  it('pauses on battery unless the owner allows it', () => {
    const base = { now: T0, userIdleMs: 60 * MIN, otherCpuLoad: 0, onBattery: true };
    expect(policy().decide(base)).toMatchObject({
      state: 'paused',
      cause: 'battery',
      reason: 'Paused: this computer is running on battery',
      suspend: true,
    });
    expect(policy({ onBattery: 'run' }).decide(base).state).toBe('working');
  });

  it('computes only inside the schedule, across midnight, and says when the next window opens', () => {
    // Weeknights Mon-Fri 18:00 → 08:00 the next morning.
    const p = policy({ schedule: [{ days: [1, 2, 3, 4, 5], from: '18:00', to: '08:00' }] });
    const at = (d: number, h: number, m = 0) => new Date(2025, 0, d, h, m).getTime();
    const decide = (now: number) => p.decide({ now, otherCpuLoad: 0, onBattery: false });
    const noon = decide(at(6, 12));
    expect(noon).toMatchObject({
      state: 'idle',
      cause: 'schedule',
      suspend: true,
      until: at(6, 18),
    });
    expect(noon.reason).toBe('Idle: outside the schedule (Mon,Tue,Wed,Thu,Fri 18:00–08:00)');
    expect(decide(at(6, 18, 1)).state).toBe('working');
    expect(decide(at(7, 7, 59)).state).toBe('working'); // Monday's window, Tuesday morning
    expect(decide(at(7, 8)).state).toBe('idle');
    // Saturday 03:00 still belongs to Friday night; Saturday 18:00 does not open a window.
    expect(decide(at(11, 3)).state).toBe('working');
    const saturday = decide(at(11, 18));
    expect(saturday).toMatchObject({ state: 'idle', until: at(13, 18) });
  });

  it('snoozes for an hour, until tomorrow or until resumed, and snoozes end by themselves', () => {
    const p = policy();
    const idle = (now: number) =>
      p.decide({ now, userIdleMs: 60 * MIN, otherCpuLoad: 0, onBattery: false });
    p.pause('1h', T0);
    expect(idle(T0 + 1000)).toMatchObject({
      state: 'paused',
      cause: 'snooze',
      reason: 'Paused by you until 10:00',
      until: T0 + 60 * MIN,
    });
    expect(idle(T0 + 60 * MIN)).toMatchObject({ state: 'working' });
    expect(p.snooze).toBeUndefined();

    p.pause('until-tomorrow', T0);
    const midnight = new Date(2025, 0, 7).getTime();
    expect(idle(T0 + 5 * MIN)).toMatchObject({
      reason: 'Paused by you until tomorrow 00:00',
      until: midnight,
    });
    expect(idle(midnight - 1).state).toBe('paused');
    expect(idle(midnight).state).toBe('working');

    p.pause('until-resumed', T0);
    const far = idle(T0 + 30 * 24 * 60 * MIN);
    expect(far).toMatchObject({ state: 'paused', reason: 'Paused by you until you resume' });
    expect(far.until).toBeUndefined();
    p.resume();
    expect(idle(T0 + 30 * 24 * 60 * MIN).state).toBe('working');
  });

  it('uses only CPU load and schedule when headless', () => {
    const p = policy();
    const d = p.decide({ now: T0, otherCpuLoad: 0.03, onBattery: false });
    expect(d).toMatchObject({
      state: 'working',
      reason: 'Working: the CPU is free (other programs 3 %)',
    });
    const busy = p.decide({ now: T0 + 30_000, otherCpuLoad: 0.9, onBattery: false });
    expect(busy).toMatchObject({ state: 'paused', cause: 'cpu' });
  });

  it('ignores users and load when the owner says always, and duty-cycles under a CPU limit', () => {
    const p = policy({ computeWhen: 'always', cpuLimitPercent: 30 });
    const d = p.decide({ now: T0, userIdleMs: 0, otherCpuLoad: 1, onBattery: false });
    expect(d).toMatchObject({
      state: 'working',
      reason: 'Working: allowed at any time · limited to 30 % CPU',
      duty: { runMs: 300, stopMs: 700 },
    });
    expect(dutyCycle(100)).toBeUndefined();
    expect(dutyCycle(5, 2000)).toEqual({ runMs: 100, stopMs: 1900 });
  });
});
