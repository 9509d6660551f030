// Promise: bad job files, API bodies, blobs and tokens get clear 4xx errors and change nothing.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { PinnedAgent, pinnedFetch } from '../../electron/grid/trust/pinned.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  startCoordinator,
  type RunningCoordinator,
} from '../../electron/grid/coordinator/coordinator.js';
import { Cluster } from './helpers/cluster.js';

const sha = (data: string) => createHash('sha256').update(data).digest('hex');

describe('bad input of any kind', () => {
  let dir: string;
  let coordinator: RunningCoordinator;
  let admin: string;
  const api = (
    path: string,
    init: { method?: string; body?: string; headers?: Record<string, string> } = {},
    token: string | null = admin,
  ) =>
    pinnedFetch(new PinnedAgent(coordinator.fingerprint))(`${coordinator.url}/api/v1${path}`, {
      ...init,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...init.headers,
      },
    });
  const postJob = (body: unknown) =>
    api('/jobs', {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
  const jobCount = async () => ((await (await api('/jobs')).json()) as unknown[]).length;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'colony-bad-'));
    coordinator = await startCoordinator({
      dataDir: dir,
      port: 0,
      logger: pino({ level: 'silent' }),
      maxBodyBytes: 1_000_000,
      maxTasksPerJob: 10_000,
      // Every route is called with three bad tokens: more than the default failed-auth limit
      // allows in a minute (the limit itself is tested in test/chaos/authorization.test.ts).
      rateLimit: { failedAuthPerMinute: 10_000 },
    });
    admin = coordinator.identity.adminToken;
  });
  afterAll(async () => {
    await coordinator.close();
    await rm(dir, { recursive: true, force: true });
  });

  const moduleText = 'export default async (x) => x;\n';
  const good = () => ({
    name: 'ok',
    runtime: 'node',
    module: { name: 'm.mjs', sha256: sha(moduleText), size: moduleText.length },
    tasks: { inputs: [1, 2] },
  });

  it.each([
    ['no name', { ...good(), name: undefined }, 'name'],
    ['unknown runtime', { ...good(), runtime: 'python' }, 'runtime'],
    ['node without module', { ...good(), module: undefined }, 'module'],
    ['two task sources', { ...good(), tasks: { inputs: [1], sweep: { x: [1] } } }, 'tasks'],
    ['empty sweep axis', { ...good(), tasks: { sweep: { x: [] } } }, 'tasks.sweep.x'],
    [
      'zero range step',
      { ...good(), tasks: { sweep: { x: { range: [0, 10, 0] } } } },
      'tasks.sweep.x.range',
    ],
    ['bad sha', { ...good(), module: { name: 'm.mjs', sha256: 'xyz', size: 1 } }, 'module.sha256'],
    ['negative timeout', { ...good(), limits: { timeoutSec: -1 } }, 'limits.timeoutSec'],
    [
      'escaping path',
      { ...good(), files: [{ name: '../etc/passwd', sha256: sha('x'), size: 1 }] },
      'files.0.name',
    ],
    ['unknown field', { ...good(), colour: 'red' }, 'colour'],
    ['not an object', [1, 2, 3], ''],
  ])('POST /jobs with %s: 400 naming %s, nothing stored', async (_what, body, field) => {
    const before = await jobCount();
    const res = await postJob(body);
    expect(res.status).toBe(400);
    const err = (await res.json()) as {
      error: { code: string; message: string; details: { issues: { field: string }[] } };
    };
    expect(err.error.code).toBe('BAD_INPUT');
    expect(err.error.details.issues.map((i) => i.field)).toContain(field);
    expect(await jobCount()).toBe(before);
  });

  it.each([
    ['GET', '/jobs/NOT-A-JOB', 'id'],
    ['GET', '/jobs/j00000000/tasks?limit=5000', 'limit'],
    ['GET', '/jobs/j00000000/tasks/-1', 'idx'],
    ['POST', '/settings/rotate/everything', 'which'],
    ['POST', '/contributors/bad%20id/approve', 'id'],
  ])('%s %s: the route schema answers 400 naming %s', async (method, path, field) => {
    const res = await api(path, { method });
    expect(res.status).toBe(400);
    const err = (await res.json()) as {
      error: { code: string; details: { issues: { field: string }[] } };
    };
    expect(err.error.code).toBe('BAD_INPUT');
    expect(err.error.details.issues.map((i) => i.field)).toContain(field);
  });

  it('refuses a job whose blobs were never uploaded, naming the field', async () => {
    const res = await postJob(good());
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
      /module: blob .* not uploaded/,
    );
    expect(await jobCount()).toBe(0);
  });

  it('refuses malformed JSON, bodies over the configured limit and jobs with too many tasks', async () => {
    const res = await api('/jobs', {
      method: 'POST',
      body: '{"name": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    const huge = await postJob({ ...good(), tasks: { inputs: Array(600_000).fill(1) } });
    expect(huge.status).toBe(413);
    await api(`/blobs/${sha(moduleText)}`, {
      method: 'PUT',
      body: moduleText,
      headers: { 'content-type': 'application/octet-stream' },
    });
    const many = await postJob({ ...good(), tasks: { sweep: { x: { range: [0, 10_001] } } } });
    expect(many.status).toBe(413);
    expect(((await many.json()) as { error: { message: string } }).error.message).toMatch(
      /more than 10000 tasks/,
    );
    expect(await jobCount()).toBe(0);
  });

  it('refuses a blob whose content does not match its hash, and keeps nothing', async () => {
    const res = await api(`/blobs/${sha('the real content')}`, {
      method: 'PUT',
      body: 'something else',
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      'BLOB_HASH_MISMATCH',
    );
    expect((await api(`/blobs/${sha('the real content')}`)).status).toBe(404);
    const stored = await readdir(join(dir, 'blobs'), { recursive: true });
    expect(stored.filter((f) => f.endsWith(sha('the real content')))).toEqual([]);
  });

  it('answers 401 on every route without a token or with a wrong one (routes enumerated from the server)', async () => {
    const apiRoutes = coordinator.routes.filter((r) => r.url.startsWith('/api/'));
    // Public on purpose, and only these: health, and asking to pair (claims are signed).
    const open = (a: string) => a === 'public' || a === 'pairing';
    expect(
      apiRoutes
        .filter((r) => open(r.access))
        .map((r) => `${r.method} ${r.url}`)
        .sort(),
    ).toEqual(['GET /api/v1/health', 'POST /api/v1/pairing', 'POST /api/v1/pairing/:id/claim']);
    const routes = apiRoutes.filter((r) => !open(r.access) && !r.url.endsWith('/connect'));
    expect(routes.length).toBeGreaterThanOrEqual(15);
    for (const route of routes) {
      const path = route.url
        .replace('/api/v1', '')
        .replace(':id', route.url.includes('/jobs/') ? 'j00000000' : 'c1')
        .replace(':idx', '0')
        .replace(':sha', sha('x'));
      for (const token of [null, 'wrong-token', coordinator.identity.adminToken.slice(1)]) {
        const res = await api(path, { method: route.method }, token);
        expect(res.status, `${route.method} ${route.url} with ${token ?? 'no token'}`).toBe(401);
      }
    }
    expect((await api('/health', {}, null)).status).toBe(200);
  });

  it('keeps contributors to blobs: their credential, or the join secret, cannot call admin routes', async () => {
    const credential = await coordinator.credentials.join('c-limited', 'limited');
    for (const path of ['/jobs', '/contributors']) {
      expect((await api(path, {}, credential)).status).toBe(403);
      expect((await api(path, {}, coordinator.identity.joinSecret)).status).toBe(403);
    }
    // A blob none of its attempts needs: refused before anyone looks whether it exists.
    expect((await api(`/blobs/${sha('x')}`, {}, credential)).status).toBe(403);
  });

  it('refuses a contributor connection with a wrong join secret, and closes on bad frames', async () => {
    const agent = new PinnedAgent(coordinator.fingerprint);
    const ws = new WebSocket(`${coordinator.url.replace('https', 'wss')}/api/v1/connect`, {
      headers: { authorization: 'Bearer nope' },
      agent,
    });
    const status = await new Promise<number>((r) =>
      ws.on('unexpected-response', (_req, res) => r(res.statusCode ?? 0)),
    );
    expect(status).toBe(401);

    const credential = await coordinator.credentials.join('c-frames', 'frames');
    const good = new WebSocket(`${coordinator.url.replace('https', 'wss')}/api/v1/connect`, {
      headers: { authorization: `Bearer ${credential}` },
      agent,
    });
    await new Promise((r) => good.once('open', r));
    const messages: string[] = [];
    good.on('message', (m: Buffer) => messages.push(m.toString('utf8')));
    good.send(JSON.stringify({ type: 'ready', slots: 'many' }));
    const code = await new Promise<number>((r) => good.once('close', (c) => r(c)));
    expect(code).toBe(4002);
    expect(messages.join()).toMatch(/slots/);
    const contributors = (await (await api('/contributors')).json()) as { id: string }[];
    expect(contributors.map((c) => c.id)).not.toContain('c-frames');
  });
});

describe('colony submit with a bad job file', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.create();
    await cluster.startCoordinator();
  });
  afterAll(() => cluster.stop());

  it.each([
    [
      'a missing field',
      'name: x\nruntime: node\ntasks: { inputs: [1] }\n',
      /module: required for runtime node/,
    ],
    ['broken YAML', 'name: [unclosed\n', /not valid YAML/],
    [
      'a missing module file',
      'name: x\nruntime: node\nmodule: ./nope.mjs\ntasks: { inputs: [1] }\n',
      /module: cannot read/,
    ],
  ])('exits 2 on %s, names the field, and stores nothing', async (_what, yaml, message) => {
    const file = await cluster.writeJob(`bad-${Math.random().toString(36).slice(2)}`, {
      'job.yaml': yaml,
    });
    const res = await cluster.cli(['submit', file, '--data', cluster.dataDir]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(message);
    const jobs = await cluster.cli(['jobs', '--json', '--data', cluster.dataDir]);
    expect(JSON.parse(jobs.stdout)).toEqual([]);
  });

  it('exits 3 when the token is wrong', async () => {
    const res = await cluster.cli(['jobs', '--data', cluster.dataDir, '--token', 'wrong']);
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(/admin token/);
  });
});
