// Where CLI commands find things: data directories, the coordinator's URL and the admin token.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ColonyError } from '../../shared/errors.js';
import { ApiClient, type FingerprintSource } from './client.js';

export function defaultDataDir(): string {
  return resolve(process.env.COLONY_DATA ?? join(homedir(), '.colony'));
}

/** The package root (holds examples/), from dist/electron/cli/ or electron/cli/. */
export function packageRoot(): string {
  return resolve(
    fileURLToPath(new URL('.', import.meta.url)),
    import.meta.url.includes('/dist/') ? '../../..' : '../..',
  );
}

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export interface ClientFlags {
  coordinator?: string;
  token?: string;
  data?: string;
  fingerprint?: string;
}

/** docs/cli.md: --coordinator, COLONY_URL or the local data dir; --token, COLONY_TOKEN or the data dir. */
export function clientFrom(flags: ClientFlags): ApiClient {
  const dataDir = flags.data ? resolve(flags.data) : defaultDataDir();
  const local = readJson(join(dataDir, 'coordinator.json'));
  const url = flags.coordinator ?? process.env.COLONY_URL ?? (local?.url as string | undefined);
  if (!url)
    throw new ColonyError(
      'UNREACHABLE',
      `no coordinator: pass --coordinator URL, set COLONY_URL, or start one with --data ${dataDir}`,
    );
  const token =
    flags.token ??
    process.env.COLONY_TOKEN ??
    (readJson(join(dataDir, 'identity.json'))?.adminToken as string | undefined);
  // The certificate to pin: given, or the local coordinator's own (docs/trust.md).
  const [fingerprint, source]: [string | undefined, FingerprintSource | undefined] =
    flags.fingerprint
      ? [flags.fingerprint, { kind: 'flag' }]
      : process.env.COLONY_FINGERPRINT
        ? [process.env.COLONY_FINGERPRINT, { kind: 'env' }]
        : [
            local?.fingerprint as string | undefined,
            { kind: 'data-dir', file: join(dataDir, 'coordinator.json') },
          ];
  return new ApiClient(
    url.replace(/\/$/, ''),
    token,
    fingerprint?.replaceAll(':', '').toLowerCase(),
    source,
  );
}

/** This program's version, from its package.json. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
