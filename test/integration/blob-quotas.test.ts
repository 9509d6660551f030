// Promise: a credential stores only what it may. A contributor uploads only outputs of attempts it
// holds, within the job's output limits; the store has a quota (507 past it); declared sizes are
// checked against the blobs; blobs no job references are collected; a huge body is a clear 413.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  startCoordinator,
  type RunningCoordinator,
} from '../../electron/grid/coordinator/coordinator.js';
import { PinnedAgent, pinnedFetch } from '../../electron/grid/trust/pinned.js';
import type { Assignment } from '../../shared/protocol.js';
import { Cluster } from './helpers/cluster.js';

const sha = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const MODULE = 'export default async (x) => x;\n';

describe('blob quotas against a live coordinator', () => {
  let dir: string;
  let coordinator: RunningCoordinator;
  let agent: PinnedAgent;
  const admin = () => coordinator.identity.adminToken;
  const call = async (
    method: string,
    path: string,
    o: { token?: string; body?: string | Buffer; type?: string; headers?: Record<string, string> },
  ) => {
    const res = await pinnedFetch(agent)(`${coordinator.url}/api/v1${path}`, {
      method,
      headers: {
        ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
        ...(o.body !== undefined ? { 'content-type': o.type ?? 'application/json' } : {}),
        ...o.headers,
      },
      ...(o.body !== undefined ? { body: o.body } : {}),
    });
    const text = await res.text();
    return { status: res.status, text };
  };
  const put = (data: string | Buffer, token: string, headers: Record<string, string> = {}) =>
    call('PUT', `/blobs/${sha(data)}`, {
      token,
      body: data,
      type: 'application/octet-stream',
      headers,
    });
  const stored = async () =>
    (await readdir(join(dir, 'blobs'), { recursive: true }))
      .filter((f) => /[0-9a-f]{64}$/.test(f))
      .sort();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'colony-quota-'));
    coordinator = await startCoordinator({
      dataDir: dir,
      port: 0,
      logger: pino({ level: 'silent' }),
      maxStoreBytes: 64 * 1024,
      unreferencedBlobMs: 60_000,
    });
    agent = new PinnedAgent(coordinator.fingerprint);
    expect((await put(MODULE, admin())).status).toBe(201);
  });
  afterAll(async () => {
    agent.destroy();
    await coordinator.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a contributor credential cannot store a blob that is not an output of an attempt it holds', async () => {
    const credential = await coordinator.credentials.join('c-uploader', 'uploader');
    const before = await stored();
    for (const headers of [{}, { 'x-colony-attempt': 'a-not-live' }] as Record<string, string>[]) {
      const res = await put('junk the contributor wants stored', credential, headers);
      expect(res.status).toBe(403);
      expect(res.text).toMatch(/only outputs of attempts it holds/);
    }
    expect(await stored()).toEqual(before);
  });

  it('the store quota: an upload past it is 507 naming the quota, and nothing is kept', async () => {
    const before = await stored();
    const big = Buffer.alloc(40 * 1024, 1);
    expect((await put(big, admin())).status).toBe(201);
    const more = Buffer.alloc(40 * 1024, 2);
    const res = await put(more, admin());
    expect(res.status).toBe(507);
    const { error } = JSON.parse(res.text) as { error: { code: string; message: string } };
    expect(error.code).toBe('QUOTA_EXCEEDED');
    expect(error.message).toMatch(/of its 65536-byte quota/);
    expect(await stored()).toEqual([...before, `${sha(big).slice(0, 2)}/${sha(big)}`].sort());
  });

  it('a declared size that does not match the blob is a 400 naming the field', async () => {
    const res = await call('POST', '/jobs', {
      token: admin(),
      body: JSON.stringify({
        name: 'lying',
        runtime: 'node',
        module: { name: 'm.mjs', sha256: sha(MODULE), size: MODULE.length + 1000 },
        tasks: { inputs: [1] },
      }),
    });
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/module\.size/);
    expect(res.text).toMatch(/declared size/);
  });

  it('unreferenced blobs are collected after the grace; referenced ones stay', async () => {
    const job = await call('POST', '/jobs', {
      token: admin(),
      body: JSON.stringify({
        name: 'keeps its module',
        runtime: 'node',
        module: { name: 'm.mjs', sha256: sha(MODULE), size: MODULE.length },
        tasks: { inputs: [1] },
      }),
    });
    expect(job.status).toBe(201);
    // Within the grace nothing goes; after it, only what no job references.
    expect((await coordinator.quota.collect()).removed).toBe(0);
    const bytesBefore = coordinator.quota.bytes;
    const { removed, bytes } = await coordinator.quota.collect(Date.now() + 120_000);
    expect(removed).toBe(1); // the 40 KiB upload of the quota test
    expect(coordinator.quota.bytes).toBe(bytesBefore - bytes);
    expect(await stored()).toEqual([`${sha(MODULE).slice(0, 2)}/${sha(MODULE)}`]);
    // With room again, uploads work.
    expect((await put(Buffer.alloc(40 * 1024, 3), admin())).status).toBe(201);
  });

  it('a 12 MB body of 1.5 M inputs is a 413 that names the limit', async () => {
    const body = JSON.stringify({
      name: 'huge',
      runtime: 'node',
      module: { name: 'm.mjs', sha256: sha(MODULE), size: MODULE.length },
      tasks: { inputs: Array.from({ length: 1_500_000 }, (_, i) => i % 1000) },
    });
    expect(body.length).toBeGreaterThan(5_000_000);
    const res = await call('POST', '/jobs', { token: admin(), body });
    expect(res.status).toBe(413);
    expect(res.text).toMatch(/larger than the limit of 4194304 bytes/);
  });

  it('a result naming an output with the wrong size fails its attempt with that reason', async () => {
    const job = await call('POST', '/jobs', {
      token: admin(),
      body: JSON.stringify({
        name: 'outputs',
        runtime: 'command',
        command: ['true'],
        outputs: ['out.txt'],
        tasks: { inputs: [1] },
        limits: { maxAttempts: 1 },
      }),
    });
    expect(job.status, job.text).toBe(201);
    const jobId = (JSON.parse(job.text) as { id: string }).id;
    const credential = await coordinator.credentials.join('c-liar', 'liar');
    const ws = new WebSocket(`${coordinator.url.replace('https', 'wss')}/api/v1/connect`, {
      headers: { authorization: `Bearer ${credential}` },
      agent,
    });
    const assigned = new Promise<Assignment>((resolve) =>
      ws.on('message', (m: Buffer) => {
        for (const msg of [JSON.parse(m.toString('utf8')) as unknown].flat() as {
          type: string;
          attempts?: Assignment[];
        }[])
          if (msg.type === 'assign' && msg.attempts?.[0]) resolve(msg.attempts[0]);
      }),
    );
    await new Promise((r) => ws.once('open', r));
    ws.send(
      JSON.stringify({
        type: 'hello',
        protocol: 1,
        contributorId: 'c-liar',
        name: 'liar',
        caps: {
          cores: 1,
          memoryMb: 1024,
          platform: 'linux',
          arch: 'x64',
          runtimes: ['command'],
          tags: [],
          slots: 1,
        },
        heartbeatMs: 60_000,
        running: [],
      }),
    );
    ws.send(JSON.stringify({ type: 'ready', slots: 1 }));
    const attempt = await assigned;
    const output = 'real output';
    // Its own attempt's output uploads; one past the job's output limit would not.
    expect((await put(output, credential, { 'x-colony-attempt': attempt.attemptId })).status).toBe(
      201,
    );
    ws.send(
      JSON.stringify({
        type: 'result',
        attemptId: attempt.attemptId,
        state: 'succeeded',
        outputFiles: [{ name: 'out.txt', sha256: sha(output), size: 1_000_000 }],
        wallMs: 1,
        cpuMs: 1,
      }),
    );
    let summary: { state: string } = { state: '' };
    for (let i = 0; i < 100 && summary.state !== 'failed'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      summary = JSON.parse((await call('GET', `/jobs/${jobId}`, { token: admin() })).text) as {
        state: string;
      };
    }
    expect(summary.state).toBe('failed');
    const tasks = (await call('GET', `/jobs/${jobId}/tasks`, { token: admin() })).text;
    expect(tasks).toMatch(/output out\.txt: declared size 1000000 but blob/);
    ws.close();
  });
});

