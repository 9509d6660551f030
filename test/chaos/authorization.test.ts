// Promise: who may call a route is decided on the route the server matched, never on how the URL
// was spelled. Every non-public route of a live coordinator and of a live contributor panel —
// taken from the servers' own route tables — is sent under many spellings of its path (percent-
// encoding, case, slashes, dot segments, `;`, encoded slashes, backslashes, query and fragment
// tricks) with no token, a wrong one and a credential of the wrong kind: never a 2xx (nor a 101
// upgrade), and nothing changes.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCoordinator,
  type RunningCoordinator,
} from '../../electron/grid/coordinator/coordinator.js';
import type { ManagerStatus } from '../../electron/grid/contributor/manager/manager-types.js';
import { OwnerPolicy } from '../../electron/grid/contributor/policy/owner-policy.js';
import {
  startPanelServer,
  type RunningPanel,
} from '../../electron/grid/contributor/panel/panel-server.js';
import { PolicyDriver } from '../../electron/grid/contributor/policy/policy-driver.js';
import { PinnedAgent, pinnedFetch } from '../../electron/grid/trust/pinned.js';
import { ownerPolicySettingsSchema } from '../../shared/owner-policy.js';
import { rawRequest, SPELLINGS, spelled } from './helpers/spellings.js';
import { report, scale } from './helpers/scale.js';

const RUNS_PER_ROUTE = scale(25, 200);
const LONG = { timeout: scale(120_000, 900_000) };
const sha = (data: string) => createHash('sha256').update(data).digest('hex');
const MODULE = 'export default async (x) => x;\n';
const UPGRADE = {
  connection: 'Upgrade',
  upgrade: 'websocket',
  'sec-websocket-version': '13',
  'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
};

/** A body each write route would accept if it were let through. */
function bodyFor(method: string, url: string, jobSpec: unknown): string | undefined {
  if (method === 'GET' || method === 'HEAD' || method === 'DELETE') return undefined;
  if (url.endsWith('/priority')) return JSON.stringify({ priority: 5 });
  if (url.endsWith('/jobs') || url.endsWith('/dry-run')) return JSON.stringify(jobSpec);
  if (url.endsWith('/join')) return JSON.stringify({ contributorId: 'intruder', name: 'x' });
  if (url.endsWith('/pause')) return JSON.stringify({ kind: 'hour' });
  if (url.endsWith('/policy'))
    return JSON.stringify(
      ownerPolicySettingsSchema.parse({ computeWhen: 'always', maxWorkers: 1 }),
    );
  return '{}';
}

class FakeManager extends EventEmitter {
  status(): ManagerStatus {
    return {
      contributorId: 'c-panel',
      connected: true,
      slots: 1,
      maxSlots: 1,
      freeSlots: 1,
      promised: 0,
      running: [],
      unacknowledged: [],
    };
  }
}

