// Assembles a running coordinator: store, blobs, engine, HTTP + WebSocket server, contact loop.
import { writeFile, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import Fastify from 'fastify';
import type { Logger } from 'pino';
import { BlobStore } from '../store/blobs.js';
import { DurableDb, type DurableDbOptions } from '../store/durable-db.js';
import { StoreTooNewError } from '../store/errors.js';
import { ColonyError } from '../../../shared/errors.js';
import type { JournalIo } from '../store/journal.js';
import { guarded } from '../guard.js';
import type { ApplyResult, Op } from '../store/ops.js';
import { COORDINATOR_STORE } from '../store/state-machine.js';
import {
  identityPath,
  loadOrCreateIdentity,
  rotate,
  sameSecret,
  type Identity,
} from '../trust/identity.js';
import { unwatchFile, watchFile } from 'node:fs';
import { loadOrCreateCertificate } from '../trust/certificate.js';
import { Credentials } from './access/credentials.js';
import { OWNER_USER, Users } from './access/users.js';
import { Fleet } from './fleet/fleet.js';
import { registerFleetRoutes } from './api/routes-fleet.js';
import { installAudit } from './access/audit.js';
import { registerUserRoutes } from './api/routes-users.js';
import { advertiseCoordinator, ContributorBrowser, type MdnsOptions } from '../discovery/mdns.js';
import { hostname } from 'node:os';
import { Connections } from './api/connections.js';
import { BlobQuota } from './blobs/blob-quota.js';
import { Retention } from './blobs/retention.js';
import { errorReply } from '../http-errors.js';
import { contactTick } from './engine/contact.js';
import { Engine } from './engine/engine.js';
import { registerRoutes, routeUpgrade } from './api/routes.js';
import {
  guardRoutes,
  secureHeaders,
  useZodSchemas,
  type Caller,
  type RouteEntry,
} from '../http-access.js';
import { registerGuiRoutes } from './api/routes-gui.js';
import { Views } from './api/views.js';

const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
const DEFAULT_MAX_STORE_BYTES = 20 * 1024 ** 3;

export interface CoordinatorOptions {
  dataDir: string;
  /** @defaultValue '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @defaultValue 7070 */
  port?: number;
  name?: string;
  logger: Logger;
  /** One blob. @defaultValue 1 GiB */
  maxBlobBytes?: number;
  /** All blobs together (job files, inputs, outputs); past it uploads get 507. @defaultValue 20 GiB */
  maxStoreBytes?: number;
  /** A blob no job references is collected once it is this old. @defaultValue 1 hour */
  unreferencedBlobMs?: number;
  /** How often unreferenced blobs are collected. @defaultValue 10 minutes */
  blobGcEveryMs?: number;
  /** Finished and cancelled jobs are deleted (with blobs only they used) this many days after they ended; unset: kept. */
  keepDays?: number;
  /** How often old finished jobs are looked for. @defaultValue a 24th of keepDays, at most an hour */
  retentionEveryMs?: number;
  /** @defaultValue 100_000_000 */
  maxTasksPerJob?: number;
  /** Largest request body (JSON); blobs stream and have their own limit. @defaultValue 4 MiB */
  maxBodyBytes?: number;
  /** Per source address and minute: failed authentications, and join/pairing requests. */
  rateLimit?: { failedAuthPerMinute?: number; enrolPerMinute?: number };
  /** Half-life of a user's past usage in fair share between users. @defaultValue 1 day */
  usageHalfLifeMs?: number;
  /** Contact loop period. @defaultValue 250 */
  tickMs?: number;
  reconnectGraceMs?: number;
  snapshotEveryRecords?: number;
  /** Advertise on the LAN over mDNS (and list contributors seen there). @defaultValue off */
  mdns?: MdnsOptions;
  /**
   * Once the journal failed (disk full, I/O error) the coordinator refuses writes (503 with the
   * reason) and keeps answering reads for this long, so people can see why; then `onFailStop`.
   * @defaultValue 60_000
   */
  failStopAfterMs?: number;
  /** The store failed and the coordinator cannot go on: the CLI stops with `reason`, non-zero. */
  onFailStop?: (reason: string) => void;
  /** Replaces the journal's disk writes: for tests that inject I/O errors. */
  journalIo?: Partial<JournalIo>;
}

export interface RunningCoordinator {
  url: string;
  port: number;
  identity: Identity;
  /** sha256 of the TLS certificate: what clients and contributors pin. */
  fingerprint: string;
  engine: Engine;
  credentials: Credentials;
  users: Users;
  quota: BlobQuota;
  /** Every route the server answers, for tests that must cover them all. */
  routes: RouteEntry[];
  close(): Promise<void>;
}

/** Where local clients (the CLI on this machine) find a running coordinator. */
export function endpointFile(dataDir: string): string {
  return join(dataDir, 'coordinator.json');
}

/** Opens the job store; one from a newer Colony is refused with its sentence (no stack trace). */
async function openStore(
  opts: DurableDbOptions<Op, ApplyResult>,
): Promise<DurableDb<Op, ApplyResult>> {
  try {
    return await DurableDb.open<Op, ApplyResult>(opts);
  } catch (err) {
    if (err instanceof StoreTooNewError) throw new ColonyError('STORE_UNAVAILABLE', err.message);
    throw err;
  }
}

export async function startCoordinator(opts: CoordinatorOptions): Promise<RunningCoordinator> {
  const log = opts.logger;
  let failStopTimer: NodeJS.Timeout | undefined;
  let identity = await loadOrCreateIdentity(opts.dataDir);
  // `colony token --rotate` rewrites identity.json: the running coordinator follows within a second.
  const identityFile = identityPath(opts.dataDir);
  const reload = () => {
    loadOrCreateIdentity(opts.dataDir).then(
      (next) => (identity = next),
      (err: unknown) => log.error({ err }, 'could not reload identity.json'),
    );
  };
  watchFile(identityFile, { interval: 500, persistent: false }, reload);
  const certificate = await loadOrCreateCertificate(opts.dataDir, opts.name ?? hostname());
  const blobs = await BlobStore.open(join(opts.dataDir, 'blobs'));
  const store = await openStore({
    dir: join(opts.dataDir, 'store'),
    ...COORDINATOR_STORE,
    logger: log,
    ...(opts.snapshotEveryRecords ? { snapshotEveryRecords: opts.snapshotEveryRecords } : {}),
    ...(opts.journalIo ? { journalIo: opts.journalIo } : {}),
    onFailure: (err) => {
      log.error(
        { err: err.message },
        'job store failed: refusing writes (503) until the coordinator is restarted',
      );
      if (failStopTimer || !opts.onFailStop) return;
      const reason = `the job store failed (${err.message}); restart the coordinator once the disk is fixed`;
      failStopTimer = setTimeout(() => opts.onFailStop?.(reason), opts.failStopAfterMs ?? 60_000);
      failStopTimer.unref();
    },
  });
  const engine = new Engine(store, {
    logger: log,
    blobPath: (sha) => blobs.path(sha),
    coordinatorId: identity.coordinatorId,
    ...(opts.reconnectGraceMs !== undefined ? { reconnectGraceMs: opts.reconnectGraceMs } : {}),
    ...(opts.usageHalfLifeMs !== undefined ? { usageHalfLifeMs: opts.usageHalfLifeMs } : {}),
  });
  const fleet = new Fleet(engine);
  engine.mayAssign = (session) => fleet.mayAssign(session);
  engine.welcomed = (session) => fleet.push(session.id);
  const views = new Views(engine, fleet);
  const credentials = new Credentials(engine);
  const users = new Users(engine);
  engine.weightOf = (user) => users.weight(user);
  engine.maxShareOf = (user) => users.maxShare(user);
  // HTTPS everywhere: clients and contributors pin the certificate's fingerprint (docs/trust.md).
  const app = Fastify({
    https: { key: certificate.keyPem, cert: certificate.certPem },
    bodyLimit: opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    logger: false,
  });
  const identify = (token: string | undefined): Caller => {
    if (sameSecret(token, identity.adminToken)) return { role: 'admin', user: OWNER_USER };
    const user = users.authenticate(token);
    if (user) return { role: user.role, user: user.name };
    const contributorId = credentials.authenticate(token);
    if (contributorId) return { role: 'contributor', contributorId };
    if (sameSecret(token, identity.joinSecret)) return { role: 'join' };
    return { role: 'none' };
  };
  const routes = await guardRoutes(app, {
    defaultAccess: 'admin',
    unauthorizedMessage: 'token (an admin token or your own user token)',
    identify,
    // A browser page may only write from the GUI's own origin.
    allowedOrigin: (origin, req) => origin === `https://${req.headers.host ?? ''}`,
    ...opts.rateLimit,
  });
  await secureHeaders(app);
  installAudit(app, engine);
  useZodSchemas(app);
  const bodyLimit = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  app.setErrorHandler((err, req, reply) => {
    const { status, body } = errorReply(err);
    // 503: the store failed (said once, when it did) and refuses writes; not a new error.
    if (status === 503) log.warn({ url: req.url, reason: body.error.message }, 'request refused');
    else if (status >= 500) log.error({ err }, 'request failed');
    if ((err as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      body.error.message = `request body is larger than the limit of ${bodyLimit} bytes (put many inputs in an inputsFile)`;
    return reply.code(status).send(body);
  });
  // The web GUI: its files (public) and the extra API routes it needs (admin, like the rest).
  registerGuiRoutes(app, {
    engine,
    views,
    blobs,
    identity: () => identity,
    // Taken into use before answering, so the caller's next request may use the new token.
    rotate: async (which) => (identity = await rotate(opts.dataDir, which)),
    fingerprint: certificate.fingerprint,
    ...(opts.name ? { name: opts.name } : {}),
    maxTasksPerJob: opts.maxTasksPerJob ?? 100_000_000,
  });
  const quota = await BlobQuota.open(blobs, engine, {
    maxStoreBytes: opts.maxStoreBytes ?? DEFAULT_MAX_STORE_BYTES,
    maxBlobBytes: opts.maxBlobBytes ?? 1024 ** 3,
    unreferencedAfterMs: opts.unreferencedBlobMs ?? 3600_000,
  });
  const retention = new Retention(engine, quota);
  const connections = new Connections(engine, (msg) => quota.checkResult(msg));
  registerRoutes(app, {
    engine,
    views,
    blobs,
    limits: {
      maxBlobBytes: opts.maxBlobBytes ?? 1024 ** 3,
      maxTasksPerJob: opts.maxTasksPerJob ?? 100_000_000,
    },
    credentials,
    connections,
    quota,
    retention,
    identify,
  });
  registerUserRoutes(app, users, engine);
  registerFleetRoutes(app, { fleet, views, engine });
  // WebSocket upgrades go through the router too, so /connect is authorized like every route.
  app.server.on(
    'upgrade',
    guarded(log, 'a WebSocket upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      routeUpgrade(app, req, socket, head),
    ),
  );
  await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 7070 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? 7070);
  const host = opts.host ?? '127.0.0.1';
  const url = `https://${host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  await writeFile(
    endpointFile(opts.dataDir),
    JSON.stringify({ url, fingerprint: certificate.fingerprint, pid: process.pid }),
    {
      mode: 0o600,
    },
  );
  const name = opts.name ?? hostname();
  const withdraw = opts.mdns
    ? advertiseCoordinator(
        { coordinatorId: identity.coordinatorId, name, fingerprint: certificate.fingerprint, port },
        opts.mdns,
      )
    : undefined;
  const lan = opts.mdns ? new ContributorBrowser(opts.mdns) : undefined;
  engine.lan = lan?.seen;
  const tick = setInterval(
    guarded(log, 'contact loop', () => contactTick(engine)),
    opts.tickMs ?? 250,
  );
  tick.unref();
  // collect() logs its own failures and never throws.
  const gc = setInterval(
    guarded(log, 'blob collection', () => void quota.collect()),
    opts.blobGcEveryMs ?? 10 * 60_000,
  );
  gc.unref();
  const stopRetention =
    opts.keepDays !== undefined
      ? retention.start(opts.keepDays, log, opts.retentionEveryMs)
      : undefined;
  log.info(
    { url, coordinatorId: identity.coordinatorId, epoch: store.epoch },
    'coordinator listening',
  );

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    get identity() {
      return identity;
    },
    fingerprint: certificate.fingerprint,
    engine,
    credentials,
    users,
    quota,
    routes,
    close: () =>
      (closing ??= (async () => {
        clearInterval(tick);
        clearInterval(gc);
        stopRetention?.();
        clearTimeout(failStopTimer);
        unwatchFile(identityFile, reload);
        await withdraw?.();
        await lan?.stop();
        connections.close();
        await app.close();
        await store.close();
        await rm(endpointFile(opts.dataDir), { force: true });
      })()),
  };
}
