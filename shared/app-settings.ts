// Settings of the desktop app (one app, two modes) and the administrator's pre-seeded config that
// an installer leaves beside it (`colony-config.json`), so installs come up paired with no clicks.
import { z } from 'zod';
import { ownerPolicySettingsSchema, SNOOZE_KINDS } from './owner-policy.js';

export const APP_MODES = ['coordinator', 'contributor'] as const;
export type AppMode = (typeof APP_MODES)[number];

/** A machine's tags: its groups on the coordinator (docs/fleet-rollout.md). */
export const contributorTagsSchema = z
  .array(
    z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'a tag is 1-64 letters, digits, ".", "_" or "-"'),
  )
  .max(20);

const joinToken = z
  .string()
  .regex(/^colony1\./, 'must be a join token (colony1.…)')
  .max(2000);
/** The coordinator is HTTPS only, its certificate pinned: a plain-HTTP address is refused. */
const url = z
  .string()
  .regex(/^https:\/\/[^\s/]+/, 'must be an https:// URL (the coordinator is HTTPS only)')
  .max(2000);

/** The longest `--keep-days` (a century): beyond it, keeping jobs for ever is what is meant. */
export const KEEP_DAYS_MAX = 36_500;
/** Days a coordinator keeps a finished or cancelled job after it ended (unset: for ever). */
export const keepDaysSchema = z
  .number()
  .positive('must be a number of days above 0')
  .max(KEEP_DAYS_MAX, `must be at most ${KEEP_DAYS_MAX} days`);

export const appSettingsSchema = z.strictObject({
  version: z.literal(1).default(1),
  /** Unset until the first-run choice; changeable later in settings. */
  mode: z.enum(APP_MODES).optional(),
  /** Start at login. @defaultValue on for contributors, off for coordinators (see `autoStartOf`) */
  autoStart: z.boolean().optional(),
  contributor: z
    .strictObject({
      joinToken: joinToken.optional(),
      coordinatorUrl: url.optional(),
      allowCommands: z.boolean().default(false),
      /** Tags this machine carries: its groups on the coordinator unless an admin sets others. */
      tags: contributorTagsSchema.optional(),
      policy: ownerPolicySettingsSchema.prefault({}),
      /** A pause from the tray, kept across restarts until it ends. */
      snooze: z
        .strictObject({ kind: z.enum(SNOOZE_KINDS), until: z.number().optional() })
        .optional(),
    })
    .prefault({}),
  coordinator: z
    .strictObject({
      port: z.number().int().min(0).max(65535).default(7070),
      /** Listen on the LAN (0.0.0.0) or only on this machine. @defaultValue true */
      lan: z.boolean().default(true),
      /** Delete finished jobs this many days after they ended. @defaultValue unset: keep them */
      keepDays: keepDaysSchema.optional(),
    })
    .prefault({}),
});
export type AppSettings = z.infer<typeof appSettingsSchema>;

/** `colony-config.json`, written by an administrator for a fleet rollout. */
export const seedConfigSchema = z.strictObject({
  mode: z.enum(APP_MODES).default('contributor'),
  joinToken: joinToken.optional(),
  coordinatorUrl: url.optional(),
  autoStart: z.boolean().optional(),
  allowCommands: z.boolean().optional(),
  /** Tags (groups) for the machines this config installs, e.g. ["lab", "floor-2"]. */
  tags: contributorTagsSchema.optional(),
  policy: ownerPolicySettingsSchema.optional(),
  /** With mode coordinator: delete finished jobs this many days after they ended. */
  keepDays: keepDaysSchema.optional(),
});
export type SeedConfig = z.infer<typeof seedConfigSchema>;

export function autoStartOf(s: AppSettings): boolean {
  return s.autoStart ?? s.mode === 'contributor';
}

/** First-start settings from a seed: the mode is chosen and the contributor is paired. */
export function settingsFromSeed(seed: SeedConfig): AppSettings {
  return appSettingsSchema.parse({
    mode: seed.mode,
    ...(seed.autoStart !== undefined ? { autoStart: seed.autoStart } : {}),
    contributor: {
      ...(seed.joinToken ? { joinToken: seed.joinToken } : {}),
      ...(seed.coordinatorUrl ? { coordinatorUrl: seed.coordinatorUrl } : {}),
      ...(seed.allowCommands !== undefined ? { allowCommands: seed.allowCommands } : {}),
      ...(seed.tags ? { tags: seed.tags } : {}),
      ...(seed.policy ? { policy: seed.policy } : {}),
    },
    ...(seed.keepDays !== undefined ? { coordinator: { keepDays: seed.keepDays } } : {}),
  });
}
