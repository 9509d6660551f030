// Settings of the desktop app (one app, two modes) and the administrator's pre-seeded config that
// an installer leaves beside it (`colony-config.json`), so installs come up paired with no clicks.
import { z } from 'zod';
import { ownerPolicySettingsSchema, SNOOZE_KINDS } from './owner-policy.js';

export const APP_MODES = ['coordinator', 'contributor'] as const;
export type AppMode = (typeof APP_MODES)[number];

const joinToken = z
  .string()
  .regex(/^colony1\./, 'must be a join token (colony1.…)')
  .max(2000);
const url = z
  .string()
  .regex(/^https?:\/\//, 'must be an http(s) URL')
  .max(2000);

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
  policy: ownerPolicySettingsSchema.optional(),
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
      ...(seed.policy ? { policy: seed.policy } : {}),
    },
  });
}
