// Reads an owner policy file (JSON or YAML, docs/owner-policy.md settings) and validates it at once, naming the
// bad field; used by `colony contributor --policy FILE` and by the pre-seeded installer config.
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import {
  ownerPolicySettingsSchema,
  type OwnerPolicySettings,
} from '../../../../shared/owner-policy.js';
import { parseOrThrow } from '../../../../shared/validate.js';

export function parsePolicy(value: unknown, what = 'owner policy'): OwnerPolicySettings {
  return parseOrThrow(ownerPolicySettingsSchema, value ?? {}, what);
}

export function loadPolicyFile(file: string): OwnerPolicySettings {
  const text = readFileSync(file, 'utf8');
  // YAML is a superset of JSON: one parser reads both.
  return parsePolicy(YAML.parse(text) as unknown, file);
}
