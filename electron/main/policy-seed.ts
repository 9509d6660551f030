// The seed an administrator sets in the Windows registry (HKLM\SOFTWARE\Policies\Colony): by group
// policy (registry preference) or by the MSI's properties (build/msi-project.cjs writes them there).
// Values: Mode, JoinToken, CoordinatorUrl, AutoStart. Parsed here without Electron; read with
// `reg query`, so nothing native is needed.
import { execFile } from 'node:child_process';
import { seedConfigSchema, type SeedConfig } from '../../shared/app-settings.js';
import { parseOrThrow } from '../../shared/validate.js';

export const POLICY_KEY = 'HKLM\\SOFTWARE\\Policies\\Colony';

/** `reg query KEY` output → value name → data (REG_SZ as is, REG_DWORD as a number string). */
export function parseRegQuery(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s{2,}(\S(?:.*?\S)?)\s{2,}(REG_SZ|REG_EXPAND_SZ|REG_DWORD)\s{2,}(.*)$/.exec(line);
    if (!m) continue;
    const [, name, type, data] = m as unknown as [string, string, string, string];
    values[name] = type === 'REG_DWORD' ? String(Number.parseInt(data, 16)) : data.trim();
  }
  return values;
}

/** Registry values → the seed they stand for; empty values count as unset; bad ones are refused. */
export function seedFromPolicy(values: Record<string, string>): SeedConfig | undefined {
  const v = (name: string) => (values[name]?.trim() ? values[name].trim() : undefined);
  const autoStart = v('AutoStart');
  const raw = {
    ...(v('Mode') ? { mode: v('Mode') } : {}),
    ...(v('JoinToken') ? { joinToken: v('JoinToken') } : {}),
    ...(v('CoordinatorUrl') ? { coordinatorUrl: v('CoordinatorUrl') } : {}),
    ...(autoStart !== undefined
      ? { autoStart: autoStart === '1' ? true : autoStart === '0' ? false : autoStart }
      : {}),
  };
  if (Object.keys(raw).length === 0) return undefined;
  return parseOrThrow(seedConfigSchema, raw, POLICY_KEY);
}

/** The policy seed on Windows (undefined elsewhere, or when the key is absent). */
export function readPolicySeed(platform = process.platform): Promise<SeedConfig | undefined> {
  if (platform !== 'win32') return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    execFile('reg', ['query', POLICY_KEY], { timeout: 10_000, windowsHide: true }, (err, out) => {
      if (err) return resolve(undefined); // no such key: nothing seeded by policy
      try {
        resolve(seedFromPolicy(parseRegQuery(out)));
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  });
}
