// Assembles a running coordinator: store, blobs, engine, HTTP + WebSocket server, contact loop.
import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import Fastify from 'fastify';
import type { Logger } from 'pino';
import { BlobStore } from '../store/blobs.js';
import { DurableDb } from '../store/durable-db.js';
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
import { Credentials } from './credentials.js';
import { advertiseCoordinator, ContributorBrowser, type MdnsOptions } from '../discovery/mdns.js';
import { hostname } from 'node:os';
import { Connections } from './connections.js';
import { errorReply } from '../http-errors.js';
import { contactTick } from './contact.js';
import { Engine } from './engine.js';
import { registerRoutes } from './routes.js';
import { registerGuiRoutes } from './routes-gui.js';
import { Views } from './views.js';

export interface CoordinatorOptions {
  dataDir: string;
  /** @defaultValue '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @defaultValue 7070 */
  port?: number;
  name?: string;
  logger: Logger;
  /** @defaultValue 1 GiB */
  maxBlobBytes?: number;
  /** @defaultValue 100_000_000 */
  maxTasksPerJob?: number;
  /** @defaultValue 16 MiB */
  maxBodyBytes?: number;
  /** Contact loop period. @defaultValue 250 */
  tickMs?: number;
  reconnectGraceMs?: number;
  snapshotEveryRecords?: number;
  /** Advertise on the LAN over mDNS (and list contributors seen there). @defaultValue off */
  mdns?: MdnsOptions;
}

export interface RunningCoordinator {
  url: string;
  port: number;
  identity: Identity;
  /** sha256 of the TLS certificate: what clients and contributors pin. */
  fingerprint: string;
  engine: Engine;
  credentials: Credentials;
  /** Every route the server answers, for tests that must cover them all. */
  routes: { method: string; url: string; access: string }[];
  close(): Promise<void>;
}

/** Where local clients (the CLI on this machine) find a running coordinator. */
export function endpointFile(dataDir: string): string {
  return join(dataDir, 'coordinator.json');
}

export async function startCoordinator(opts: CoordinatorOptions): Promise<RunningCoordinator> {
  const log = opts.logger;
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
  const store = await DurableDb.open<Op, ApplyResult>({
    dir: join(opts.dataDir, 'store'),
    ...COORDINATOR_STORE,
    logger: log,
    ...(opts.snapshotEveryRecords ? { snapshotEveryRecords: opts.snapshotEveryRecords } : {}),
    onFailure: (err) => log.error({ err }, 'job store failed: refusing new work until restarted'),
  });
  const engine = new Engine(store, {
    logger: log,
    blobPath: (sha) => blobs.path(sha),
    coordinatorId: identity.coordinatorId,
    ...(opts.reconnectGraceMs !== undefined ? { reconnectGraceMs: opts.reconnectGraceMs } : {}),
  });
  const views = new Views(engine);
  const credentials = new Credentials(engine);
  // HTTPS everywhere: clients and contributors pin the certificate's fingerprint (SPEC §6).
  const app = Fastify({
    https: { key: certificate.keyPem, cert: certificate.certPem },
    bodyLimit: opts.maxBodyBytes ?? 16 * 1024 * 1024,
    logger: false,
  });
  const routes: { method: string; url: string; access: string }[] = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat())
      if (method !== 'HEAD')
        routes.push({
          method,
          url: r.url,
          access: r.config?.access ?? 'admin',
        });
  });
  app.setErrorHandler((err, _req, reply) => {
    const { status, body } = errorReply(err);
    if (status >= 500) log.error({ err }, 'request failed');
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
  registerRoutes(app, {
    engine,
    views,
    blobs,
    limits: {
      maxBlobBytes: opts.maxBlobBytes ?? 1024 ** 3,
      maxTasksPerJob: opts.maxTasksPerJob ?? 100_000_000,
    },
    who: (token) =>
      sameSecret(token, identity.adminToken)
        ? 'admin'
        : credentials.authenticate(token)
          ? 'contributor'
          : 'none',
    isJoinSecret: (token) => sameSecret(token, identity.joinSecret),
    credentials,
  });
  const connections = new Connections(engine, (credential) => credentials.authenticate(credential));
  app.server.on('upgrade', (req, socket, head) => connections.upgrade(req, socket, head));
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
  const tick = setInterval(() => contactTick(engine), opts.tickMs ?? 250);
  tick.unref();
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
    routes,
    close: () =>
      (closing ??= (async () => {
        clearInterval(tick);
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
