// The long-running faces: coordinator, contributor, up (both on this machine) and demo.
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, networkInterfaces, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import type { JobSummary } from '../../shared/api.js';
import { ColonyError } from '../../shared/errors.js';
import { startCoordinator, type RunningCoordinator } from '../grid/coordinator/coordinator.js';
import { ContributorManager } from '../grid/contributor/manager/manager.js';
import { contributorTagsSchema, KEEP_DAYS_MAX, keepDaysSchema } from '../../shared/app-settings.js';
import { headlessPolicy } from '../grid/contributor/policy/policy-headless.js';
import { startPanelServer } from '../grid/contributor/panel/panel-server.js';
import { startContributor, type StartedContributor } from '../grid/contributor/start.js';
import type { MdnsOptions } from '../grid/discovery/mdns.js';
import { loadContributorId } from '../grid/contributor/manager/manager-options.js';
import { PinnedAgent, pinnedFetch } from '../grid/trust/pinned.js';
import { formatJoinToken } from '../grid/trust/join-token.js';
import { hostname } from 'node:os';
import { mkdir } from 'node:fs/promises';
import { ApiClient } from './client.js';
import { defaultDataDir, packageRoot, packageVersion } from './context.js';
import { prepareJob } from './job-loader.js';
import { Progress, describeJob } from './output.js';
import { terminalLogger } from './log-format.js';

export function defaultWorkers(): number {
  return Math.max(1, availableParallelism() - 1);
}

function fileLogger(file: string): Logger {
  return pino(
    { level: process.env.COLONY_LOG ?? 'info', base: undefined },
    pino.destination({ dest: file, mkdir: true, sync: false }),
  );
}

/** Resolve when the process is asked to stop (Ctrl-C, service manager). */
/**
 * Resolves on SIGINT or SIGTERM. Call it before printing the line that says the process is ready:
 * whoever waits for that line may signal at once, and a signal with no listener yet kills the
 * process without its clean shutdown.
 */
function untilSignal(): Promise<void> {
  return new Promise((done) => {
    process.once('SIGINT', () => done());
    process.once('SIGTERM', () => done());
  });
}

/** --no-mdns turns discovery off; --interface picks the NIC it multicasts on. */
function mdnsOptions(o: { mdns?: boolean; interface?: string }): MdnsOptions | false {
  return o.mdns === false ? false : o.interface ? { interface: o.interface } : {};
}

export async function runCoordinator(o: {
  data?: string;
  host: string;
  port: string;
  name?: string;
  mdns?: boolean;
  interface?: string;
  /** Blob store quota in GiB. @defaultValue 20 */
  maxStoreGb?: string;
  /** Fair share: half-life of a user's past usage, in hours. @defaultValue 24 */
  usageHalfLife?: string;
  /** Delete finished jobs this many days after they ended. @defaultValue unset: keep them */
  keepDays?: string;
  /** Joins and pairing requests taken per source address and minute. @defaultValue 30 */
  joinsPerMinute?: string;
  /** Hidden, for tests: how often old finished jobs are looked for (ms). */
  retentionEvery?: number;
  /** Hidden, for tests: frequent snapshots so crashes can land inside one. */
  snapshotEvery?: number;
  /** Hidden, for tests: how long a coordinator whose store failed serves reads before it stops. */
  failStopAfter?: number;
  logFormat?: string;
}): Promise<number> {
  const dataDir = o.data ? resolve(o.data) : defaultDataDir();
  const storeGb = Number(o.maxStoreGb ?? '20');
  if (!(storeGb > 0))
    throw new ColonyError('BAD_INPUT', `--max-store-gb: ${o.maxStoreGb} is not a positive number`);
  const halfLifeHours = Number(o.usageHalfLife ?? '24');
  if (!(halfLifeHours > 0 && halfLifeHours <= 24 * 365))
    throw new ColonyError(
      'BAD_INPUT',
      `--usage-half-life: ${o.usageHalfLife} is not a number of hours above 0 (at most a year)`,
    );
  const keepDays = parseKeepDays(o.keepDays);
  const joinsPerMinute = Number(o.joinsPerMinute ?? '30');
  if (!Number.isInteger(joinsPerMinute) || joinsPerMinute < 1 || joinsPerMinute > 1_000_000)
    throw new ColonyError(
      'BAD_INPUT',
      `--joins-per-minute: ${o.joinsPerMinute} is not a whole number from 1 to 1000000`,
    );
  const mdns = mdnsOptions(o);
  const log = terminalLogger(o.logFormat);
  // The last resort: an exception nothing caught is a bug; stop with one clear line, not a trace.
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception');
    process.stderr.write(
      `colony coordinator: stopping after an unexpected error: ${err.message}\n`,
    );
    process.exit(EXIT_FAILED);
  });
  let failStop!: (reason: string) => void;
  const failed = new Promise<string>((r) => (failStop = r));
  const coordinator = await startCoordinator({
    onFailStop: (reason) => failStop(reason),
    ...(o.failStopAfter !== undefined ? { failStopAfterMs: o.failStopAfter } : {}),
    dataDir,
    host: o.host,
    port: parsePort(o.port),
    logger: log,
    ...(o.name ? { name: o.name } : {}),
    ...(mdns ? { mdns } : {}),
    ...(o.snapshotEvery ? { snapshotEveryRecords: o.snapshotEvery } : {}),
    maxStoreBytes: Math.round(storeGb * 1024 ** 3),
    usageHalfLifeMs: Math.round(halfLifeHours * 3600_000),
    ...(keepDays !== undefined ? { keepDays } : {}),
    rateLimit: { enrolPerMinute: joinsPerMinute },
    ...(o.retentionEvery ? { retentionEveryMs: o.retentionEvery } : {}),
  });
  const signalled = untilSignal();
  process.stdout.write(`coordinator listening at ${coordinator.url} (data in ${dataDir})\n`);
  const reason = await Promise.race([signalled.then(() => undefined), failed]);
  await coordinator.close().catch((err: unknown) => log.error({ err }, 'close failed'));
  if (reason === undefined) return 0;
  process.stderr.write(`colony coordinator: stopping: ${reason}\n`);
  return EXIT_FAILED;
}

