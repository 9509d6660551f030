// The owner's policy settings of a contributor (docs/owner-policy.md) with their defaults, and the decision the
// policy hands to the manager, the tray and the coordinator.
import { z } from 'zod';

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24 h)');

/** One window of the schedule; `to` before `from` runs past midnight into the next day. */
export const scheduleWindowSchema = z.strictObject({
  /** 0 = Sunday … 6 = Saturday; the day the window starts. @defaultValue every day */
  days: z.array(z.number().int().min(0).max(6)).min(1).max(7).default([0, 1, 2, 3, 4, 5, 6]),
  from: hhmm,
  to: hhmm,
});
export type ScheduleWindow = z.infer<typeof scheduleWindowSchema>;

export const cpuSettingsSchema = z
  .strictObject({
    /** Other processes above this (smoothed) mean the machine is in use. @defaultValue 25 */
    busyAbovePercent: z.number().min(1).max(100).default(25),
    /** …and they must drop below this before we compute again (hysteresis band). @defaultValue 15 */
    quietBelowPercent: z.number().min(0).max(100).default(15),
    /** Time constant of the load's moving average; short spikes are smoothed away. @defaultValue 10 */
    smoothingSeconds: z.number().min(0).max(3600).default(10),
    /** The load must stay quiet this long before we resume (the minimum dwell). @defaultValue 60 */
    quietForSeconds: z.number().min(0).max(86_400).default(60),
  })
  .refine((c) => c.quietBelowPercent < c.busyAbovePercent, {
    message: 'quietBelowPercent must be below busyAbovePercent',
    path: ['quietBelowPercent'],
  });

/** Executable names, compared without case and without a trailing `.exe`. */
const programNames = z.array(z.string().trim().min(1).max(255)).max(500);

/**
 * Programs whose running pauses work at once, per platform (the contributor uses its own
 * platform's list): meeting, streaming and presentation programs that run only while in use, and
 * some well-known games. Programs that start with the desktop and stay (e.g. Teams, Slack) are
 * left out: they would pause the machine all day.
 */
export const DEFAULT_BUSY_PROGRAMS = {
  linux: ['zoom', 'obs', 'skypeforlinux', 'teams-for-linux', 'pdfpc', 'impressive', 'gamescope'],
  windows: [
    'Zoom.exe',
    'CptHost.exe',
    'atmgr.exe',
    'obs64.exe',
    'POWERPNT.EXE',
    'cs2.exe',
    'dota2.exe',
    'VALORANT-Win64-Shipping.exe',
    'FortniteClient-Win64-Shipping.exe',
    'League of Legends.exe',
    'RocketLeague.exe',
    'GTA5.exe',
    'Minecraft.Windows.exe',
    'RobloxPlayerBeta.exe',
  ],
  mac: ['zoom.us', 'CptHost', 'obs', 'Keynote', 'Microsoft PowerPoint'],
} as const;

export const busyProgramsSchema = z.strictObject({
  linux: programNames.default([...DEFAULT_BUSY_PROGRAMS.linux]),
  windows: programNames.default([...DEFAULT_BUSY_PROGRAMS.windows]),
  mac: programNames.default([...DEFAULT_BUSY_PROGRAMS.mac]),
});
export type BusyPrograms = z.infer<typeof busyProgramsSchema>;
export type ProgramPlatform = keyof BusyPrograms;

/** The busy-program list that applies on `platform` (Node's `process.platform`). */
export function programPlatform(platform: string): ProgramPlatform {
  return platform === 'win32' ? 'windows' : platform === 'darwin' ? 'mac' : 'linux';
}

export const heatSettingsSchema = z
  .strictObject({
    /** Pause above the CPU temperature `limitCelsius`. @defaultValue true */
    enabled: z.boolean().default(true),
    /** @defaultValue 90 */
    limitCelsius: z.number().min(30).max(120).default(90),
    /** Resume only below limit − hysteresis. @defaultValue 10 */
    hysteresisCelsius: z.number().min(1).max(50).default(10),
  })
  .refine((h) => h.hysteresisCelsius < h.limitCelsius, {
    message: 'hysteresisCelsius must be below limitCelsius',
    path: ['hysteresisCelsius'],
  });

export const throttleSettingsSchema = z.strictObject({
  /** Workers kept running while the owner is active. @defaultValue 1 */
  workers: z.number().int().min(1).max(1024).default(1),
  /** Share of each kept worker's core (duty cycle). @defaultValue 25 */
  cpuLimitPercent: z.number().int().min(5).max(100).default(25),
});

