// Routes the web GUI needs beyond SPEC §5: overview, dry-run, task detail, outputs zip, settings, static.
import { hostname } from 'node:os';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { API_PREFIX, jobIdSchema } from '../../../shared/api.js';
import { ColonyError } from '../../../shared/errors.js';
import type { LiveAttemptView, Overview, Settings, TaskDetail } from '../../../shared/gui-api.js';
import { jobSpecSchema } from '../../../shared/job-file.js';
import { parseOrThrow } from '../../../shared/validate.js';
import { z } from 'zod';
import type { BlobStore } from '../store/blobs.js';
import type { Identity } from '../trust/identity.js';
import { formatJoinToken } from '../trust/join-token.js';
import type { Engine } from './engine.js';
import { dryRun } from './gui-dry-run.js';
import { outputsZip } from './gui-outputs-zip.js';
import { findRendererDir, serveRenderer } from './gui-static.js';
import { ThroughputHistory } from './gui-throughput.js';
import type { Views } from './views.js';

export interface GuiDeps {
  engine: Engine;
  views: Views;
  blobs: BlobStore;
  identity: Identity;
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

function jobId(req: FastifyRequest): string {
  return parseOrThrow(jobIdSchema, (req.params as { id: string }).id, 'bad job id');
}

/** The API routes here are guarded by routes.ts' admin-token hook, like every other. */
export function registerGuiRoutes(app: FastifyInstance, deps: GuiDeps): void {
  const { engine, views, blobs } = deps;
  serveRenderer(app, deps.rendererDir ?? findRendererDir());
  const history = new ThroughputHistory(engine);

  app.get(`${P}/overview`, async (): Promise<Overview> => {
    const contributors = views.contributors();
    const online = contributors.filter((c) => c.state === 'online');
    const paused = online.filter((c) => c.policy?.state === 'paused');
    const jobs = [...engine.jobs.values()];
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

  app.post(`${P}/jobs/dry-run`, async (req) => {
    const spec = parseOrThrow(jobSpecSchema, req.body, 'bad job');
    return dryRun(spec, { views, blobs, maxTasksPerJob: deps.maxTasksPerJob ?? 100_000_000 });
  });

  app.get(`${P}/jobs/:id/tasks/:idx`, async (req): Promise<TaskDetail> => {
    const id = jobId(req);
    const idx = parseOrThrow(taskIdxSchema, (req.params as { idx: string }).idx, 'bad task');
    const task = views.tasks(id, { offset: idx, limit: 1 })?.tasks[0];
    if (!task || task.idx !== idx) throw new ColonyError('NOT_FOUND', 'no such task');
    const names = new Map(views.contributors().map((c) => [c.id, c.name]));
    const live: LiveAttemptView[] = task.attempts.flatMap((a) => {
      const attempt = engine.live.get(a.attemptId);
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
  });

  app.get(`${P}/jobs/:id/outputs.zip`, async (req, reply) => {
    const id = jobId(req);
    const job = views.job(id);
    if (!job) throw new ColonyError('NOT_FOUND', 'no such job');
    const file = `${job.name.replace(/[^\w.-]+/g, '_')}-${id}-outputs.zip`;
    return reply
      .header('content-type', 'application/zip')
      .header('content-disposition', `attachment; filename="${file}"`)
      .send(outputsZip(views, blobs, id));
  });

  app.get(`${P}/settings`, async (req): Promise<Settings> => {
    const { coordinatorId, joinSecret } = deps.identity;
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const bound = typeof address === 'object' && address ? address.address : '127.0.0.1';
    // A wildcard bind has no single address: the one this browser used is the best guess.
    const host = bound === '0.0.0.0' || bound === '::' ? req.hostname.replace(/:\d+$/, '') : bound;
    const hostPort = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    const scheme = app.initialConfig.https ? 'https' : 'http';
    return {
      coordinatorId,
      name: deps.name ?? hostname(),
      url: `${scheme}://${hostPort}`,
      joinToken: formatJoinToken({
        coordinatorId,
        fingerprint: deps.fingerprint ?? '-',
        secret: joinSecret,
        address: hostPort,
      }),
    };
  });
}
