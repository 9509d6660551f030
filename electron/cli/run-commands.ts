// The long-running faces: coordinator, contributor, up (both on this machine) and demo.
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import type { JobSummary } from '../../shared/api.js';
import { ColonyError } from '../../shared/errors.js';
import { startCoordinator, type RunningCoordinator } from '../grid/coordinator/coordinator.js';
import { ContributorManager } from '../grid/contributor/manager.js';
import { headlessPolicy } from '../grid/contributor/policy-headless.js';
import { startPanelServer } from '../grid/contributor/panel-server.js';
import { establishLink } from './contributor-link.js';
import type { MdnsOptions } from '../grid/discovery/mdns.js';
import { loadContributorId } from '../grid/contributor/manager-options.js';
import { PinnedAgent, pinnedFetch } from '../grid/trust/pinned.js';
import { hostname } from 'node:os';
import { mkdir } from 'node:fs/promises';
import { ApiClient } from './client.js';
import { defaultDataDir, packageRoot } from './context.js';
import { prepareJob } from './job-loader.js';
import { Progress, describeJob } from './output.js';

export function defaultWorkers(): number {
  return Math.max(1, availableParallelism() - 1);
}

function stderrLogger(level = process.env.COLONY_LOG ?? 'info'): Logger {
  return pino({ level, base: undefined }, pino.destination(2));
}

function fileLogger(file: string): Logger {
  return pino(
    { level: process.env.COLONY_LOG ?? 'info', base: undefined },
    pino.destination({ dest: file, mkdir: true, sync: false }),
  );
}

/** Resolve when the process is asked to stop (Ctrl-C, service manager). */
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
  /** Hidden, for tests: frequent snapshots so crashes can land inside one. */
  snapshotEvery?: number;
}): Promise<number> {
  const dataDir = o.data ? resolve(o.data) : defaultDataDir();
  const mdns = mdnsOptions(o);
  const coordinator = await startCoordinator({
    dataDir,
    host: o.host,
    port: parsePort(o.port),
    logger: stderrLogger(),
    ...(o.name ? { name: o.name } : {}),
    ...(mdns ? { mdns } : {}),
    ...(o.snapshotEvery ? { snapshotEveryRecords: o.snapshotEvery } : {}),
  });
  process.stdout.write(`coordinator listening at ${coordinator.url} (data in ${dataDir})\n`);
  await untilSignal();
  await coordinator.close();
  return 0;
}

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

export async function runContributor(o: {
  join?: string;
  coordinator?: string;
  data?: string;
  workers?: string;
  allowCommands?: boolean;
  heartbeat?: string;
  policy?: string;
  mdns?: boolean;
  interface?: string;
  panel?: boolean;
}): Promise<number> {
  const heartbeatMs = Number(o.heartbeat ?? 2000);
  if (!Number.isInteger(heartbeatMs) || heartbeatMs < 50 || heartbeatMs > 600_000)
    throw new ColonyError(
      'BAD_INPUT',
      `--heartbeat: ${o.heartbeat} is not a number of milliseconds (50-600000)`,
    );
  const log = stderrLogger();
  const dataDir = o.data ? resolve(o.data) : join(defaultDataDir(), 'contributor');
  const link = await establishLink({
    dataDir,
    ...(o.join ? { joinToken: o.join } : {}),
    ...(o.coordinator ? { coordinatorUrl: o.coordinator } : {}),
    mdns: mdnsOptions(o),
    log,
  });
  const url = link.currentUrl();
  // Without --policy (or settings saved from the panel) it works whenever it is asked, as before;
  // the driver still runs so the panel can pause it and change its settings live.
  const policy = headlessPolicy(o.policy, () => manager.workerPids(), dataDir);
  const manager: ContributorManager = new ContributorManager({
    url,
    currentUrl: link.currentUrl,
    tls: link.tls,
    credential: link.trust.credential,
    dataDir,
    maxSlots:
      o.workers || policy.source === 'default' ? parseWorkers(o.workers) : policy.maxWorkers,
    allowCommands: o.allowCommands ?? false,
    heartbeatMs,
    // A LAN handshake slower than this is a dead address (the coordinator moved): try the next.
    handshakeTimeoutMs: 4_000,
    logger: log,
    policy: policy.driver,
  });
  manager.on('disconnected', () => link.refresh());
  policy.driver.start();
  await manager.start();
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
  if (panel) process.stdout.write(`contributor panel at ${panel.openUrl}\n`);
  process.stdout.write(`contributor ${manager.contributorId} serving ${url}\n`);
  await untilSignal();
  await panel?.close();
  policy.driver.stop();
  await manager.stop();
  await link.stop();
  return 0;
}

interface Local {
  coordinator: RunningCoordinator;
  manager: ContributorManager;
  close(): Promise<void>;
}

/** A coordinator and a contributor on this machine, bound to 127.0.0.1 (SPEC §4 `up`). */
async function startLocal(
  dataDir: string,
  log: Logger,
  workers: number,
  port: number,
): Promise<Local> {
  const coordinator = await startCoordinator({ dataDir, host: '127.0.0.1', port, logger: log });
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

export async function runUp(o: { data?: string; port: string; workers?: string }): Promise<number> {
  const dataDir = o.data ? resolve(o.data) : defaultDataDir();
  const local = await startLocal(
    dataDir,
    fileLogger(join(dataDir, 'colony.log')),
    parseWorkers(o.workers),
    parsePort(o.port),
  );
  process.stdout.write(
    // The token rides in the URL fragment, which browsers never send to a server or its logs.
    `Colony is up at ${local.coordinator.url}\n  GUI: ${local.coordinator.url}/#token=${local.coordinator.identity.adminToken}\n  (the certificate is self-signed: its sha256 is ${local.coordinator.fingerprint})\n  logs: ${join(dataDir, 'colony.log')}\nPress Ctrl-C to stop.\n`,
  );
  await untilSignal();
  await local.close();
  return 0;
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