/** `--keep-days`: undefined when not given; a bad value is refused before anything starts. */
function parseKeepDays(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const days = Number(text);
  if (!keepDaysSchema.safeParse(days).success)
    throw new ColonyError(
      'BAD_INPUT',
      `--keep-days: ${text} is not a number of days above 0 and at most ${KEEP_DAYS_MAX} (finished jobs are kept that long after they end)`,
    );
  return days;
}

/** The CLI's exit code for "the operation failed". */
const EXIT_FAILED = 1;

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ColonyError('BAD_INPUT', `--port: ${text} is not a port number`);
  return port;
}

function parseWorkers(text: string | undefined): number {
  if (text === undefined) return defaultWorkers();
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 1024)
    throw new ColonyError('BAD_INPUT', `--workers: ${text} is not a number of workers (1-1024)`);
  return n;
}

/** `--task-memory`: MiB each task may use (its JavaScript heap gets half); undefined: the default. */
function parseTaskMemory(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 64 || n > 1024 * 1024)
    throw new ColonyError(
      'BAD_INPUT',
      `--task-memory: ${text} is not a number of MiB (64 to 1048576)`,
    );
  return n;
}

function parseTags(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const tags = text
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const checked = contributorTagsSchema.safeParse(tags);
  if (!checked.success)
    throw new ColonyError(
      'BAD_INPUT',
      `--tags: ${text} is not a list of tags (up to 20, each 1-64 letters, digits, ".", "_" or "-")`,
    );
  return checked.data;
}

