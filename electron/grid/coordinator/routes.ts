// The HTTP API of SPEC §5 on Fastify: auth, blobs, jobs, tasks, results, contributors, events.
import { useJsonBodyParser } from '../json-body.js';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  API_PREFIX,
  jobIdSchema,
  prioritySchema,
  taskListQuerySchema,
  type GridEvent,
} from '../../../shared/api.js';
import { ColonyError } from '../../../shared/errors.js';
import { jobSpecSchema, sha256Schema } from '../../../shared/job-file.js';
import { parseOrThrow } from '../../../shared/validate.js';
import type { BlobStore } from '../store/blobs.js';
import type { Engine } from './engine.js';
import type { Views } from './views.js';
import { validateSubmission } from './submission.js';
import { recoverRuntime } from './submission.js';
import type { Credentials } from './credentials.js';
import { registerTrustRoutes } from './routes-trust.js';

export interface RouteDeps {
  engine: Engine;
  views: Views;
  blobs: BlobStore;
  limits: { maxBlobBytes: number; maxTasksPerJob: number };
  /** Which credential a request carries: the admin token, a contributor's, or none. */
  who: (token: string | undefined) => 'admin' | 'contributor' | 'none';
  isJoinSecret: (token: string | undefined) => boolean;
  credentials: Credentials;
}

const P = API_PREFIX;

/** Who may call a route: `config: { access }` on the route; admin when absent. */
export type Access = 'public' | 'join' | 'contributor' | 'admin';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
}
const contributorAccess = { config: { access: 'contributor' as Access } };

function bearer(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization;
  return auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
}

function jobId(req: FastifyRequest): string {
  return parseOrThrow(jobIdSchema, (req.params as { id: string }).id, 'bad job id');
}

