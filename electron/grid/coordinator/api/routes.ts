// The HTTP API of docs/api.md on Fastify: auth, blobs, jobs, tasks, results, contributors, events.
import { useJsonBodyParser } from '../../json-body.js';
import { guarded } from '../../guard.js';
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Readable, type Duplex } from 'node:stream';
import { bearer, type Access, type Caller } from '../../http-access.js';
import type { Connections } from './connections.js';
import { ATTEMPT_HEADER, BLOB_KIND_HEADER, type BlobQuota } from '../blobs/blob-quota.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  API_PREFIX,
  jobIdSchema,
  prioritySchema,
  taskListQuerySchema,
  taskLogsQuerySchema,
  type GridEvent,
} from '../../../../shared/api.js';
import { ColonyError } from '../../../../shared/errors.js';
import { jobSpecSchema, sha256Schema } from '../../../../shared/job-file.js';
import { z } from 'zod';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { BlobStore } from '../../store/blobs.js';
import type { Engine } from '../engine/engine.js';
import type { Views } from './views.js';
import { validateSubmission } from './submission.js';
import { recoverRuntime } from './submission.js';
import type { Credentials } from '../access/credentials.js';
import { registerTrustRoutes } from './routes-trust.js';
import { taskLogs } from './task-logs.js';
import { OWNER_USER } from '../access/users.js';
import type { Retention } from '../blobs/retention.js';

const jobListQuerySchema = z.strictObject({
  owner: z.string().min(1).max(200).optional(),
});

const taskIdxSchema = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export interface RouteDeps {
  engine: Engine;
  views: Views;
  blobs: BlobStore;
  limits: { maxBlobBytes: number; maxTasksPerJob: number };
  credentials: Credentials;
  connections: Connections;
  quota: BlobQuota;
  retention: Retention;
  /** Who a token belongs to now: an event stream ends once its token no longer does. */
  identify?: (token: string | undefined) => Caller;
}

const P = API_PREFIX;

const contributorAccess = { config: { access: 'contributor' as Access } };
const access = (a: Access, audit?: string | false) => ({
  config: { access: a, ...(audit !== undefined ? { audit } : {}) },
});

/**
 * A submitter changes only their own jobs; an admin anyone's. The route's access kind already
 * let the caller in as a submitter or an admin; this is the per-job half of the rule.
 */
export function mayChangeJob(caller: Caller, owner: string, jobId: string): void {
  if (caller.role === 'admin') return;
  if (caller.role === 'submitter' && caller.user === owner) return;
  throw new ColonyError(
    'FORBIDDEN',
    `job ${jobId} belongs to ${owner}: only its owner or an admin can change it`,
  );
}

/** The socket of an HTTP upgrade, kept while the router decides on its request. */
const upgrades = new WeakMap<IncomingMessage, { socket: Duplex; head: Buffer }>();

/**
 * Hands an HTTP upgrade to the router: the access hook decides on the matched route as for any
 * request, and its refusal (or the 404) is written to the socket, which is then closed.
 */
export function routeUpgrade(
  app: FastifyInstance,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): void {
  socket.on('error', () => socket.destroy());
  upgrades.set(req, { socket, head });
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as Socket);
  res.on('finish', () => socket.destroy());
  try {
    app.routing(req, res);
  } catch {
    socket.destroy(); // a malformed upgrade must never take the coordinator down
  }
}

const jobParams = z.strictObject({ id: jobIdSchema });
const blobParams = z.strictObject({ sha: sha256Schema });