describe('output limits of a job, with a real contributor', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.create();
    await cluster.startCoordinator();
    await cluster.startContributor('worker', 1, ['--allow-commands']);
  });
  afterAll(() => cluster.stop());

  it('an attempt uploading more output files than limits.maxOutputFiles fails saying so; within limits it succeeds', async () => {
    const job = (name: string, maxOutputFiles: number) =>
      cluster.writeJob(name, {
        'job.yaml': [
          `name: ${name}`,
          'runtime: command',
          'command: [sh, -c, "echo a > a.txt; echo b > b.txt; echo c > c.txt"]',
          'outputs: ["*.txt"]',
          'tasks: { inputs: [1] }',
          `limits: { maxAttempts: 1, maxOutputFiles: ${maxOutputFiles} }`,
          '',
        ].join('\n'),
      });
    const over = await cluster.cli([
      'submit',
      await job('too-many-outputs', 2),
      '--data',
      cluster.dataDir,
      '--wait',
    ]);
    expect(over.code).toBe(1);
    const id = (await cluster.cli(['jobs', '--json', '--data', cluster.dataDir])).stdout;
    const jobId = (JSON.parse(id) as { id: string; name: string }[]).find(
      (j) => j.name === 'too-many-outputs',
    )?.id as string;
    const detail = await cluster.cli(['results', jobId, '--data', cluster.dataDir]);
    expect(detail.stdout + detail.stderr).toMatch(/limits\.maxOutputFiles/);
    const within = await cluster.cli([
      'submit',
      await job('enough-outputs', 3),
      '--data',
      cluster.dataDir,
      '--wait',
    ]);
    expect(within.code, within.stderr).toBe(0);
  });
});
