// Routes the web GUI needs beyond docs/api.md's core: overview, dry-run, task detail, outputs zip,
// settings, token rotation, CPU donated per contributor, the attempts timeline, static files.
import { hostname, networkInterfaces } from 'node:os';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { API_PREFIX, jobIdSchema } from '../../../../shared/api.js';
import { ColonyError } from '../../../../shared/errors.js';
import type {
  ContributorUsage,
  LiveAttemptView,
  Overview,
  RotateResult,
  Settings,
  TaskDetail,
  Timeline,
} from '../../../../shared/gui-api.js';
import { jobSpecSchema } from '../../../../shared/job-file.js';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { BlobStore } from '../../store/blobs.js';
import type { Identity } from '../../trust/identity.js';
import { formatJoinToken } from '../../trust/join-token.js';
import type { Engine } from '../engine/engine.js';
import { dryRun } from './gui-dry-run.js';
import { outputsZip } from './gui-outputs-zip.js';
import { findRendererDir, serveRenderer } from '../../gui-static.js';
import { ThroughputHistory } from './gui-throughput.js';
import type { Views } from './views.js';
import type { Access } from '../../http-access.js';

export interface GuiDeps {
  engine: Engine;
  views: Views;
  blobs: BlobStore;
  /** The identity now: rotation replaces it while the server runs. */
  identity: () => Identity;
  /** Rotate a token in identity.json and take it into use at once. */
  rotate: (which: 'adminToken' | 'joinSecret') => Promise<Identity>;
  /** sha256 of the TLS certificate, for the join token. @defaultValue '-' (plain HTTP) */
  fingerprint?: string;
  /** Shown in the GUI. @defaultValue the host name */
  name?: string;
  /** @defaultValue 100_000_000 */
  maxTasksPerJob?: number;
  /** The built renderer. @defaultValue dist/renderer at the package root, if built */
  rendererDir?: string;
}

const P = API_PREFIX;
const taskIdxSchema = z.coerce.number().int().min(0);
const rotateSchema = z.enum(['join', 'admin']);
const usageQuerySchema = z.strictObject({ since: z.coerce.number().int().min(0).optional() });
const timelineQuerySchema = z.strictObject({
  /** Attempts ended before this moment (ms since the epoch) are left out; default: an hour ago. */
  since: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(2000),
});

/** Local midnight: "today" when the browser does not say which day it means. */
function startOfToday(now = new Date()): number {
  return new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime();
}

function lanInterfaces(): Settings['interfaces'] {
  return Object.entries(networkInterfaces()).flatMap(([name, list]) =>
    (list ?? [])
      .filter((i) => !i.internal && (i.family === 'IPv4' || i.family === 'IPv6'))
      .map((i) => ({ name, address: i.address, family: i.family })),
  );
}

const jobParams = z.strictObject({ id: jobIdSchema });