export function registerRoutes(fastify: FastifyInstance, deps: RouteDeps): void {
  const { engine, views, blobs } = deps;
  const app = fastify.withTypeProvider<ZodTypeProvider>();

  app.addContentTypeParser('application/octet-stream', (_req, payload, done) =>
    done(null, payload),
  );
  useJsonBodyParser(app);

  // The contributors' WebSocket: authorized by the access hook, then upgraded.
  app.get(`${P}/connect`, contributorAccess, (req, reply) => {
    const upgrade = upgrades.get(req.raw);
    if (!upgrade) throw new ColonyError('BAD_INPUT', 'this route takes a WebSocket upgrade only');
    const contributorId = req.caller.contributorId;
    if (!contributorId)
      throw new ColonyError('FORBIDDEN', 'only a contributor credential can connect here');
    reply.hijack();
    upgrades.delete(req.raw);
    reply.raw.detachSocket(upgrade.socket as Socket);
    deps.connections.accept(req.raw, upgrade.socket, upgrade.head, contributorId);
  });

  app.get(`${P}/health`, { config: { access: 'public' } }, async () => ({
    ok: true,
    uptimeMs: engine.uptimeMs,
  }));

  // Admin uploads (job modules, files, inputs) count against the store quota; a contributor's
  // only as outputs of an attempt it holds, within its job's output limits.
  app.put(
    `${P}/blobs/:sha`,
    {
      config: { access: 'blob-write', audit: 'blob.upload', auditOnlyRefused: true },
      schema: { params: blobParams },
    },
    async (req, reply) => {
      const { sha } = req.params;
      if (!(req.body instanceof Readable))
        throw new ColonyError('BAD_INPUT', 'send the blob as application/octet-stream');
      const length = Number(req.headers['content-length']);
      const attempt = req.headers[ATTEMPT_HEADER];
      const admitted = deps.quota.admit(
        req.caller,
        typeof attempt === 'string' ? attempt : undefined,
        Number.isSafeInteger(length) ? length : undefined,
        req.headers[BLOB_KIND_HEADER] === 'log' ? 'log' : 'output',
      );
      const stored = await blobs.put(sha, req.body, { maxBytes: admitted.maxBytes });
      admitted.done(stored.size, stored.existed);
      if (stored.existed) await deps.quota.touch(sha);
      return reply.code(stored.existed ? 200 : 201).send({ sha256: sha, size: stored.size });
    },
  );

  app.get(
    `${P}/blobs/:sha`,
    { ...access('blob-read'), schema: { params: blobParams } },
    async (req, reply) => {
      const { sha } = req.params;
      // A contributor reads only what an attempt it holds needs: never other jobs' data.
      if (
        req.caller.role === 'contributor' &&
        !engine.contributorNeedsBlob(req.caller.contributorId ?? '', sha)
      )
        throw new ColonyError(
          'FORBIDDEN',
          `blob ${sha} is not a module or file of a job this contributor is running`,
        );
      const stat = await blobs.stat(sha);
      if (!stat) throw new ColonyError('NOT_FOUND', `no blob ${sha}`);
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-length', stat.size)
        .send(blobs.createReadStream(sha));
    },
  );

  app.post(
    `${P}/jobs`,
    { ...access('submit', 'job.submit'), schema: { body: jobSpecSchema } },
    async (req, reply) => {
      const spec = req.body;
      const taskCount = await validateSubmission(
        spec,
        blobs,
        deps.limits.maxTasksPerJob,
        deps.quota,
      );
      const id = await engine.submit(spec, taskCount, req.caller.user ?? OWNER_USER);
      req.auditTarget = id;
      return reply.code(201).send(views.job(id));
    },
  );

  app.get(
    `${P}/jobs`,
    { ...access('read'), schema: { querystring: jobListQuerySchema } },
    async (req) => views.listJobs(req.query.owner === undefined ? {} : { owner: req.query.owner }),
  );

  /** Who the caller's token says they are: what the CLI's `--mine` and the GUI ask. */
  app.get(`${P}/whoami`, access('read'), async (req) => ({
    user: req.caller.user ?? null,
    role: req.caller.role,
  }));

  app.get(`${P}/jobs/:id`, { ...access('read'), schema: { params: jobParams } }, async (req) => {
    const job = views.job(req.params.id);
    if (!job) throw new ColonyError('NOT_FOUND', 'no such job');
    return job;
  });

  app.get(
    `${P}/jobs/:id/tasks`,
    { ...access('read'), schema: { params: jobParams, querystring: taskListQuerySchema } },
    async (req) => {
      const list = views.tasks(req.params.id, req.query);
      if (!list) throw new ColonyError('NOT_FOUND', 'no such job');
      return list;
    },
  );

  app.get(
    `${P}/jobs/:id/tasks/:idx/logs`,
    {
      ...access('read'),
      schema: {
        params: z.strictObject({ id: jobIdSchema, idx: taskIdxSchema }),
        querystring: taskLogsQuerySchema,
      },
    },
    async (req) => taskLogs({ engine, views, blobs }, req.params.id, req.params.idx, req.query),
  );

  const ownedJob = (caller: Caller, id: string) => {
    const job = views.job(id);
    if (!job) throw new ColonyError('NOT_FOUND', 'no such job');
    mayChangeJob(caller, job.owner ?? OWNER_USER, id);
  };

  app.post(
    `${P}/jobs/:id/cancel`,
    { ...access('submit', 'job.cancel'), schema: { params: jobParams } },
    async (req) => {
      const { id } = req.params;
      ownedJob(req.caller, id);
      await engine.cancel(id);
      return views.job(id);
    },
  );

  app.post(
    `${P}/jobs/:id/priority`,
    { ...access('submit', 'job.priority'), schema: { params: jobParams, body: prioritySchema } },
    async (req) => {
      const { id } = req.params;
      const { priority } = req.body;
      ownedJob(req.caller, id);
      req.auditDetail = `priority ${priority}`;
      await engine.setPriority(id, priority);
      return views.job(id);
    },
  );

  app.post(
    `${P}/jobs/:id/retry`,
    { ...access('submit', 'job.retry'), schema: { params: jobParams } },
    async (req) => {
      const { id } = req.params;
      ownedJob(req.caller, id);
      await engine.retryFailed(id, () => recoverRuntime(engine, id));
      return views.job(id);
    },
  );

  // Deleting a job: its owner or an admin; only once it finished or was cancelled (409 before).
  app.delete(
    `${P}/jobs/:id`,
    { ...access('submit', 'job.delete'), schema: { params: jobParams } },
    async (req) => {
      const { id } = req.params;
      ownedJob(req.caller, id);
      const { removedBlobs } = await deps.retention.deleteJob(id);
      return { id, deleted: true, removedBlobs };
    },
  );

  app.get(
    `${P}/jobs/:id/results`,
    { ...access('read'), schema: { params: jobParams } },
    async (req, reply) => {
      const { id } = req.params;
      if (!views.job(id)) throw new ColonyError('NOT_FOUND', 'no such job');
      const lines = views.results(id);
      const stream = Readable.from(
        (function* () {
          for (const line of lines) yield `${JSON.stringify(line)}\n`;
        })(),
      );
      return reply.header('content-type', 'application/x-ndjson').send(stream);
    },
  );

  app.get(`${P}/contributors`, access('read'), async () => views.contributors());

  app.get(`${P}/events`, access('read'), (req, reply) => streamEvents(req, reply, deps));

  registerTrustRoutes(fastify, deps.credentials, () => engine.lan);
}

