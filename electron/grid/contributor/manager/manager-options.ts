// Options of the contributor manager with their defaults (checked at once), the machine's
// capabilities and the contributor id that is kept in the data directory across restarts.
import { DEFAULT_LOG_BYTES } from './manager-logs.js';
import type { FetchLike } from '../../trust/pinned.js';
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { PLATFORMS, type Platform } from '../../../../shared/job-file.js';
import {
  PROTOCOL_VERSION,
  type Capabilities,
  type Hello,
  type IsolationLevel,
} from '../../../../shared/protocol.js';
import type { PolicySource } from '../policy/policy-driver.js';
import type { SupervisorOptions } from '../supervisor/supervisor.js';

export interface ManagerOptions {
  /** Coordinator base URL, e.g. http://127.0.0.1:7070; the socket is `/api/v1/connect` on it. */
  url: string;
  /** Bearer credential for the socket upgrade and the blob requests. Never logged. */
  credential: string;
  /** Holds contributor.json ({contributorId}), blobs/ and work/. */
  dataDir: string;
  /** Machine name shown to the coordinator. @defaultValue os.hostname() */
  name?: string;
  /** Most worker slots this machine may open (`--workers`). */
  maxSlots: number;
  /** Slots opened at start; grown on `scale`, shrunk back after idling. @defaultValue 1 */
  initialSlots?: number;
  /** Run `command` tasks (`--allow-commands`). */
  allowCommands: boolean;
  /** Let jobs that declare `network: true` use the network (`--allow-network`). @defaultValue false */
  allowNetwork?: boolean;
  /** Heartbeat interval promised in hello. @defaultValue 2000 */
  heartbeatMs?: number;
  tags?: string[];
  /** This program's version, told to the coordinator (its console filters by it). */
  version?: string;
  /** Passed through to the Supervisor (execPath, env, workerPath...). */
  supervisor?: Partial<SupervisorOptions>;
  logger?: Logger;
  /** Reconnect back-off, with jitter. @defaultValue { minMs: 200, maxMs: 5000 } */
  reconnect?: { minMs: number; maxMs: number };
  /** Wait before retrying after the coordinator refused us (bad credential, revoked). @defaultValue 30000 */
  refusedRetryMs?: number;
  /** Shrink back to initialSlots after this long without an assignment. @defaultValue 60000 */
  idleShrinkMs?: number;
  /** Upgrade + welcome must complete within this. @defaultValue 10000 */
  handshakeTimeoutMs?: number;
  /** Progress messages per attempt are sent at most once per this interval. @defaultValue 200 */
  progressIntervalMs?: number;
  /** Log lines are batched for this long. @defaultValue 250 */
  logFlushMs?: number;
  /** Bytes of each attempt's stdout, stderr and ctx.log kept with its result (0: none). @defaultValue 1 MiB */
  logBytes?: number;
  /**
   * Hold one staged attempt beyond the worker slots while recent attempts ran shorter than this on
   * average, so the next starts the moment a slot frees; 0 never does. @defaultValue 2000
   */
  prefetchBelowMs?: number;
  /** Milliseconds clock, for wall times. @defaultValue Date.now */
  now?: () => number;
  random?: () => number;
  /** Owner policy (docs/owner-policy.md): suspends, resumes and vacates attempts and gates `ready`. @defaultValue none: always work */
  policy?: PolicySource;
  /** Pinned TLS (docs/trust.md): the agent for the WebSocket and the fetch for blobs. */
  tls?: { agent: import('node:http').Agent; fetch: FetchLike };
  /** Where the coordinator is now, if discovery may move it; read at every (re)connect. */
  currentUrl?: () => string;
}

export type ResolvedOptions = Required<
  Omit<
    ManagerOptions,
    'supervisor' | 'logger' | 'tags' | 'name' | 'policy' | 'tls' | 'currentUrl' | 'version'
  >
> & {
  version?: string;
  policy?: PolicySource;
  tls?: ManagerOptions['tls'];
  currentUrl?: () => string;
  name: string;
  tags: string[];
  supervisor: Partial<SupervisorOptions>;
  logger: Logger;
};

function check(ok: boolean, field: string, why: string): void {
  if (!ok) throw new RangeError(`ContributorManager: ${field} ${why}`);
}