export async function runContributor(o: {
  join?: string;
  coordinator?: string;
  data?: string;
  workers?: string;
  allowCommands?: boolean;
  allowNetwork?: boolean;
  requireSandbox?: boolean;
  sandbox?: boolean;
  taskMemory?: string;
  heartbeat?: string;
  policy?: string;
  tags?: string;
  mdns?: boolean;
  interface?: string;
  panel?: boolean;
  logBytes?: string;
  logFormat?: string;
}): Promise<number> {
  const heartbeatMs = Number(o.heartbeat ?? 2000);
  if (!Number.isInteger(heartbeatMs) || heartbeatMs < 50 || heartbeatMs > 600_000)
    throw new ColonyError(
      'BAD_INPUT',
      `--heartbeat: ${o.heartbeat} is not a number of milliseconds (50-600000)`,
    );
  const logBytes = Number(o.logBytes ?? 1024 * 1024);
  if (!Number.isInteger(logBytes) || logBytes < 0 || logBytes > 256 * 1024 * 1024)
    throw new ColonyError(
      'BAD_INPUT',
      `--log-bytes: ${o.logBytes} is not a number of bytes (0 to 268435456)`,
    );
  const taskMemoryMb = parseTaskMemory(o.taskMemory);
  const tags = parseTags(o.tags);
  const log = terminalLogger(o.logFormat);
  const dataDir = o.data ? resolve(o.data) : join(defaultDataDir(), 'contributor');
  // Without --policy (or settings saved from the panel) it works whenever it is asked, as before;
  // the driver still runs so the panel can pause it and change its settings live.
  const policy = headlessPolicy(o.policy, () => started?.manager.workerPids() ?? [], dataDir);
  const joinToken = o.join ?? process.env.COLONY_JOIN;
  let started: StartedContributor | undefined;
  policy.driver.start();
  try {
    started = await startContributor({
      dataDir,
      ...(joinToken ? { joinToken } : {}),
      ...(o.coordinator ? { coordinatorUrl: o.coordinator } : {}),
      mdns: mdnsOptions(o),
      log,
      onPairingRequested: (id, fp) =>
        process.stdout.write(
          `pairing requested: approve contributor ${id} (key ${fp.slice(0, 16)}) on the coordinator\n`,
        ),
      manager: {
        maxSlots:
          o.workers || policy.source === 'default' ? parseWorkers(o.workers) : policy.maxWorkers,
        allowCommands: o.allowCommands ?? false,
        allowNetwork: o.allowNetwork ?? false,
        supervisor: {
          ...(o.requireSandbox ? { requireSandbox: true } : {}),
          ...(o.sandbox === false ? { sandbox: 'off' as const } : {}),
          ...(taskMemoryMb
            ? { limits: { memoryMb: taskMemoryMb }, maxOldSpaceMb: Math.floor(taskMemoryMb / 2) }
            : {}),
        },
        heartbeatMs,
        logBytes,
        ...(tags ? { tags } : {}),
        version: packageVersion(),
        // A LAN handshake slower than this is a dead address (the coordinator moved): try the next.
        handshakeTimeoutMs: 4_000,
        logger: log,
        policy: policy.driver,
      },
    });
  } catch (err) {
    policy.driver.stop();
    throw err;
  }
  const { link, manager, url } = started;
  const panel =
    o.panel === false
      ? undefined
      : await startPanelServer({
          dataDir,
          manager,
          coordinator: () => ({ id: link.trust.coordinatorId, url: link.currentUrl() }),
          driver: policy.driver,
          settings: () => policy.driver.policy.settings,
          save: (s) => policy.save(s),
          logger: log,
        });
  const signalled = untilSignal();
  if (panel) process.stdout.write(`contributor panel at ${panel.openUrl}\n`);
  process.stdout.write(`contributor ${manager.contributorId} serving ${url}\n`);
  await signalled;
  await panel?.close();
  policy.driver.stop();
  await started.stop();
  return 0;
}

interface Local {
  coordinator: RunningCoordinator;
  manager: ContributorManager;
  close(): Promise<void>;
}

/**
 * A coordinator and a contributor on this machine, bound to 127.0.0.1; with `lan`, bound to every
 * interface and advertised over mDNS so other machines can join (the local contributor still
 * talks to it over 127.0.0.1).
 */
async function startLocal(
  dataDir: string,
  log: Logger,
  workers: number,
  port: number,
  lan?: { mdns: MdnsOptions; name?: string },
  keepDays?: number,
): Promise<Local> {
  const coordinator = await startCoordinator({
    dataDir,
    host: lan ? '0.0.0.0' : '127.0.0.1',
    port,
    logger: log,
    ...(lan ? { mdns: lan.mdns, ...(lan.name ? { name: lan.name } : {}) } : {}),
    ...(keepDays !== undefined ? { keepDays } : {}),
  });
  // Same process, same trust: the local contributor is issued its credential directly.
  const contributorDir = join(dataDir, 'contributor');
  await mkdir(contributorDir, { recursive: true, mode: 0o700 });
  const credential = await coordinator.credentials.join(
    await loadContributorId(contributorDir),
    hostname(),
  );
  const agent = new PinnedAgent(coordinator.fingerprint);
  const manager = new ContributorManager({
    url: coordinator.url,
    credential,
    tls: { agent, fetch: pinnedFetch(agent) },
    dataDir: contributorDir,
    maxSlots: workers,
    initialSlots: workers,
    allowCommands: true,
    logger: log,
  });
  await manager.start();
  return {
    coordinator,
    manager,
    close: async () => {
      await manager.stop();
      await coordinator.close();
    },
  };
}