export function registerRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { engine, views, blobs } = deps;

  // Every API route needs the admin token unless its config says otherwise (SPEC §5, §6).
  app.addHook('onRequest', async (req) => {
    if (!req.url.startsWith(`${P}/`)) return; // the GUI's static files
    const access = req.routeOptions.config.access ?? 'admin';
    if (access === 'public') return;
    const token = bearer(req);
    if (access === 'join') {
      if (!deps.isJoinSecret(token))
        throw new ColonyError('UNAUTHORIZED', 'missing or wrong join secret');
      return;
    }
    const role = deps.who(token);
    if (role === 'admin' || (role === 'contributor' && access === 'contributor')) return;
    throw new ColonyError(
      role === 'contributor' ? 'FORBIDDEN' : 'UNAUTHORIZED',
      role === 'contributor'
        ? 'a contributor credential cannot do this'
        : 'missing or wrong admin token',
    );
  });

  app.addContentTypeParser('application/octet-stream', (_req, payload, done) =>
    done(null, payload),
  );
  useJsonBodyParser(app);

  app.get(`${P}/health`, { config: { access: 'public' } }, async () => ({
    ok: true,
    uptimeMs: engine.uptimeMs,
  }));

  app.put(`${P}/blobs/:sha`, contributorAccess, async (req, reply) => {
    const sha = parseOrThrow(sha256Schema, (req.params as { sha: string }).sha, 'bad blob name');
    if (!(req.body instanceof Readable))
      throw new ColonyError('BAD_INPUT', 'send the blob as application/octet-stream');
    const stored = await blobs.put(sha, req.body, { maxBytes: deps.limits.maxBlobBytes });
    return reply.code(stored.existed ? 200 : 201).send({ sha256: sha, size: stored.size });
  });

  app.get(`${P}/blobs/:sha`, contributorAccess, async (req, reply) => {
    const sha = parseOrThrow(sha256Schema, (req.params as { sha: string }).sha, 'bad blob name');
    const stat = await blobs.stat(sha);
    if (!stat) throw new ColonyError('NOT_FOUND', `no blob ${sha}`);
    return reply
      .header('content-type', 'application/octet-stream')
      .header('content-length', stat.size)
      .send(blobs.createReadStream(sha));
  });

  app.post(`${P}/jobs`, async (req, reply) => {
    const spec = parseOrThrow(jobSpecSchema, req.body, 'bad job');
    const taskCount = await validateSubmission(spec, blobs, deps.limits.maxTasksPerJob);
    const id = await engine.submit(spec, taskCount);
    return reply.code(201).send(views.job(id));
  });

  app.get(`${P}/jobs`, async () => views.listJobs());

  app.get(`${P}/jobs/:id`, async (req) => {
    const job = views.job(jobId(req));
    if (!job) throw new ColonyError('NOT_FOUND', 'no such job');
    return job;
  });

  app.get(`${P}/jobs/:id/tasks`, async (req) => {
    const query = parseOrThrow(taskListQuerySchema, req.query, 'bad query');
    const list = views.tasks(jobId(req), query);
    if (!list) throw new ColonyError('NOT_FOUND', 'no such job');
    return list;
  });

  app.post(`${P}/jobs/:id/cancel`, async (req) => {
    const id = jobId(req);
    if (!views.job(id)) throw new ColonyError('NOT_FOUND', 'no such job');
    await engine.cancel(id);
    return views.job(id);
  });

  app.post(`${P}/jobs/:id/priority`, async (req) => {
    const id = jobId(req);
    const { priority } = parseOrThrow(prioritySchema, req.body, 'bad priority');
    if (!views.job(id)) throw new ColonyError('NOT_FOUND', 'no such job');
    await engine.setPriority(id, priority);
    return views.job(id);
  });

  app.post(`${P}/jobs/:id/retry`, async (req) => {
    const id = jobId(req);
    if (!views.job(id)) throw new ColonyError('NOT_FOUND', 'no such job');
    await engine.retryFailed(id, () => recoverRuntime(engine, id));
    return views.job(id);
  });

  app.get(`${P}/jobs/:id/results`, async (req, reply) => {
    const id = jobId(req);
    if (!views.job(id)) throw new ColonyError('NOT_FOUND', 'no such job');
    const lines = views.results(id);
    const stream = Readable.from(
      (function* () {
        for (const line of lines) yield `${JSON.stringify(line)}\n`;
      })(),
    );
    return reply.header('content-type', 'application/x-ndjson').send(stream);
  });

  app.get(`${P}/contributors`, async () => views.contributors());

  app.get(`${P}/events`, (req, reply) => streamEvents(req, reply, deps));

  registerTrustRoutes(app, deps.credentials, () => engine.lan);
}

/** Server-sent events; job summaries are coalesced so a busy job costs a few events a second. */
function streamEvents(
  req: FastifyRequest,
  reply: FastifyReply,
  { engine, views }: RouteDeps,
): void {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  const send = (event: GridEvent) =>
    res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  const dirtyJobs = new Set<string>();
  const dirtyContributors = new Set<string>();
  const offs = [
    engine.events.on('job', (id) => dirtyJobs.add(id)),
    engine.events.on('task', (jobId, idx, state, attemptId) => {
      dirtyJobs.add(jobId);
      send({ type: 'task', jobId, idx, state, attemptId });
    }),
    engine.events.on('contributor', (id) => dirtyContributors.add(id)),
  ];
  const flush = setInterval(() => {
    for (const id of dirtyJobs) {
      const job = views.job(id);
      if (job) send({ type: 'job', job });
    }
    dirtyJobs.clear();
    if (dirtyContributors.size > 0) {
      for (const c of views.contributors())
        if (dirtyContributors.has(c.id)) send({ type: 'contributor', contributor: c });
      dirtyContributors.clear();
    }
  }, 250);
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  res.write(': connected\n\n');
  req.raw.on('close', () => {
    clearInterval(flush);
    clearInterval(keepAlive);
    for (const off of offs) off();
  });
}
