// Fleet policy (docs/fleet-rollout.md): owner-policy fields an admin sets for a group or a machine,
// some locked; what "stricter" means per field, and the effective policy of a contributor.
import { z } from 'zod';
import {
  DEFAULT_OWNER_POLICY,
  ownerPolicySettingsSchema,
  type OwnerPolicySettings,
  type ScheduleWindow,
} from './owner-policy.js';
import { fieldIssues } from './validate.js';

/**
 * The fields an admin may lock, each with its order: a locked field may only be made stricter by
 * the owner. Nested fields are named with a dot (`throttle.workers`).
 */
export const LOCKABLE_FIELDS = [
  'computeWhen',
  'idleMinutes',
  'maxWorkers',
  'cpuLimitPercent',
  'onBattery',
  'schedule',
  'whenActive',
  'throttle.workers',
  'throttle.cpuLimitPercent',
  'busyPrograms',
  'pauseWhenFullScreen',
  'heat.enabled',
  'heat.limitCelsius',
  'cpu.busyAbovePercent',
] as const;
export type LockableField = (typeof LOCKABLE_FIELDS)[number];

export const fleetGroupSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'a group is 1-64 letters, digits, ".", "_" or "-"');
export const fleetGroupsSchema = z.array(fleetGroupSchema).max(20);

/** Owner-policy fields as an admin gives them: any subset, nested objects in part. */
export type FleetSettings = Record<string, unknown>;

export const fleetPolicyBodySchema = z.strictObject({
  settings: z.record(z.string(), z.unknown()),
  lock: z.array(z.string().max(100)).max(LOCKABLE_FIELDS.length).default([]),
  reason: z.string().max(500).optional(),
});
export type FleetPolicyBody = z.infer<typeof fleetPolicyBodySchema>;

/** A fleet policy as stored and sent: the fields set, those locked, and who set them and why. */
export const fleetPolicySchema = z.strictObject({
  settings: z.record(z.string(), z.unknown()),
  locked: z.array(z.enum(LOCKABLE_FIELDS)),
  by: z.string().max(200).optional(),
  reason: z.string().max(500).optional(),
  at: z.number().optional(),
  /** Where each locked field comes from (`group:lab`, `machine:ID`). */
  sources: z.record(z.string(), z.string()).optional(),
});
export type FleetPolicy = z.infer<typeof fleetPolicySchema>;

/** Remote control of a machine: none, paused (work suspended), draining (finish, take no more). */
export const FLEET_CONTROLS = ['none', 'paused', 'draining'] as const;
export type FleetControl = (typeof FLEET_CONTROLS)[number];
export const fleetControlSchema = z.strictObject({
  state: z.enum(FLEET_CONTROLS),
  by: z.string().max(200).optional(),
  reason: z.string().max(500).optional(),
  at: z.number().optional(),
});
export type FleetControlState = z.infer<typeof fleetControlSchema>;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `base` with `over` laid on top, objects merged key by key (arrays replace). */
export function deepMerge<T>(base: T, over: unknown): T {
  if (!isPlainObject(base) || !isPlainObject(over)) return (over === undefined ? base : over) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(out[k], v);
  return out as T;
}

/**
 * Checks an admin's policy: every field must be an owner-policy field with a valid value, and every
 * lock a lockable field the policy sets. Returns the settings as given (only those fields).
 */
export function checkFleetPolicy(
  settings: unknown,
  lock: readonly string[],
): { settings: FleetSettings; locked: LockableField[] } {
  if (!isPlainObject(settings))
    throw new FleetPolicyError('a fleet policy is an object of owner-policy fields');
  const merged = ownerPolicySettingsSchema.safeParse(deepMerge(DEFAULT_OWNER_POLICY, settings));
  if (!merged.success)
    throw new FleetPolicyError(
      fieldIssues(merged.error)
        .map((x) => `${x.field}: ${x.message}`)
        .join('; '),
    );
  const locked: LockableField[] = [];
  for (const f of lock) {
    if (!(LOCKABLE_FIELDS as readonly string[]).includes(f))
      throw new FleetPolicyError(
        `cannot lock ${JSON.stringify(f)}: not a lockable field (lockable: ${LOCKABLE_FIELDS.join(', ')})`,
      );
    if (getPath(settings, f) === undefined)
      throw new FleetPolicyError(`cannot lock ${f}: the policy does not set it`);
    if (!locked.includes(f as LockableField)) locked.push(f as LockableField);
  }
  return { settings, locked };
}

export class FleetPolicyError extends Error {}

export function getPath(o: unknown, path: string): unknown {
  let v: unknown = o;
  for (const k of path.split('.')) v = isPlainObject(v) ? v[k] : undefined;
  return v;
}

