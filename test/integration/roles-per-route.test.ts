// Promise: every route of the coordinator — taken from its own route table — answers each kind of
// caller as the roles say: no token or a wrong one 401; a viewer reads; a submitter also submits
// and changes their own jobs (another submitter's job is 403 with a sentence); an admin does all;
// a contributor credential reaches only the contributor's routes. A route added without a line
// here is held to admin-only.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCoordinator,
  type RunningCoordinator,
} from '../../electron/grid/coordinator/coordinator.js';
import { PinnedAgent, pinnedFetch } from '../../electron/grid/trust/pinned.js';

const sha = (data: string) => createHash('sha256').update(data).digest('hex');
const MODULE = 'export default async (x) => x;\n';

type Who = 'none' | 'wrong' | 'viewer' | 'submitter' | 'other' | 'admin' | 'contributor';
const CALLERS: Who[] = ['none', 'wrong', 'viewer', 'other', 'submitter', 'contributor', 'admin'];
const PEOPLE: Who[] = ['viewer', 'submitter', 'other', 'admin'];
const SUBMIT: Who[] = ['submitter', 'other', 'admin'];
/** Routes that change one job: the other submitter is let in by the route, refused by the job. */
const OWN_JOB: Who[] = ['submitter', 'admin'];

/** Who each route admits, written out here (not read from the server's table it tests). */
const EXPECTED: Record<string, Who[]> = {
  'GET /api/v1/connect': ['contributor', 'admin'],
  'GET /api/v1/blobs/:sha': ['contributor', ...PEOPLE],
  'PUT /api/v1/blobs/:sha': ['contributor', ...SUBMIT],
  'POST /api/v1/jobs': SUBMIT,
  'POST /api/v1/jobs/dry-run': SUBMIT,
  'GET /api/v1/jobs': PEOPLE,
  'GET /api/v1/whoami': PEOPLE,
  'GET /api/v1/jobs/:id': PEOPLE,
  'GET /api/v1/jobs/:id/tasks': PEOPLE,
  'GET /api/v1/jobs/:id/tasks/:idx': PEOPLE,
  'GET /api/v1/jobs/:id/tasks/:idx/logs': PEOPLE,
  'GET /api/v1/jobs/:id/results': PEOPLE,
  'GET /api/v1/jobs/:id/outputs.zip': PEOPLE,
  'POST /api/v1/jobs/:id/cancel': OWN_JOB,
  'POST /api/v1/jobs/:id/priority': OWN_JOB,
  'POST /api/v1/jobs/:id/retry': OWN_JOB,
  'DELETE /api/v1/jobs/:id': OWN_JOB,
  'GET /api/v1/contributors': PEOPLE,
  'GET /api/v1/contributors/usage': PEOPLE,
  'GET /api/v1/overview': PEOPLE,
  'GET /api/v1/timeline': PEOPLE,
  'GET /api/v1/events': PEOPLE,
};

/** The access hook's own refusal (not a handler's 403 such as a contributor's upload rule). */
const ACCESS_REFUSAL = /credential cannot do this|this needs the role/;