export async function runUp(o: {
  data?: string;
  port: string;
  workers?: string;
  lan?: boolean;
  interface?: string;
  name?: string;
  keepDays?: string;
}): Promise<number> {
  if (!o.lan && (o.interface || o.name))
    throw new ColonyError('BAD_INPUT', '--interface and --name go with --lan');
  const keepDays = parseKeepDays(o.keepDays);
  const workers = parseWorkers(o.workers);
  const port = parsePort(o.port);
  const dataDir = o.data ? resolve(o.data) : defaultDataDir();
  const local = await startLocal(
    dataDir,
    fileLogger(join(dataDir, 'colony.log')),
    workers,
    port,
    o.lan
      ? { mdns: o.interface ? { interface: o.interface } : {}, ...(o.name ? { name: o.name } : {}) }
      : undefined,
    keepDays,
  );
  const c = local.coordinator;
  const lines = [
    `Colony is up at ${c.url}${o.lan ? ` and on the LAN, port ${c.port}` : ''}`,
    // The token rides in the URL fragment, which browsers never send to a server or its logs.
    `  GUI: ${c.url}/#token=${c.identity.adminToken}`,
    `  (the certificate is self-signed: its sha256 is ${c.fingerprint})`,
  ];
  if (o.lan) {
    const addresses = lanAddresses(o.interface);
    const token = formatJoinToken({
      coordinatorId: c.identity.coordinatorId,
      fingerprint: c.fingerprint,
      secret: c.identity.joinSecret,
    });
    lines.push(
      `  LAN addresses: ${addresses.length > 0 ? addresses.map((a) => `${a}:${c.port}`).join(', ') : '(none found)'}`,
      `  other machines join with: colony contributor --join '${token}'`,
      '  (they find this coordinator over mDNS; add @ADDRESS:PORT to the token where mDNS cannot reach)',
    );
  }
  lines.push(`  logs: ${join(dataDir, 'colony.log')}`, 'Press Ctrl-C to stop.');
  const signalled = untilSignal();
  process.stdout.write(`${lines.join('\n')}\n`);
  await signalled;
  await local.close();
  return 0;
}

/** This machine's IPv4 addresses other machines may reach (or the one given with --interface). */
function lanAddresses(only?: string): string[] {
  if (only) return [only];
  return Object.values(networkInterfaces())
    .flat()
    .filter((i) => i !== undefined && i.family === 'IPv4' && !i.internal)
    .map((i) => i!.address);
}

/** Wait for a job to finish, showing progress; resolves with its final summary. */
export async function waitForJob(
  client: ApiClient,
  id: string,
  out: NodeJS.WriteStream,
  pollMs = 300,
): Promise<JobSummary> {
  let job = await client.json<JobSummary>('GET', `/jobs/${id}`);
  const progress = new Progress(out, job.taskCount);
  try {
    for (;;) {
      progress.update(job);
      if (job.state === 'succeeded' || job.state === 'failed' || job.state === 'cancelled')
        return job;
      await new Promise((r) => setTimeout(r, pollMs));
      job = await client.json<JobSummary>('GET', `/jobs/${id}`);
    }
  } finally {
    progress.stop();
  }
}

export async function runDemo(o: { data?: string; workers?: string }): Promise<number> {
  const dataDir = o.data ? resolve(o.data) : await mkdtemp(join(tmpdir(), 'colony-demo-'));
  const local = await startLocal(
    dataDir,
    fileLogger(join(dataDir, 'colony.log')),
    parseWorkers(o.workers),
    0,
  );
  try {
    const client = new ApiClient(
      local.coordinator.url,
      local.coordinator.identity.adminToken,
      local.coordinator.fingerprint,
    );
    const jobFile = join(packageRoot(), 'examples', 'primes', 'job.yaml');
    process.stderr.write(
      `Colony demo: coordinator at ${local.coordinator.url}, submitting ${jobFile}\n`,
    );
    const spec = await prepareJob(client, jobFile, 'demo');
    const submitted = await client.json<JobSummary>('POST', '/jobs', spec);
    const job = await waitForJob(client, submitted.id, process.stderr);
    process.stderr.write(`${describeJob(job)}\n`);
    const res = await client.request('GET', `/jobs/${job.id}/results`);
    process.stdout.write(await res.text());
    return job.state === 'succeeded' ? 0 : 1;
  } finally {
    await local.close();
    if (!o.data) await rm(dataDir, { recursive: true, force: true });
  }
}