function setPath<T>(o: T, path: string, value: unknown): T {
  const [head, ...rest] = path.split('.');
  const obj = { ...(o as Record<string, unknown>) };
  obj[head!] = rest.length === 0 ? value : setPath(obj[head!] ?? {}, rest.join('.'), value);
  return obj as T;
}

// ---- stricter, per field ---------------------------------------------------------------------

const WEEK_MINUTES = 7 * 24 * 60;

function hhmm(s: string): number {
  const [h, m] = s.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

/** The minutes of a week (Sunday 00:00 = 0) a schedule allows; empty schedule = all of them. */
export function scheduleMinutes(windows: readonly ScheduleWindow[]): Uint8Array {
  const week = new Uint8Array(WEEK_MINUTES);
  if (windows.length === 0) return week.fill(1);
  for (const w of windows) {
    const from = hhmm(w.from);
    let len = hhmm(w.to) - from;
    if (len <= 0) len += 24 * 60;
    for (const d of w.days)
      for (let m = 0; m < len; m++) week[(d * 1440 + from + m) % WEEK_MINUTES] = 1;
  }
  return week;
}

/** Windows (one per day and run of minutes) that allow exactly `week`'s minutes. */
export function scheduleFromMinutes(week: Uint8Array): ScheduleWindow[] {
  if (week.every((v) => v === 1)) return [];
  const pad = (n: number) => String(n).padStart(2, '0');
  const t = (m: number) => `${pad(Math.floor(m / 60) % 24)}:${pad(m % 60)}`;
  const out: ScheduleWindow[] = [];
  for (let d = 0; d < 7; d++) {
    let m = 0;
    while (m < 1440) {
      if (!week[d * 1440 + m]) {
        m++;
        continue;
      }
      const start = m;
      while (m < 1440 && week[d * 1440 + m]) m++;
      // A run to midnight ends at 00:00 (past midnight by zero minutes); a whole day is 00:00-00:00.
      out.push({ days: [d], from: t(start), to: t(m === 1440 ? 0 : m) });
    }
  }
  // A window of no minutes cannot be said; nothing allowed is one minute a week (Sun 00:00).
  return out.length > 0 ? out : [{ days: [0], from: '00:00', to: '00:01' }];
}

type Order = {
  /** a is at least as strict as b. */
  atLeast(a: unknown, b: unknown): boolean;
  /** The stricter of the two (for schedules: both at once). */
  stricter(a: unknown, b: unknown): unknown;
  /** In words, for the owner: what "stricter" means here. */
  means: string;
};

const lower = (means = 'lower'): Order => ({
  atLeast: (a, b) => (a as number) <= (b as number),
  stricter: (a, b) => Math.min(a as number, b as number),
  means,
});
const higher = (means = 'higher'): Order => ({
  atLeast: (a, b) => (a as number) >= (b as number),
  stricter: (a, b) => Math.max(a as number, b as number),
  means,
});
const oneOf = (strictFirst: readonly unknown[], means: string): Order => ({
  atLeast: (a, b) => strictFirst.indexOf(a) <= strictFirst.indexOf(b),
  stricter: (a, b) => (strictFirst.indexOf(a) <= strictFirst.indexOf(b) ? a : b),
  means,
});
const workers = (v: unknown) => (v === 'auto' ? Infinity : (v as number));

export const STRICTER: Record<LockableField, Order> = {
  computeWhen: oneOf(['idle', 'always'], '"idle" (stricter than "always")'),
  idleMinutes: higher('higher (wait longer before computing)'),
  maxWorkers: {
    atLeast: (a, b) => workers(a) <= workers(b),
    stricter: (a, b) => (workers(a) <= workers(b) ? a : b),
    means: 'lower (a number is stricter than "auto")',
  },
  cpuLimitPercent: lower(),
  onBattery: oneOf(['pause', 'run'], '"pause" (stricter than "run")'),
  schedule: {
    atLeast: (a, b) => {
      const [x, y] = [
        scheduleMinutes(a as ScheduleWindow[]),
        scheduleMinutes(b as ScheduleWindow[]),
      ];
      return x.every((v, i) => !v || y[i] === 1);
    },
    stricter: (a, b) => {
      const [x, y] = [
        scheduleMinutes(a as ScheduleWindow[]),
        scheduleMinutes(b as ScheduleWindow[]),
      ];
      return scheduleFromMinutes(x.map((v, i) => v & y[i]!));
    },
    means: 'narrower (only times inside the locked schedule)',
  },
  whenActive: oneOf(['pause', 'throttle'], '"pause" (stricter than "throttle")'),
  'throttle.workers': lower(),
  'throttle.cpuLimitPercent': lower(),
  busyPrograms: {
    atLeast: (a, b) => {
      const [x, y] = [a as Record<string, string[]>, b as Record<string, string[]>];
      return Object.keys(y).every((p) => {
        const have = new Set((x[p] ?? []).map((n) => n.toLowerCase()));
        return (y[p] ?? []).every((n) => have.has(n.toLowerCase()));
      });
    },
    stricter: (a, b) => {
      const [x, y] = [a as Record<string, string[]>, b as Record<string, string[]>];
      const out: Record<string, string[]> = {};
      for (const p of new Set([...Object.keys(x), ...Object.keys(y)])) {
        const names = [...(x[p] ?? [])];
        const have = new Set(names.map((n) => n.toLowerCase()));
        for (const n of y[p] ?? []) if (!have.has(n.toLowerCase())) names.push(n);
        out[p] = names;
      }
      return out;
    },
    means: 'more programs (every locked program stays on the list)',
  },
  pauseWhenFullScreen: oneOf([true, false], 'on'),
  'heat.enabled': oneOf([true, false], 'on'),
  'heat.limitCelsius': lower(),
  'cpu.busyAbovePercent': lower('lower (pause at less load from other programs)'),
};

/** Fleet policies that apply to one machine, laid together: on a field set twice, the stricter wins. */
export function combineFleetPolicies(
  policies: readonly { source: string; policy: FleetPolicy }[],
): FleetPolicy | null {
  if (policies.length === 0) return null;
  let settings: FleetSettings = {};
  const locked = new Set<LockableField>();
  const sources: Record<string, string> = {};
  for (const { source, policy } of policies) {
    for (const f of LOCKABLE_FIELDS) {
      const v = getPath(policy.settings, f);
      const had = getPath(settings, f);
      if (v !== undefined && had !== undefined)
        settings = setPath(settings, f, STRICTER[f].stricter(had, v));
    }
    settings = deepMerge(policy.settings, settings);
    for (const f of policy.locked) {
      locked.add(f);
      sources[f] ??= source;
    }
  }
  const last = policies[policies.length - 1]!.policy;
  return {
    settings,
    locked: [...locked],
    sources,
    ...(last.by !== undefined ? { by: last.by } : {}),
    ...(last.reason !== undefined ? { reason: last.reason } : {}),
    ...(last.at !== undefined ? { at: last.at } : {}),
  };
}

/**
 * The policy a contributor runs: the owner's settings, with the fleet's unlocked values where the
 * owner kept the default, and each locked field the stricter of the owner's and the fleet's.
 */
export function effectivePolicy(
  own: OwnerPolicySettings,
  fleet: FleetPolicy | null | undefined,
): OwnerPolicySettings {
  if (!fleet) return own;
  let out = own;
  const locked = new Set<string>(fleet.locked);
  const visit = (path: string, fleetValue: unknown) => {
    const ownValue = getPath(own, path);
    if (locked.has(path)) {
      const order = STRICTER[path as LockableField];
      out = setPath(out, path, order.stricter(ownValue, fleetValue));
    } else if (isPlainObject(fleetValue) && path !== 'busyPrograms') {
      for (const [k, v] of Object.entries(fleetValue)) visit(`${path}.${k}`, v);
    } else if (JSON.stringify(ownValue) === JSON.stringify(getPath(DEFAULT_OWNER_POLICY, path))) {
      out = setPath(out, path, fleetValue);
    }
  };
  for (const [k, v] of Object.entries(fleet.settings)) visit(k, v);
  // Values laid together may break a cross-field rule (quiet below busy): then the owner's stands.
  const checked = ownerPolicySettingsSchema.safeParse(out);
  return checked.success ? checked.data : own;
}

/** Why `next` may not be saved by the owner: a locked field made looser than the fleet's value. */
export function lockViolations(
  before: OwnerPolicySettings,
  next: OwnerPolicySettings,
  fleet: FleetPolicy | null | undefined,
): string[] {
  if (!fleet) return [];
  const out: string[] = [];
  for (const f of fleet.locked) {
    const order = STRICTER[f];
    const fleetValue = getPath(fleet.settings, f);
    const [was, now] = [getPath(before, f), getPath(next, f)];
    if (JSON.stringify(was) === JSON.stringify(now)) continue;
    if (order.atLeast(now, fleetValue)) continue;
    const who = [fleet.by ? `by ${fleet.by}` : '', fleet.sources?.[f] ?? '']
      .filter(Boolean)
      .join(', ');
    out.push(
      `${f} is locked at ${JSON.stringify(fleetValue)}${who ? ` (${who}${fleet.reason ? `: ${fleet.reason}` : ''})` : ''}; you may only make it stricter: ${order.means}`,
    );
  }
  return out;
}
