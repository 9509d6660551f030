// The owner policy of a headless contributor: settings from `--policy FILE`, else those the owner
// saved from the panel (owner-policy.json in the data dir), else "work whenever asked"; CPU load of
// other processes and the schedule (no desktop session, so no idle signal).
import { existsSync, readFileSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { ColonyError } from '../../../../shared/errors.js';
import type { OwnerPolicySettings } from '../../../../shared/owner-policy.js';
import { z } from 'zod';
import { fleetControlSchema, fleetPolicySchema } from '../../../../shared/fleet-policy.js';
import { OwnerPolicy, type FleetState } from './owner-policy.js';
import { PolicyDriver } from './policy-driver.js';
import { loadPolicyFile, parsePolicy } from './policy-file.js';
import { headlessSample, OtherCpuSampler } from './policy-sampler.js';

export const SAVED_POLICY_FILE = 'owner-policy.json';
/** The last fleet message from the coordinator: its locks hold from the start, before it reconnects. */
export const FLEET_POLICY_FILE = 'fleet-policy.json';

const fleetStateSchema = z.strictObject({
  groups: z.array(z.string().max(64)).max(100),
  policy: fleetPolicySchema.nullable(),
  control: fleetControlSchema,
});

/** A fleet message with nothing to hold on to across a restart: no policy, no pause or drain. */
function emptyFleet(f: FleetState): boolean {
  return f.policy === null && f.control.state === 'none';
}

/** The saved fleet message, or undefined when there is none or it does not read (ignored). */
function loadFleet(file: string | undefined): FleetState | undefined {
  if (!file || !existsSync(file)) return undefined;
  try {
    const parsed = fleetStateSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export interface HeadlessPolicy {
  driver: PolicyDriver;
  settings: OwnerPolicySettings;
  maxWorkers: number;
  /** Where the settings came from: `--policy`, the panel's saved file, or the permissive default. */
  source: 'file' | 'saved' | 'default';
  /** Keep settings changed from the panel for the next start; returns a note for the owner. */
  save(settings: OwnerPolicySettings): Promise<string | undefined>;
}

/** Without a policy the headless contributor works whenever it is asked, as it always did. */
const ANY_TIME = parsePolicy({ computeWhen: 'always', onBattery: 'run' });

function load(file: string, what: string): OwnerPolicySettings {
  try {
    return loadPolicyFile(file);
  } catch (err) {
    if (err instanceof ColonyError) throw err;
    throw new ColonyError('BAD_INPUT', `${what}: ${(err as Error).message}`);
  }
}

export function headlessPolicy(
  file: string | undefined,
  ownPids: () => number[],
  dataDir?: string,
): HeadlessPolicy {
  const savedFile = dataDir ? join(dataDir, SAVED_POLICY_FILE) : undefined;
  const source = file ? 'file' : savedFile && existsSync(savedFile) ? 'saved' : 'default';
  const settings =
    file !== undefined
      ? load(file, `--policy ${file}`)
      : source === 'saved' && savedFile
        ? load(savedFile, savedFile)
        : ANY_TIME;
  const policy = new OwnerPolicy(settings, {
    cores: Math.max(1, os.availableParallelism()),
    platform: process.platform,
  });
  const fleetFile = dataDir ? join(dataDir, FLEET_POLICY_FILE) : undefined;
  const fleet = loadFleet(fleetFile);
  if (fleet) policy.setFleet(fleet);
  // What the file holds now; nothing is written while there is nothing to keep (no policy, no
  // pause or drain), so a machine outside any fleet rule has no file of it.
  let saved = fleet && !emptyFleet(fleet) ? JSON.stringify(fleet) : undefined;
  const driver = new PolicyDriver({
    policy,
    sample: headlessSample(new OtherCpuSampler({ ownPids })),
    ...(fleetFile
      ? {
          onFleet: (f: FleetState) => {
            const text = emptyFleet(f) ? undefined : JSON.stringify(f);
            if (text === saved) return;
            saved = text;
            // Not kept: the coordinator sends it again at the next connect.
            (text === undefined
              ? rm(fleetFile, { force: true })
              : writeFile(`${fleetFile}.tmp`, text, { mode: 0o600 }).then(() =>
                  rename(`${fleetFile}.tmp`, fleetFile),
                )
            ).catch(() => undefined);
          },
        }
      : {}),
  });
  return {
    driver,
    settings,
    maxWorkers: policy.maxWorkers,
    source,
    save: async (s) => {
      if (!savedFile) return 'not saved: this contributor has no data directory';
      await writeFile(`${savedFile}.tmp`, JSON.stringify(s, null, 2), { mode: 0o600 });
      await rename(`${savedFile}.tmp`, savedFile);
      return file
        ? `saved to ${savedFile}, but --policy ${file} wins at the next start`
        : undefined;
    },
  };
}