/** Routes that declare no access take an admin's token (settings, rotation); reads any person's. */
const read = { config: { access: 'read' as Access } };
export function registerGuiRoutes(fastify: FastifyInstance, deps: GuiDeps): void {
  const { engine, views, blobs } = deps;
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  serveRenderer(fastify, deps.rendererDir ?? findRendererDir());
  const history = new ThroughputHistory(engine);

  app.get(`${P}/overview`, read, async (): Promise<Overview> => {
    const contributors = views.contributors();
    const online = contributors.filter((c) => c.state === 'online');
    const paused = online.filter((c) => c.policy?.state === 'paused');
    const jobs = engine.liveJobs();
    let backlog = 0;
    for (const job of jobs) backlog += views.job(job.id)?.counts.pending ?? 0;
    return {
      contributors: {
        online: online.length,
        working: online.filter((c) => c.slotsInUse > 0).length,
        paused: paused.length,
        offline: contributors.length - online.length,
      },
      cores: {
        inUse: online.reduce((n, c) => n + c.slotsInUse, 0),
        offered: online
          .filter((c) => c.policy?.state !== 'paused')
          .reduce((n, c) => n + (c.caps?.slots ?? 0), 0),
      },
      backlog,
      jobs: {
        running: jobs.filter((j) => j.state === 'running').length,
        queued: jobs.filter((j) => j.state === 'queued').length,
      },
      throughput: history.lastHour(),
    };
  });

  app.post(
    `${P}/jobs/dry-run`,
    { config: { access: 'submit', audit: false }, schema: { body: jobSpecSchema } },
    async (req) => {
      return dryRun(req.body, { views, blobs, maxTasksPerJob: deps.maxTasksPerJob ?? 100_000_000 });
    },
  );

  const taskParams = z.strictObject({ id: jobIdSchema, idx: taskIdxSchema });
  app.get(
    `${P}/jobs/:id/tasks/:idx`,
    { ...read, schema: { params: taskParams } },
    async (req): Promise<TaskDetail> => {
      const { id, idx } = req.params;
      const task = views.tasks(id, { offset: idx, limit: 1 })?.tasks[0];
      if (!task || task.idx !== idx) throw new ColonyError('NOT_FOUND', 'no such task');
      const names = new Map(views.contributors().map((c) => [c.id, c.name]));
      const live: LiveAttemptView[] = task.attempts.flatMap((a) => {
        const attempt = engine.liveAttempt(a.attemptId);
        if (!attempt) return [];
        return [
          {
            attemptId: attempt.attemptId,
            contributorId: attempt.contributorId,
            contributorName: names.get(attempt.contributorId) ?? null,
            startedAt: attempt.startedAt ?? null,
            progress: attempt.progress ?? null,
            message: attempt.message ?? null,
            suspended: attempt.suspended ?? false,
            logs: [...attempt.logs],
          },
        ];
      });
      return { task, live };
    },
  );

  app.get(
    `${P}/jobs/:id/outputs.zip`,
    { ...read, schema: { params: jobParams } },
    async (req, reply) => {
      const { id } = req.params;
      const job = views.job(id);
      if (!job) throw new ColonyError('NOT_FOUND', 'no such job');
      const file = `${job.name.replace(/[^\w.-]+/g, '_')}-${id}-outputs.zip`;
      return reply
        .header('content-type', 'application/zip')
        .header('content-disposition', `attachment; filename="${file}"`)
        .send(outputsZip(views, blobs, id));
    },
  );

  /** host:port as the joining machines should dial it. */
  const dialAddress = (req: FastifyRequest): { hostPort: string; bound: string; port: number } => {
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const bound = typeof address === 'object' && address ? address.address : '127.0.0.1';
    // A wildcard bind has no single address: the one this browser used is the best guess.
    const host = bound === '0.0.0.0' || bound === '::' ? req.hostname.replace(/:\d+$/, '') : bound;
    return { hostPort: `${host.includes(':') ? `[${host}]` : host}:${port}`, bound, port };
  };
  const joinTokenFor = (req: FastifyRequest): string => {
    const { coordinatorId, joinSecret } = deps.identity();
    return formatJoinToken({
      coordinatorId,
      fingerprint: deps.fingerprint ?? '-',
      secret: joinSecret,
      address: dialAddress(req).hostPort,
    });
  };

  app.get(`${P}/settings`, async (req): Promise<Settings> => {
    const { hostPort, bound, port } = dialAddress(req);
    const scheme = app.initialConfig.https ? 'https' : 'http';
    return {
      coordinatorId: deps.identity().coordinatorId,
      name: deps.name ?? hostname(),
      url: `${scheme}://${hostPort}`,
      joinToken: joinTokenFor(req),
      listen: { address: bound, port },
      interfaces: lanInterfaces(),
    };
  });

  // The old token stops working at once; a rotated admin token is only in this answer and the file.
  const rotateParams = z.strictObject({ which: rotateSchema });
  app.post(
    `${P}/settings/rotate/:which`,
    { config: { audit: 'settings.rotate' }, schema: { params: rotateParams } },
    async (req): Promise<RotateResult> => {
      const { which } = req.params;
      const next = await deps.rotate(which === 'join' ? 'joinSecret' : 'adminToken');
      return { which, token: which === 'join' ? joinTokenFor(req) : next.adminToken };
    },
  );

  app.get(
    `${P}/timeline`,
    { ...read, schema: { querystring: timelineQuerySchema } },
    async (req): Promise<Timeline> => {
      const now = Date.now();
      const since = req.query.since ?? now - 60 * 60 * 1000;
      return { now, since, ...views.timeline(since, req.query.limit) };
    },
  );

  app.get(
    `${P}/contributors/usage`,
    { ...read, schema: { querystring: usageQuerySchema } },
    async (req): Promise<ContributorUsage> => {
      const q = req.query;
      const since = q.since ?? startOfToday();
      return {
        since,
        cpuMs: engine.read.cpuByContributor(since),
        revoked: engine.read.revokedContributors(),
      };
    },
  );
}