export function resolveOptions(opts: ManagerOptions): ResolvedOptions {
  const o: ResolvedOptions = {
    name: os.hostname() || 'contributor',
    initialSlots: 1,
    heartbeatMs: 2000,
    tags: [],
    supervisor: {},
    allowNetwork: false,
    logger: pino({ level: 'info' }),
    reconnect: { minMs: 200, maxMs: 5000 },
    refusedRetryMs: 30_000,
    idleShrinkMs: 60_000,
    handshakeTimeoutMs: 10_000,
    progressIntervalMs: 200,
    logFlushMs: 250,
    logBytes: DEFAULT_LOG_BYTES,
    prefetchBelowMs: 2000,
    now: Date.now,
    random: Math.random,
    ...stripUndefined(opts),
    url: opts.url,
    credential: opts.credential,
    dataDir: opts.dataDir,
    maxSlots: opts.maxSlots,
    allowCommands: opts.allowCommands,
  };
  check(/^https?:\/\//.test(o.url), 'url', `must be an http(s) URL, got ${JSON.stringify(o.url)}`);
  check(
    Number.isInteger(o.logBytes) && o.logBytes >= 0 && o.logBytes <= 256 * 1024 * 1024,
    'logBytes',
    'must be an integer in 0..256 MiB',
  );
  check(o.credential.length > 0, 'credential', 'must not be empty');
  check(o.dataDir.length > 0, 'dataDir', 'must not be empty');
  check(Number.isInteger(o.maxSlots) && o.maxSlots >= 1, 'maxSlots', 'must be an integer ≥ 1');
  check(
    Number.isInteger(o.initialSlots) && o.initialSlots >= 1 && o.initialSlots <= o.maxSlots,
    'initialSlots',
    `must be an integer in 1..maxSlots (${o.maxSlots})`,
  );
  check(
    Number.isInteger(o.heartbeatMs) && o.heartbeatMs >= 50 && o.heartbeatMs <= 600_000,
    'heartbeatMs',
    'must be an integer in 50..600000',
  );
  check(
    Number.isFinite(o.prefetchBelowMs) && o.prefetchBelowMs >= 0,
    'prefetchBelowMs',
    'must be a number ≥ 0',
  );
  check(
    o.reconnect.minMs > 0 && o.reconnect.maxMs >= o.reconnect.minMs,
    'reconnect',
    'needs 0 < minMs ≤ maxMs',
  );
  return o;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function capabilities(
  o: ResolvedOptions,
  slots: number,
  isolation: IsolationLevel = 'permission-model',
): Capabilities {
  const platform = process.platform as Platform;
  if (!PLATFORMS.includes(platform)) throw new Error(`unsupported platform ${process.platform}`);
  return {
    cores: Math.max(1, os.availableParallelism()),
    memoryMb: Math.floor(os.totalmem() / 1024 / 1024),
    platform,
    arch: os.arch(),
    runtimes: o.allowCommands ? ['node', 'command'] : ['node'],
    tags: o.tags,
    slots,
    isolation,
    network: o.allowNetwork,
  };
}

export function buildHello(
  o: ResolvedOptions,
  contributorId: string,
  slots: number,
  running: Hello['running'],
  isolation?: IsolationLevel,
): Hello {
  const user = osUser();
  return {
    type: 'hello',
    protocol: PROTOCOL_VERSION,
    contributorId,
    name: o.name.slice(0, 200),
    ...(user ? { user } : {}),
    caps: capabilities(o, slots, isolation),
    heartbeatMs: o.heartbeatMs,
    running,
  };
}

function osUser(): string | undefined {
  try {
    return os.userInfo().username.slice(0, 200) || undefined;
  } catch {
    return undefined; // no passwd entry (containers): the field is optional
  }
}

/** Reads `<dataDir>/contributor.json`, creating it with a fresh id the first time. */
export async function loadContributorId(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'contributor.json');
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as { contributorId?: unknown };
    if (typeof parsed.contributorId === 'string' && parsed.contributorId.length > 0)
      return parsed.contributorId;
    throw new Error(`${file} has no contributorId`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const contributorId = randomUUID();
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  // Temp + rename: a crash must not leave a torn file that would mint a second identity.
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify({ contributorId }, null, 2)}\n`, { mode: 0o600 });
  await rename(temp, file);
  return contributorId;
}
