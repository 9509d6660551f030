// Fleet policy rules (docs/fleet-rollout.md): what "stricter" means per field, the effective policy
// of a contributor, and which owner changes a lock refuses.
import { describe, expect, it } from 'vitest';
import {
  checkFleetPolicy,
  combineFleetPolicies,
  effectivePolicy,
  FleetPolicyError,
  LOCKABLE_FIELDS,
  lockViolations,
  scheduleFromMinutes,
  scheduleMinutes,
  STRICTER,
  type FleetPolicy,
} from '../../../shared/fleet-policy.js';
import { ownerPolicySettingsSchema } from '../../../shared/owner-policy.js';

const own = (x: object = {}) => ownerPolicySettingsSchema.parse(x);
const weekdays = [{ days: [1, 2, 3, 4, 5], from: '18:00', to: '08:00' }];
const policy = (settings: Record<string, unknown>, locked: string[] = []): FleetPolicy => ({
  settings,
  locked: locked as FleetPolicy['locked'],
  by: 'ada',
  reason: 'lab benches',
});

describe('stricter, per field', () => {
  it('orders numbers, choices and schedules the way an owner would expect', () => {
    expect(STRICTER.maxWorkers.atLeast(1, 'auto')).toBe(true);
    expect(STRICTER.maxWorkers.atLeast('auto', 1)).toBe(false);
    expect(STRICTER.maxWorkers.atLeast(1, 2)).toBe(true);
    expect(STRICTER.idleMinutes.atLeast(10, 5)).toBe(true);
    expect(STRICTER.idleMinutes.atLeast(1, 5)).toBe(false);
    expect(STRICTER.cpuLimitPercent.atLeast(50, 80)).toBe(true);
    expect(STRICTER.computeWhen.atLeast('idle', 'always')).toBe(true);
    expect(STRICTER.computeWhen.atLeast('always', 'idle')).toBe(false);
    expect(STRICTER.onBattery.atLeast('run', 'pause')).toBe(false);
    expect(STRICTER.whenActive.atLeast('pause', 'throttle')).toBe(true);
    expect(STRICTER.pauseWhenFullScreen.atLeast(false, true)).toBe(false);
    // A schedule is stricter when it allows only times inside the other; empty = any time.
    const nights = [{ days: [1, 2, 3], from: '20:00', to: '06:00' }];
    expect(STRICTER.schedule.atLeast(nights, weekdays)).toBe(true);
    expect(STRICTER.schedule.atLeast(weekdays, nights)).toBe(false);
    expect(STRICTER.schedule.atLeast([], weekdays)).toBe(false);
    expect(STRICTER.schedule.atLeast(weekdays, [])).toBe(true);
    // Busy programs: every locked program must stay on the list.
    expect(STRICTER.busyPrograms.atLeast({ linux: ['zoom', 'obs'] }, { linux: ['ZOOM'] })).toBe(
      true,
    );
    expect(STRICTER.busyPrograms.atLeast({ linux: ['obs'] }, { linux: ['zoom'] })).toBe(false);
  });

  it('lays two schedules together as the times both allow', () => {
    const a = [{ days: [1], from: '08:00', to: '12:00' }];
    const b = [{ days: [1], from: '10:00', to: '14:00' }];
    expect(STRICTER.schedule.stricter(a, b)).toEqual([{ days: [1], from: '10:00', to: '12:00' }]);
    // Round trip through minutes, across midnight.
    const back = scheduleFromMinutes(scheduleMinutes(weekdays));
    expect(scheduleMinutes(back)).toEqual(scheduleMinutes(weekdays));
  });

  it('has an order for every lockable field', () => {
    for (const f of LOCKABLE_FIELDS) expect(STRICTER[f], f).toBeDefined();
  });
});

describe('checking an admin policy', () => {
  it('accepts a subset of owner-policy fields and the locks it sets', () => {
    const p = checkFleetPolicy({ maxWorkers: 1, throttle: { workers: 1 } }, [
      'maxWorkers',
      'throttle.workers',
    ]);
    expect(p.locked).toEqual(['maxWorkers', 'throttle.workers']);
    expect(p.settings).toEqual({ maxWorkers: 1, throttle: { workers: 1 } });
  });

  it('names the bad field, the unknown field and the unknown lock', () => {
    expect(() => checkFleetPolicy({ maxWorkers: 0 }, [])).toThrow(/maxWorkers/);
    expect(() => checkFleetPolicy({ colour: 'red' }, [])).toThrow(/colour/);
    expect(() => checkFleetPolicy({ maxWorkers: 1 }, ['colour'])).toThrow(
      /cannot lock "colour": not a lockable field/,
    );
    expect(() => checkFleetPolicy({ maxWorkers: 1 }, ['idleMinutes'])).toThrow(
      /cannot lock idleMinutes: the policy does not set it/,
    );
    expect(() => checkFleetPolicy([], [])).toThrow(FleetPolicyError);
  });
});

describe('the effective policy', () => {
  it('applies an unlocked fleet value only where the owner kept the default', () => {
    const fleet = policy({ idleMinutes: 15, cpuLimitPercent: 50 });
    const e = effectivePolicy(own({ cpuLimitPercent: 80 }), fleet);
    expect(e.idleMinutes).toBe(15);
    expect(e.cpuLimitPercent).toBe(80);
  });

  it('holds a locked field to the stricter of the owner and the fleet', () => {
    const fleet = policy({ maxWorkers: 1, cpuLimitPercent: 50 }, ['maxWorkers', 'cpuLimitPercent']);
    expect(effectivePolicy(own({ maxWorkers: 'auto', cpuLimitPercent: 30 }), fleet)).toMatchObject({
      maxWorkers: 1,
      cpuLimitPercent: 30,
    });
    const nights = policy({ schedule: weekdays }, ['schedule']);
    expect(effectivePolicy(own(), nights).schedule).toEqual(
      scheduleFromMinutes(scheduleMinutes(weekdays)),
    );
  });

  it('refuses an owner change that loosens a locked field, with who and why', () => {
    const fleet = policy({ maxWorkers: 1 }, ['maxWorkers']);
    const before = own();
    expect(lockViolations(before, own({ maxWorkers: 4 }), fleet)[0]).toMatch(
      /maxWorkers is locked at 1 \(by ada: lab benches\); you may only make it stricter: lower/,
    );
    expect(lockViolations(before, own({ maxWorkers: 1 }), fleet)).toEqual([]);
    // Unchanged (the owner saves another field) is not a violation.
    expect(lockViolations(before, own({ idleMinutes: 9 }), fleet)).toEqual([]);
    expect(lockViolations(before, own({ maxWorkers: 4 }), null)).toEqual([]);
  });

  it('combines group and machine policies: the stricter value wins, locks add up', () => {
    const combined = combineFleetPolicies([
      { source: 'group:lab', policy: policy({ maxWorkers: 2, idleMinutes: 10 }, ['maxWorkers']) },
      {
        source: 'machine:m1',
        policy: policy({ maxWorkers: 4, cpuLimitPercent: 50 }, ['cpuLimitPercent']),
      },
    ]);
    expect(combined?.settings).toEqual({ maxWorkers: 2, idleMinutes: 10, cpuLimitPercent: 50 });
    expect(combined?.locked.sort()).toEqual(['cpuLimitPercent', 'maxWorkers']);
    expect(combined?.sources).toEqual({ maxWorkers: 'group:lab', cpuLimitPercent: 'machine:m1' });
  });
});
