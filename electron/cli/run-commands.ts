// The long-running faces: coordinator, contributor, up (both on this machine) and demo.
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import type { JobSummary } from '../../shared/api.js';
import { ColonyError } from '../../shared/errors.js';
import { startCoordinator, type RunningCoordinator } from '../grid/coordinator/coordinator.js';
import { ContributorManager } from '../grid/contributor/manager.js';
import { parseJoinToken } from '../grid/trust/join-token.js';
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

export async function runCoordinator(o: {
  data?: string;
  host: string;
  port: string;
  name?: string;
}): Promise<number> {
  const dataDir = o.data ? resolve(o.data) : defaultDataDir();
  const coordinator = await startCoordinator({
    dataDir,
    host: o.host,
    port: parsePort(o.port),
    logger: stderrLogger(),
    ...(o.name ? { name: o.name } : {}),
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
}): Promise<number> {
  const heartbeatMs = Number(o.heartbeat ?? 2000);
  if (!Number.isInteger(heartbeatMs) || heartbeatMs < 50 || heartbeatMs > 600_000)
    throw new ColonyError(
      'BAD_INPUT',
      `--heartbeat: ${o.heartbeat} is not a number of milliseconds (50-600000)`,
    );
  const token = o.join ?? process.env.COLONY_JOIN;
  if (!token)
    throw new ColonyError(
      'BAD_INPUT',
      'a contributor needs --join TOKEN (print one with `colony token join` on the coordinator)',
    );
  const joinToken = parseJoinToken(token);
  const url = o.coordinator ?? (joinToken.address ? `http://${joinToken.address}` : undefined);
  if (!url)
    throw new ColonyError(
      'BAD_INPUT',
      'the join token carries no address: pass --coordinator URL (mDNS discovery is not built yet)',
    );
  const manager = new ContributorManager({
    url,
    credential: joinToken.secret,
    dataDir: o.data ? resolve(o.data) : join(defaultDataDir(), 'contributor'),
    maxSlots: parseWorkers(o.workers),
    allowCommands: o.allowCommands ?? false,
    heartbeatMs,
    logger: stderrLogger(),
  });
  await manager.start();
  process.stdout.write(`contributor ${manager.contributorId} serving ${url}\n`);
  await untilSignal();
  await manager.stop();
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
  const manager = new ContributorManager({
    url: coordinator.url,
    credential: coordinator.identity.joinSecret,
    dataDir: join(dataDir, 'contributor'),
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
    `Colony is up at ${local.coordinator.url}\n  admin token: in ${join(dataDir, 'identity.json')}\n  logs: ${join(dataDir, 'colony.log')}\nPress Ctrl-C to stop.\n`,
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
    const client = new ApiClient(local.coordinator.url, local.coordinator.identity.adminToken);
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
