// A real Colony coordinator (and contributors) as child processes of the bench, via the built CLI.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiClient } from '../../../electron/cli/client.js';
import type { JobSummary } from '../../../shared/api.js';
import type { JobSpecInput } from '../../../shared/job-file.js';
import { CLI, spawnUntil, sleep, stop, type Proc } from './procs.js';

export interface CoordinatorProc extends Proc {
  url: string;
  /** sha256 of the coordinator's TLS certificate, as pinned by clients and contributors. */
  fingerprint: string;
  dataDir: string;
  joinSecret: string;
  coordinatorId: string;
  client: ApiClient;
  startMs: number;
  stop(): Promise<void>;
}

/** `colony coordinator` on 127.0.0.1, a free port and `dataDir`; `nodeArgs` e.g. --cpu-prof. */
export async function startCoordinatorProc(
  dataDir: string,
  nodeArgs: string[] = [],
): Promise<CoordinatorProc> {
  const t0 = performance.now();
  const proc = await spawnUntil(
    process.execPath,
    // Every simulated machine of the load sections joins from 127.0.0.1.
    [
      ...nodeArgs,
      CLI,
      'coordinator',
      '--data',
      dataDir,
      '--port',
      '0',
      '--no-mdns',
      '--joins-per-minute',
      '1000000',
    ],
    /listening at (https?:\/\/\S+)/,
    { env: { COLONY_LOG: 'warn' }, timeoutMs: 120_000 },
  );
  const startMs = performance.now() - t0;
  const id = JSON.parse(await readFile(join(dataDir, 'identity.json'), 'utf8')) as {
    adminToken: string;
    joinSecret: string;
    coordinatorId: string;
  };
  const url = proc.match[1] as string;
  const endpoint = JSON.parse(await readFile(join(dataDir, 'coordinator.json'), 'utf8')) as {
    fingerprint?: string;
  };
  const fingerprint = endpoint.fingerprint ?? '-';
  return {
    ...proc,
    url,
    fingerprint,
    dataDir,
    joinSecret: id.joinSecret,
    coordinatorId: id.coordinatorId,
    client: new ApiClient(url, id.adminToken, endpoint.fingerprint),
    startMs,
    stop: () => stop(proc, 10_000),
  };
}

/** `colony contributor` with `workers` worker processes, joined to `coord`. */
export async function startContributorProc(
  coord: CoordinatorProc,
  dataDir: string,
  workers: number,
  /** More `colony contributor` flags, e.g. --no-sandbox. */
  extraArgs: string[] = [],
): Promise<Proc & { stop(): Promise<void> }> {
  const port = new URL(coord.url).port;
  const token = `colony1.${coord.coordinatorId}.${coord.fingerprint}.${coord.joinSecret}@127.0.0.1:${port}`;
  const proc = await spawnUntil(
    process.execPath,
    [
      CLI,
      'contributor',
      '--join',
      token,
      '--data',
      dataDir,
      '--workers',
      String(workers),
      '--no-mdns',
      ...extraArgs,
    ],
    /contributor (\S+) serving/,
    { env: { COLONY_LOG: 'warn' } },
  );
  return { ...proc, stop: () => stop(proc, 10_000) };
}

/** Upload `data` as a blob; returns its reference for a job spec. */
export async function uploadBlob(
  client: ApiClient,
  name: string,
  data: Buffer,
): Promise<{ name: string; sha256: string; size: number }> {
  const sha256 = createHash('sha256').update(data).digest('hex');
  await client.request('PUT', `/blobs/${sha256}`, undefined, {
    contentType: 'application/octet-stream',
    data,
  });
  return { name, sha256, size: data.length };
}

const NOOP_MODULE = Buffer.from('export default async () => null;\n');

/** A node job of `tasks` no-op tasks (a one-axis sweep); resolves once the coordinator stored it. */
export async function submitSweep(
  client: ApiClient,
  tasks: number,
  opts: { module?: { name: string; data: Buffer }; extraAxes?: Record<string, unknown[]> } = {},
): Promise<{ id: string; submitMs: number }> {
  const mod = opts.module ?? { name: 'noop.mjs', data: NOOP_MODULE };
  const module = await uploadBlob(client, mod.name, mod.data);
  const spec: JobSpecInput = {
    name: `bench-${tasks}`,
    runtime: 'node',
    module,
    tasks: { sweep: { i: { range: [0, tasks] }, ...(opts.extraAxes as object) } },
    limits: { timeoutSec: 600, maxAttempts: 3 },
  };
  const t0 = performance.now();
  const job = await client.json<JobSummary>('POST', '/jobs', spec);
  return { id: job.id, submitMs: performance.now() - t0 };
}

/** Poll a job until it is final (bounded). */
export async function waitJob(
  client: ApiClient,
  id: string,
  timeoutMs: number,
  pollMs = 100,
): Promise<JobSummary> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await client.json<JobSummary>('GET', `/jobs/${id}`);
    if (['succeeded', 'failed', 'cancelled'].includes(job.state)) return job;
    if (Date.now() > deadline)
      throw new Error(
        `job ${id} still ${job.state} after ${timeoutMs} ms: ${JSON.stringify(job.counts)}`,
      );
    await sleep(pollMs);
  }
}