export const ownerPolicySettingsSchema = z.strictObject({
  /** `idle`: only when no one uses the machine; `always`: whenever schedule and battery allow. @defaultValue 'idle' */
  computeWhen: z.enum(['idle', 'always']).default('idle'),
  /** No keyboard or mouse for this long counts as idle. @defaultValue 5 */
  idleMinutes: z
    .number()
    .min(0)
    .max(24 * 60)
    .default(5),
  cpu: cpuSettingsSchema.prefault({}),
  /** Worker processes; `auto` is cores − 1 (at least 1). @defaultValue 'auto' */
  maxWorkers: z.union([z.literal('auto'), z.number().int().min(1).max(1024)]).default('auto'),
  /** Share of each worker's core; below 100 the workers are duty-cycled. @defaultValue 100 */
  cpuLimitPercent: z.number().int().min(5).max(100).default(100),
  /** Length of one duty cycle (run + stop) when cpuLimitPercent < 100. @defaultValue 1000 */
  dutyPeriodMs: z.number().int().min(100).max(60_000).default(1000),
  /** @defaultValue 'pause' */
  onBattery: z.enum(['pause', 'run']).default('pause'),
  /** When computing is allowed at all; empty = any time. @defaultValue [] */
  schedule: z.array(scheduleWindowSchema).max(50).default([]),
  /** `pause`: stop all work while the owner uses the machine; `throttle`: keep a few workers on a CPU cap. @defaultValue 'pause' */
  whenActive: z.enum(['pause', 'throttle']).default('pause'),
  /** What `throttle` keeps running. */
  throttle: throttleSettingsSchema.prefault({}),
  /** Programs whose running pauses work at once (this platform's list applies). */
  busyPrograms: busyProgramsSchema.prefault({}),
  /** Pause while a full-screen window (game, presentation, video) is in front, where the desktop tells. @defaultValue true */
  pauseWhenFullScreen: z.boolean().default(true),
  /** Pause while the CPU is hot, where the machine has a sensor. */
  heat: heatSettingsSchema.prefault({}),
  /** Attempts suspended longer than this are handed back to the coordinator. @defaultValue 10 */
  vacateAfterMinutes: z
    .number()
    .min(0.001)
    .max(24 * 60)
    .default(10),
});
export type OwnerPolicySettings = z.infer<typeof ownerPolicySettingsSchema>;
export type OwnerPolicySettingsInput = z.input<typeof ownerPolicySettingsSchema>;

export const DEFAULT_OWNER_POLICY: OwnerPolicySettings = ownerPolicySettingsSchema.parse({});

/** Pauses the owner can pick from the tray; each ends by itself except `until-resumed`. */
export const SNOOZE_KINDS = ['1h', 'until-tomorrow', 'until-resumed'] as const;
export type SnoozeKind = (typeof SNOOZE_KINDS)[number];

/** What stopped (or allows) computing; the first that applies wins, in this order. */
export type PolicyCause =
  | 'snooze'
  | 'schedule'
  | 'battery'
  | 'heat'
  | 'program'
  | 'fullscreen'
  | 'remote'
  | 'fleet'
  | 'user'
  | 'cpu'
  | 'none';

export interface DutyCycle {
  runMs: number;
  stopMs: number;
}

export interface PolicyDecision {
  /** working: compute allowed; paused: the owner or the machine needs it; idle: outside the schedule. */
  state: 'working' | 'idle' | 'paused';
  cause: PolicyCause;
  /** In words, for the tray and the coordinator, e.g. "Paused: you are using this computer". */
  reason: string;
  /** Worker slots allowed now (0 when not computing). */
  workers: number;
  /** Stop (SIGSTOP) running attempts now. */
  suspend: boolean;
  /** Epoch ms when this decision ends by itself (snooze end, next schedule window), if known. */
  until?: number;
  /** Set when cpuLimitPercent < 100: run/stop periods for SIGCONT/SIGSTOP cycling. */
  duty?: DutyCycle;
  /** Throttled (`whenActive: throttle`): at most this many attempts run; the rest are held. */
  runLimit?: number;
}

/** Which mode applies while the owner uses the machine, in words (tray and panel). */
export function describeWhenActive(
  s: Pick<OwnerPolicySettings, 'whenActive' | 'throttle'>,
): string {
  if (s.whenActive === 'pause') return 'While you use this computer: pause';
  const n = s.throttle.workers;
  return `While you use this computer: throttle to ${n} worker${n === 1 ? '' : 's'} at ${s.throttle.cpuLimitPercent} % CPU`;
}

/** The part of a decision that goes on the wire (`policyStatusSchema` in protocol.ts). */
export function policyStatus(d: PolicyDecision): {
  state: PolicyDecision['state'];
  reason: string;
  until?: number;
} {
  return {
    state: d.state,
    reason: d.reason.slice(0, 500),
    ...(d.until !== undefined && Number.isFinite(d.until) ? { until: d.until } : {}),
  };
}
