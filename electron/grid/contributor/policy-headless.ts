// The owner policy of a headless contributor: settings from `--policy FILE`, else those the owner
// saved from the panel (owner-policy.json in the data dir), else "work whenever asked"; CPU load of
// other processes and the schedule (no desktop session, so no idle signal).
import { existsSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { ColonyError } from '../../../shared/errors.js';
import type { OwnerPolicySettings } from '../../../shared/owner-policy.js';
import { OwnerPolicy } from './owner-policy.js';
import { PolicyDriver } from './policy-driver.js';
import { loadPolicyFile, parsePolicy } from './policy-file.js';
import { headlessSample, OtherCpuSampler } from './policy-sampler.js';

export const SAVED_POLICY_FILE = 'owner-policy.json';

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
  const policy = new OwnerPolicy(settings, { cores: Math.max(1, os.availableParallelism()) });
  const driver = new PolicyDriver({
    policy,
    sample: headlessSample(new OtherCpuSampler({ ownPids })),
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
