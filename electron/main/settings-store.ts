// The desktop app's settings file (settings.json in the user-data folder): validated on read and
// on every change, written atomically (temp → fsync → rename), seeded on first start from an
// administrator's colony-config.json. Plain Node, so it is tested without Electron.
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import {
  appSettingsSchema,
  seedConfigSchema,
  settingsFromSeed,
  type AppMode,
  type AppSettings,
  type SeedConfig,
} from '../../shared/app-settings.js';
import { parseOrThrow } from '../../shared/validate.js';

export const SEED_FILE = 'colony-config.json';

/**
 * The machine-wide place an administrator's tools (group policy files, MDM, config management)
 * put the seed: %ProgramData%\Colony on Windows, /Library/Application Support/Colony on macOS,
 * /etc/colony elsewhere.
 */
export function machineSeedFile(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): string {
  if (platform === 'win32')
    return path.win32.join(env.ProgramData ?? 'C:\\ProgramData', 'Colony', SEED_FILE);
  if (platform === 'darwin')
    return path.posix.join('/Library/Application Support/Colony', SEED_FILE);
  return path.posix.join('/etc/colony', SEED_FILE);
}

/**
 * Where a seed may be, first found wins: `--colony-config=FILE`, COLONY_CONFIG, the machine-wide
 * file, then beside the app and in its resources (where the installers copy one).
 */
export function seedCandidates(o: {
  argv: string[];
  env: NodeJS.ProcessEnv;
  exeDir: string;
  resourcesDir?: string;
  /** @defaultValue process.platform */
  platform?: NodeJS.Platform;
}): string[] {
  const arg = o.argv
    .find((a) => a.startsWith('--colony-config='))
    ?.slice('--colony-config='.length);
  return [
    ...(arg ? [arg] : []),
    ...(o.env.COLONY_CONFIG ? [o.env.COLONY_CONFIG] : []),
    machineSeedFile(o.platform ?? process.platform, o.env),
    path.join(o.exeDir, SEED_FILE),
    ...(o.resourcesDir ? [path.join(o.resourcesDir, SEED_FILE)] : []),
  ];
}

export class SettingsStore {
  private queue: Promise<unknown> = Promise.resolve();
  private constructor(
    readonly file: string,
    private current: AppSettings,
    /** The seed file applied on this start, if any. */
    readonly seededFrom: string | undefined,
  ) {}

  /**
   * Reads `<dir>/settings.json`; without one, seeds from the first seed file that exists, else
   * from `policy` (the Windows registry policy of policy-seed.ts), else starts unset.
   */
  static async open(
    dir: string,
    seeds: string[] = [],
    policy?: { name: string; read: () => Promise<SeedConfig | undefined> },
  ): Promise<SettingsStore> {
    const file = path.join(dir, 'settings.json');
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text !== undefined)
      return new SettingsStore(
        file,
        parseOrThrow(appSettingsSchema, JSON.parse(text), file),
        undefined,
      );
    const seedFile = seeds.find((s) => existsSync(s));
    const fromPolicy = seedFile ? undefined : await policy?.read();
    const settings = seedFile
      ? settingsFromSeed(
          parseOrThrow(seedConfigSchema, YAML.parse(await readFile(seedFile, 'utf8')), seedFile),
        )
      : fromPolicy
        ? settingsFromSeed(fromPolicy)
        : appSettingsSchema.parse({});
    const store = new SettingsStore(file, settings, seedFile ?? (fromPolicy && policy?.name));
    await store.write(settings);
    return store;
  }

  get(): AppSettings {
    return this.current;
  }

  /** No mode chosen yet: show the first-run choice. */
  get firstRun(): boolean {
    return this.current.mode === undefined;
  }

  /** Applies a change; the result is validated before anything is written. */
  update(change: (s: AppSettings) => unknown): Promise<AppSettings> {
    // One change at a time: each applies to the result of the one before and writes in order.
    const run = this.queue.then(async () => {
      const next = parseOrThrow(
        appSettingsSchema,
        change(structuredClone(this.current)),
        'settings',
      );
      await this.write(next);
      this.current = next;
      return next;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  setMode(mode: AppMode): Promise<AppSettings> {
    return this.update((s) => ({ ...s, mode }));
  }

  private async write(s: AppSettings): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    const temp = `${this.file}.${process.pid}.tmp`;
    const fh = await open(temp, 'w', 0o600);
    try {
      await fh.writeFile(`${JSON.stringify(s, null, 2)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(temp, this.file);
  }
}