/** Server-sent events; job summaries are coalesced so a busy job costs a few events a second. */
function streamEvents(req: FastifyRequest, reply: FastifyReply, deps: RouteDeps): void {
  const { engine, views } = deps;
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
  // A removed user or a rotated token loses the stream too, not only their next request.
  const token = bearer(req);
  const who = req.caller;
  let checks = 0;
  const flush = setInterval(
    guarded(engine.log, 'the event stream', () => {
      if (deps.identify && ++checks % 4 === 0) {
        const now = deps.identify(token);
        if (now.role !== who.role || now.user !== who.user) {
          stop();
          res.end();
          return;
        }
      }
      for (const id of dirtyJobs) {
        const job = views.job(id);
        send(job ? { type: 'job', job } : { type: 'job-deleted', jobId: id });
      }
      dirtyJobs.clear();
      if (dirtyContributors.size > 0) {
        for (const c of views.contributors())
          if (dirtyContributors.has(c.id)) send({ type: 'contributor', contributor: c });
        dirtyContributors.clear();
      }
    }),
    250,
  );
  const keepAlive = setInterval(
    guarded(engine.log, 'the event stream', () => res.write(': keep-alive\n\n')),
    15_000,
  );
  res.write(': connected\n\n');
  function stop(): void {
    clearInterval(flush);
    clearInterval(keepAlive);
    for (const off of offs) off();
  }
  req.raw.on('close', stop);
}