describe('authorization is decided on the matched route, whatever the spelling', () => {
  let dir: string;
  let coordinator: RunningCoordinator;
  let agent: PinnedAgent;
  let panel: RunningPanel;
  let driver: PolicyDriver;
  let saved = 0;
  let jobId: string;
  let contributorCredential: string;
  let sent = 0;
  const byKind = new Map<string, number>();

  const admin = () => coordinator.identity.adminToken;
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await pinnedFetch(agent)(`${coordinator.url}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${admin()}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, json: await res.json() };
  };
  /** Everything a let-through request could have changed on the coordinator. */
  const coordinatorState = async () =>
    JSON.stringify([
      await readFile(join(dir, 'identity.json'), 'utf8'),
      (await api('GET', '/jobs')).json,
      (await api('GET', '/contributors')).json,
      (await api('GET', '/pairing')).json,
      coordinator.engine.store.db.exec('SELECT contributor_id, hash, state FROM credentials'),
      (await readdir(join(dir, 'blobs'), { recursive: true })).sort(),
    ]);
  const panelState = () =>
    JSON.stringify([driver.policy.settings, driver.policy.snooze ?? null, saved]);

  const jobSpec = () => ({
    name: 'target',
    runtime: 'node',
    module: { name: 'm.mjs', sha256: sha(MODULE), size: MODULE.length },
    tasks: { inputs: [1, 2] },
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'colony-authz-'));
    coordinator = await startCoordinator({
      dataDir: dir,
      port: 0,
      logger: pino({ level: 'silent' }),
      // The limiter would answer 429 long before the spellings run out; it has its own test.
      rateLimit: { failedAuthPerMinute: 1_000_000, enrolPerMinute: 1_000_000 },
    });
    agent = new PinnedAgent(coordinator.fingerprint);
    await pinnedFetch(agent)(`${coordinator.url}/api/v1/blobs/${sha(MODULE)}`, {
      method: 'PUT',
      body: MODULE,
      headers: { authorization: `Bearer ${admin()}`, 'content-type': 'application/octet-stream' },
    });
    const submitted = await api('POST', '/jobs', jobSpec());
    expect(submitted.status).toBe(201);
    jobId = (submitted.json as { id: string }).id;
    contributorCredential = await coordinator.credentials.join('c-real', 'real');

    const policy = new OwnerPolicy(ownerPolicySettingsSchema.parse({ computeWhen: 'always' }), {
      cores: 2,
    });
    driver = new PolicyDriver({ policy, sample: () => ({ otherCpuLoad: 0, onBattery: false }) });
    panel = await startPanelServer({
      dataDir: dir,
      manager: new FakeManager(),
      coordinator: () => ({ id: 'coord', url: coordinator.url }),
      driver,
      settings: () => driver.policy.settings,
      save: async () => {
        saved++;
      },
    });
  });
  afterAll(async () => {
    await panel?.close();
    await coordinator?.close();
    await rm(dir, { recursive: true, force: true });
    report({
      kind: 'path spellings against admin/contributor/panel routes',
      faults: sent,
      jobs: 1,
      tasks: 0,
      lost: 0,
      duplicated: 0,
      wrong: 0,
      recoveryMs: [],
      note: `${Object.keys(SPELLINGS).length} kinds of spelling, all non-2xx; state unchanged`,
    });
  });

  it('reproduces the report: GET /%61pi/v1/jobs without a token is not answered', async () => {
    for (const path of ['/%61pi/v1/jobs', '/api/v1/%6aobs', '/%61pi/v1/settings']) {
      const res = await rawRequest({ url: coordinator.url, method: 'GET', path, agent });
      expect(res.status, `${path}: ${res.body}`).toBeGreaterThanOrEqual(400);
    }
    const policy = await rawRequest({
      url: panel.url,
      method: 'PUT',
      path: '/%61pi/v1/policy',
      headers: { 'content-type': 'application/json' },
      body: bodyFor('PUT', '/policy', null),
    });
    expect(policy.status, policy.body).toBeGreaterThanOrEqual(400);
  });

  it('the public routes are exactly these, and everything else needs a credential', () => {
    const pub = (routes: { method: string; url: string; access: string }[]) =>
      routes
        .filter((r) => r.access === 'public' || r.access === 'pairing')
        .map((r) => `${r.method} ${r.url}`)
        .filter((r) => !r.includes('/assets/'))
        .sort();
    expect(pub(coordinator.routes)).toEqual([
      'GET /',
      'GET /api/v1/health',
      'GET /index.html',
      'POST /api/v1/pairing',
      'POST /api/v1/pairing/:id/claim',
    ]);
    expect(pub(panel.routes)).toEqual(['GET /', 'GET /index.html']);
  });

  const fill = (url: string) =>
    url
      .replace(':id', url.includes('/jobs/') ? jobId : 'c-real')
      .replace(':idx', '0')
      .replace(':sha', sha(MODULE))
      .replace(':which', 'admin');

  it(
    'coordinator: every guarded route under every spelling, without the right credential, is never 2xx and changes nothing',
    LONG,
    async () => {
      const before = await coordinatorState();
      const routes = coordinator.routes.filter(
        (r) => r.access !== 'public' && r.access !== 'pairing',
      );
      expect(routes.length).toBeGreaterThanOrEqual(20);
      for (const route of routes) {
        const path = fill(route.url);
        // A contributor credential is "wrong" for admin routes; the join secret for all but /join.
        const tokens = [
          null,
          'wrong-token',
          admin().slice(1),
          ...(route.access === 'admin' ? [contributorCredential] : []),
          ...(route.access !== 'join' ? [coordinator.identity.joinSecret] : []),
        ];
        await fc.assert(
          fc.asyncProperty(spelled(path), fc.constantFrom(...tokens), async (s, token) => {
            sent++;
            for (const k of s.kinds) byKind.set(k, (byKind.get(k) ?? 0) + 1);
            const res = await rawRequest({
              url: coordinator.url,
              method: route.method,
              path: s.path,
              agent,
              headers: {
                ...(token ? { authorization: `Bearer ${token}` } : {}),
                ...(route.url.endsWith('/connect') ? UPGRADE : {}),
                ...(bodyFor(route.method, route.url, jobSpec()) !== undefined
                  ? { 'content-type': 'application/json' }
                  : {}),
              },
              body: bodyFor(route.method, route.url, jobSpec()),
            });
            const what = `${route.method} ${s.path} (${s.kinds.join(', ')}) token ${token ? 'wrong' : 'none'}: ${res.status} ${res.body.slice(0, 200)}`;
            expect(res.status >= 200 && res.status < 300, what).toBe(false);
            expect(res.status, what).not.toBe(101);
          }),
          { numRuns: RUNS_PER_ROUTE },
        );
      }
      expect(await coordinatorState()).toBe(before);
    },
  );

  it(
    'panel: every guarded route under every spelling, without the token, is never 2xx and changes nothing',
    LONG,
    async () => {
      const before = panelState();
      const routes = panel.routes.filter((r) => r.access !== 'public');
      expect(routes.length).toBeGreaterThanOrEqual(5);
      for (const route of routes) {
        const body = bodyFor(route.method, route.url, null);
        await fc.assert(
          fc.asyncProperty(
            spelled(route.url),
            fc.constantFrom(null, 'wrong-token', panel.token.slice(1)),
            async (s, token) => {
              sent++;
              const res = await rawRequest({
                url: panel.url,
                method: route.method,
                path: s.path,
                headers: {
                  ...(token ? { authorization: `Bearer ${token}` } : {}),
                  ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
                },
                body,
              });
              const what = `${route.method} ${s.path} (${s.kinds.join(', ')}): ${res.status} ${res.body.slice(0, 200)}`;
              expect(res.status >= 200 && res.status < 300, what).toBe(false);
            },
          ),
          { numRuns: RUNS_PER_ROUTE },
        );
      }
      expect(panelState()).toBe(before);
    },
  );

  it('a page on another site cannot write: text/plain bodies are 415, a foreign Origin is 403', async () => {
    const before = await coordinatorState();
    const panelBefore = panelState();
    const body = bodyFor('POST', '/jobs', jobSpec()) as string;
    const post = (headers: Record<string, string>) =>
      rawRequest({
        url: coordinator.url,
        method: 'POST',
        path: '/api/v1/jobs',
        agent,
        headers: { authorization: `Bearer ${admin()}`, ...headers },
        body,
      });
    expect((await post({ 'content-type': 'text/plain' })).status).toBe(415);
    expect((await post({ 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(415);
    const foreign = await post({
      'content-type': 'application/json',
      origin: 'https://evil.example',
    });
    expect(foreign.status).toBe(403);
    expect(foreign.body).toMatch(/origin https:\/\/evil\.example/);
    const put = (headers: Record<string, string>) =>
      rawRequest({
        url: panel.url,
        method: 'PUT',
        path: '/api/v1/policy',
        headers: { authorization: `Bearer ${panel.token}`, ...headers },
        body: bodyFor('PUT', '/policy', null),
      });
    expect((await put({ 'content-type': 'text/plain' })).status).toBe(415);
    expect(
      (await put({ 'content-type': 'application/json', origin: 'http://evil.example' })).status,
    ).toBe(403);
    expect(
      (
        await put({
          'content-type': 'application/json',
          host: `evil.example:${panel.port}`,
        })
      ).status,
    ).toBe(403);
    expect(await coordinatorState()).toBe(before);
    expect(panelState()).toBe(panelBefore);
  });

  it('the right credential still works, and a path that matches no route is a bare 404', async () => {
    expect((await api('GET', `/jobs/${jobId}`)).status).toBe(200);
    for (const path of ['/api/v1/nope', '/api/v1/jobs/x/y/z', '/nope', '/api/v2/jobs']) {
      for (const token of [null, admin()]) {
        const res = await rawRequest({
          url: coordinator.url,
          method: 'GET',
          path,
          agent,
          headers: token ? { authorization: `Bearer ${token}` } : {},
        });
        expect(res.status, path).toBe(404);
        expect(JSON.parse(res.body)).toEqual({
          error: { code: 'NOT_FOUND', message: 'no such route' },
        });
      }
    }
    const status = await rawRequest({
      url: panel.url,
      method: 'GET',
      path: '/api/v1/status',
      headers: { authorization: `Bearer ${panel.token}` },
    });
    expect(status.status).toBe(200);
  });
});

describe('rate limits on failed authentication and on joining/pairing', () => {
  let dir: string;
  let coordinator: RunningCoordinator;
  let agent: PinnedAgent;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'colony-limits-'));
    coordinator = await startCoordinator({
      dataDir: dir,
      port: 0,
      logger: pino({ level: 'silent' }),
      rateLimit: { failedAuthPerMinute: 5, enrolPerMinute: 3 },
    });
    agent = new PinnedAgent(coordinator.fingerprint);
  });
  afterAll(async () => {
    agent.destroy();
    await coordinator.close();
    await rm(dir, { recursive: true, force: true });
  });
  const get = (path: string, token?: string) =>
    rawRequest({
      url: coordinator.url,
      method: 'GET',
      path,
      agent,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });

  it('answers 429 once an address failed too often, to every token; valid tokens are not counted', async () => {
    for (let i = 0; i < 20; i++)
      expect((await get('/api/v1/jobs', coordinator.identity.adminToken)).status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await get('/api/v1/jobs', `guess-${i}`)).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
    // Now even the right token waits: a guesser must not tell a hit from a miss.
    expect((await get('/api/v1/jobs', coordinator.identity.adminToken)).status).toBe(429);
    const limited = await get('/api/v1/settings');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    const { error } = JSON.parse(limited.body) as { error: { code: string; message: string } };
    expect(error.code).toBe('TOO_MANY_REQUESTS');
    expect(error.message).toMatch(/try again in \d+ s/);
  });

  it('limits pairing requests per address, whatever their body', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await rawRequest({
        url: coordinator.url,
        method: 'POST',
        path: '/api/v1/pairing',
        agent,
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([400, 400, 400, 429, 429]);
  });
});
