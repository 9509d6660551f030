// The owner policy of a headless contributor (`colony contributor --policy FILE`): settings from
// the file, CPU load of other processes and the schedule (no desktop session, so no idle signal).
import os from 'node:os';
import { ColonyError } from '../../../shared/errors.js';
import type { OwnerPolicySettings } from '../../../shared/owner-policy.js';
import { OwnerPolicy } from './owner-policy.js';
import { PolicyDriver } from './policy-driver.js';
import { loadPolicyFile } from './policy-file.js';
import { headlessSample, OtherCpuSampler } from './policy-sampler.js';

export interface HeadlessPolicy {
  driver: PolicyDriver;
  settings: OwnerPolicySettings;
  maxWorkers: number;
}

export function headlessPolicy(file: string, ownPids: () => number[]): HeadlessPolicy {
  let settings: OwnerPolicySettings;
  try {
    settings = loadPolicyFile(file);
  } catch (err) {
    if (err instanceof ColonyError) throw err;
    throw new ColonyError('BAD_INPUT', `--policy ${file}: ${(err as Error).message}`);
  }
  const policy = new OwnerPolicy(settings, { cores: Math.max(1, os.availableParallelism()) });
  const driver = new PolicyDriver({
    policy,
    sample: headlessSample(new OtherCpuSampler({ ownPids })),
  });
  return { driver, settings, maxWorkers: policy.maxWorkers };
}