describe('every route × every kind of caller', () => {
  let dir: string;
  let coordinator: RunningCoordinator;
  let agent: PinnedAgent;
  const tokens = {} as Record<Who, string | undefined>;
  let jobId: string;

  const call = async (who: Who, method: string, path: string, body?: string, type?: string) => {
    const controller = new AbortController();
    const token = tokens[who];
    const res = await pinnedFetch(agent)(`${coordinator.url}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': type ?? 'application/json' } : {}),
      },
      ...(body !== undefined ? { body } : {}),
      signal: controller.signal,
    });
    // The event stream never ends: its status is all this test needs.
    const text = res.headers.get('content-type')?.startsWith('text/event-stream')
      ? ''
      : await res.text();
    controller.abort();
    return { status: res.status, text };
  };

  const spec = (name: string) => ({
    name,
    runtime: 'node',
    module: { name: 'm.mjs', sha256: sha(MODULE), size: MODULE.length },
    tasks: { inputs: [1, 2] },
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'colony-roles-'));
    coordinator = await startCoordinator({
      dataDir: dir,
      port: 0,
      logger: pino({ level: 'silent' }),
      rateLimit: { failedAuthPerMinute: 1_000_000, enrolPerMinute: 1_000_000 },
    });
    agent = new PinnedAgent(coordinator.fingerprint);
    tokens.none = undefined;
    tokens.wrong = 'not-a-token-of-anyone';
    tokens.viewer = (await coordinator.users.add('vera', 'viewer')).token;
    tokens.submitter = (await coordinator.users.add('sam', 'submitter')).token;
    tokens.other = (await coordinator.users.add('sue', 'submitter')).token;
    tokens.admin = (await coordinator.users.add('ada', 'admin')).token;
    tokens.contributor = await coordinator.credentials.join('c-real', 'real');
    await coordinator.users.add('target', 'viewer');
    const put = await call(
      'submitter',
      'PUT',
      `/api/v1/blobs/${sha(MODULE)}`,
      MODULE,
      'application/octet-stream',
    );
    expect(put.status).toBe(201);
    const submitted = await call('submitter', 'POST', '/api/v1/jobs', JSON.stringify(spec('sams')));
    expect(submitted.status, submitted.text).toBe(201);
    jobId = (JSON.parse(submitted.text) as { id: string; owner: string }).id;
    expect((JSON.parse(submitted.text) as { owner: string }).owner).toBe('sam');
  });
  afterAll(async () => {
    await coordinator?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers each caller of each route as its role allows', async () => {
    const guarded = coordinator.routes.filter(
      (r) => !['public', 'pairing', 'join'].includes(r.access),
    );
    expect(guarded.length).toBeGreaterThan(25);
    let n = 0;
    const seen: string[] = [];
    for (const route of guarded) {
      const key = `${route.method} ${route.url}`;
      seen.push(key);
      const allowed = EXPECTED[key] ?? ['admin'];
      const path = route.url
        .replace(':sha', sha(MODULE))
        .replace(':idx', '0')
        .replace(':name', 'target')
        .replace(':which', 'join')
        .replace(':id', route.url.includes('/jobs/') ? jobId : 'nobody');
      for (const who of CALLERS) {
        let body: string | undefined;
        let type: string | undefined;
        if (route.method === 'PUT') [body, type] = [MODULE, 'application/octet-stream'];
        else if (route.method === 'POST')
          body = path.endsWith('/priority')
            ? JSON.stringify({ priority: 3 })
            : path.endsWith('/jobs') || path.endsWith('/dry-run')
              ? JSON.stringify(spec(`by-${who}`))
              : path.endsWith('/users')
                ? JSON.stringify({ name: `new-${who}-${n}`, role: 'viewer' })
                : path.endsWith('/weight')
                  ? JSON.stringify({ weight: 2 })
                  : path.endsWith('/share')
                    ? JSON.stringify({ maxShare: 0.5 })
                    : '{}';
        const res = await call(who, route.method, path, body, type);
        n++;
        const what = `${key} as ${who}: ${res.status} ${res.text.slice(0, 200)}`;
        if (who === 'none' || who === 'wrong') expect(res.status, what).toBe(401);
        else if (who === 'other' && allowed === OWN_JOB) {
          expect(res.status, what).toBe(403);
          expect(res.text, what).toMatch(/belongs to sam: only its owner or an admin/);
        } else if (allowed.includes(who)) {
          expect(res.status, what).not.toBe(401);
          if (res.status === 403) expect(res.text, what).not.toMatch(ACCESS_REFUSAL);
        } else {
          expect(res.status, what).toBe(403);
          expect(res.text, what).toMatch(ACCESS_REFUSAL);
        }
      }
    }
    // Every route written out above exists (a renamed route cannot leave its line behind).
    for (const key of Object.keys(EXPECTED)) expect(seen, key).toContain(key);
    // The admin-only routes include the people's own.
    for (const key of [
      'GET /api/v1/users',
      'POST /api/v1/users',
      'DELETE /api/v1/users/:name',
      'POST /api/v1/users/:name/token',
      'POST /api/v1/users/:name/share',
      'GET /api/v1/audit',
      'GET /api/v1/settings',
      'POST /api/v1/settings/rotate/:which',
      'POST /api/v1/contributors/:id/revoke',
    ])
      expect(seen, key).toContain(key);
    expect(n).toBe(guarded.length * CALLERS.length);
  });

  it('refuses bad user and audit requests with a clear error, and changes nothing', async () => {
    const users = () => JSON.stringify(coordinator.users.list());
    const audit = () => coordinator.engine.store.db.exec('SELECT COUNT(*) FROM audit')[0]?.values;
    const before = users();
    const cases: [string, string, string | undefined, number, RegExp][] = [
      ['POST', '/api/v1/users', '{"name":"a b","role":"viewer"}', 400, /name/],
      ['POST', '/api/v1/users', '{"name":"","role":"viewer"}', 400, /name/],
      ['POST', '/api/v1/users', `{"name":"${'x'.repeat(65)}","role":"viewer"}`, 400, /name/],
      ['POST', '/api/v1/users', '{"name":"zed","role":"root"}', 400, /role/],
      ['POST', '/api/v1/users', '{"name":"zed","role":"viewer","extra":1}', 400, /extra/],
      ['POST', '/api/v1/users', '{"name":"zed","role":"viewer","weight":0}', 400, /weight/],
      ['POST', '/api/v1/users', '{"name":"zed","role":"viewer","weight":1e9}', 400, /weight/],
      ['POST', '/api/v1/users', '{"name":"sam","role":"admin"}', 409, /already exists/],
      ['POST', '/api/v1/users', '{"name":"owner","role":"admin"}', 409, /bootstrap/],
      ['POST', '/api/v1/users', '[]', 400, /body/],
      ['DELETE', '/api/v1/users/nobody', undefined, 404, /no user nobody/],
      ['DELETE', '/api/v1/users/owner', undefined, 409, /bootstrap/],
      ['POST', '/api/v1/users/nobody/token', '{}', 404, /no user nobody/],
      ['POST', '/api/v1/users/owner/token', '{}', 409, /colony token --rotate admin/],
      ['POST', '/api/v1/users/sam/weight', '{"weight":-1}', 400, /weight/],
      ['GET', '/api/v1/audit?since=yesterday', undefined, 400, /since/],
      ['GET', '/api/v1/audit?limit=0', undefined, 400, /limit/],
      ['GET', '/api/v1/audit?order=sideways', undefined, 400, /order/],
      ['GET', '/api/v1/audit?before=0', undefined, 400, /before/],
      ['GET', '/api/v1/audit?action=a%20b', undefined, 400, /action/],
      ['POST', '/api/v1/users/sam/share', '{"maxShare":0}', 400, /maxShare/],
      ['POST', '/api/v1/users/sam/share', '{"maxShare":1.5}', 400, /maxShare/],
      ['POST', '/api/v1/users/sam/share', '{}', 400, /maxShare/],
      ['POST', '/api/v1/users/nobody/share', '{"maxShare":0.5}', 404, /no user nobody/],
      ['POST', '/api/v1/users/owner/share', '{"maxShare":0.5}', 409, /bootstrap/],
      ['POST', '/api/v1/users', '{"name":"zed","role":"viewer","maxShare":2}', 400, /maxShare/],
      ['GET', '/api/v1/jobs?owner=', undefined, 400, /owner/],
    ];
    for (const [method, path, body, status, message] of cases) {
      const res = await call('admin', method, path, body);
      expect(res.status, `${method} ${path} ${body}: ${res.text}`).toBe(status);
      expect(res.text, `${method} ${path} ${body}`).toMatch(message);
    }
    expect(users()).toBe(before);
    // Refusals are recorded; nothing in the API removes or edits a record.
    const recorded = audit();
    for (const method of ['DELETE', 'PUT', 'PATCH', 'POST']) {
      const res = await call(
        'admin',
        method,
        '/api/v1/audit',
        method === 'DELETE' ? undefined : '{}',
      );
      expect(res.status, `${method} /api/v1/audit: ${res.text}`).toBe(404);
    }
    expect(audit()).toEqual(recorded);
  });

  it('pages the audit log newest first and filters it by user and action', async () => {
    type Row = { seq: number; user: string; action: string };
    const get = async (query: string) => {
      const res = await call('admin', 'GET', `/api/v1/audit?${query}`);
      expect(res.status, res.text).toBe(200);
      return JSON.parse(res.text) as Row[];
    };
    const all = await get('limit=10000');
    expect(all.length).toBeGreaterThan(10);
    const newest = [...all].reverse();
    const first = await get('order=newest&limit=5');
    expect(first.map((r) => r.seq)).toEqual(newest.slice(0, 5).map((r) => r.seq));
    const second = await get(`order=newest&limit=5&before=${first[4]?.seq}`);
    expect(second.map((r) => r.seq)).toEqual(newest.slice(5, 10).map((r) => r.seq));
    const sams = await get('order=newest&user=sam');
    expect(sams.length).toBeGreaterThan(0);
    expect(sams.every((r) => r.user === 'sam')).toBe(true);
    // An action kind matches its own name and every `kind.*`, and nothing that only starts alike.
    const users = await get('action=user');
    expect(users.length).toBeGreaterThan(0);
    expect(users.every((r) => r.action.startsWith('user.'))).toBe(true);
    expect(await get('action=use')).toEqual([]);
    const adds = await get('action=user.add');
    expect(adds.length).toBeGreaterThan(0);
    expect(adds.every((r) => r.action === 'user.add')).toBe(true);
  });

  it('ends an open event stream once its user is removed or its token rotated', async () => {
    for (const change of ['remove', 'rotate'] as const) {
      const { token } = await coordinator.users.add(`stream-${change}`, 'viewer');
      const res = await pinnedFetch(agent)(`${coordinator.url}/api/v1/events`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(200);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      await reader.read(); // ': connected'
      if (change === 'remove') await coordinator.users.remove(`stream-${change}`);
      else await coordinator.users.rotate(`stream-${change}`);
      let done = false;
      while (!done) done = (await reader.read()).done;
      expect(done).toBe(true);
    }
  });
});
