// The contributor panel's API, plain HTTP on 127.0.0.1 only: status, owner policy settings, pause
// and resume, for the owner's browser view (the same React renderer, served from here too). A
// token written to the data dir guards it, and the Host header must name loopback (DNS rebinding).
import { useJsonBodyParser } from '../../json-body.js';
import { guardRoutes, secureHeaders, useZodSchemas, type RouteEntry } from '../../http-access.js';
import { errorReply } from '../../http-errors.js';
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ColonyError } from '../../../../shared/errors.js';
import { lockViolations } from '../../../../shared/fleet-policy.js';
import {
  describeWhenActive,
  ownerPolicySettingsSchema,
  programPlatform,
  policyStatus,
  type OwnerPolicySettings,
  type PolicyDecision,
  type SnoozeKind,
} from '../../../../shared/owner-policy.js';
import {
  PANEL_TOKEN_FILE,
  pauseBodySchema,
  type PanelFleet,
  type PanelPolicy,
  type PanelPolicySaved,
  type PanelSensors,
  type PanelStatus,
} from '../../../../shared/panel-api.js';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { sameSecret } from '../../trust/identity.js';
import { findRendererDir, serveRenderer } from '../../gui-static.js';
import { DonatedCpu } from '../policy/donated-cpu.js';
import type { ManagerEvents, ManagerStatus } from '../manager/manager-types.js';
import type { PolicyDriver } from '../policy/policy-driver.js';
import { runningBusyPrograms } from '../policy/owner-policy-programs.js';

const P = '/api/v1';

/** The parts of the manager the panel reads. */
export interface PanelManager {
  status(): ManagerStatus;
  on(event: 'outcome', listener: ManagerEvents['outcome']): unknown;
  off(event: 'outcome', listener: ManagerEvents['outcome']): unknown;
}

export interface PanelOptions {
  dataDir: string;
  manager: PanelManager;
  coordinator: () => { id: string | null; url: string };
  /** The live policy: settings apply at once, pause and resume work. Without it, settings wait. */
  driver?: PolicyDriver;
  /** The settings in force (or saved for the next start when there is no driver). */
  settings: () => OwnerPolicySettings;
  /** Persist changed settings; may return a note for the owner (e.g. another file wins at start). */
  save: (s: OwnerPolicySettings) => Promise<string | void>;
  /** Pause and resume through the host (the tray app saves snoozes). @defaultValue the driver's */
  pause?: (kind: SnoozeKind) => Promise<unknown>;
  resume?: () => Promise<unknown>;
  /** @defaultValue 0 (a free port) */
  port?: number;
  /** @defaultValue the built renderer, if any */
  rendererDir?: string;
  logger?: Logger;
  now?: () => number;
}

export interface RunningPanel {
  url: string;
  /** The URL to open: the token travels in the fragment, which never reaches a server log. */
  openUrl: string;
  token: string;
  port: number;
  /** Every route the panel answers, for tests that must cover them all. */
  routes: RouteEntry[];
  close(): Promise<void>;
}

/** Settings that the running manager cannot change: its worker count is fixed when it starts. */
function restartNote(before: OwnerPolicySettings, after: OwnerPolicySettings): string | null {
  return before.maxWorkers !== after.maxWorkers
    ? 'maxWorkers takes effect at the next start (workers are sized when the contributor starts)'
    : null;
}

/** The driver's last sample as the panel shows it: a reading, or why there is none. */
function sensors(driver: PolicyDriver): PanelSensors | null {
  const x = driver.lastSample;
  if (!x) return null;
  const why = (what: string | undefined) => ({ unknown: what ?? 'not read yet' });
  return {
    programs: x.programs
      ? { busy: runningBusyPrograms(driver.policy.busyPrograms, x.programs) }
      : why(x.unknown?.programs),
    fullScreen: x.fullScreen !== undefined ? { on: x.fullScreen } : why(x.unknown?.fullScreen),
    temperature:
      x.cpuCelsius !== undefined
        ? { celsius: x.cpuCelsius, sensor: x.cpuSensor ?? 'CPU' }
        : why(x.unknown?.temperature),
  };
}

function routes(fastify: FastifyInstance, o: PanelOptions, donated: DonatedCpu): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const decision = (): PolicyDecision | undefined => o.driver?.current();

  app.get(`${P}/status`, async (): Promise<PanelStatus> => {
    const s = o.manager.status();
    const d = decision();
    const snooze = o.driver?.policy.snooze;
    const c = o.coordinator();
    return {
      contributorId: s.contributorId,
      coordinator: { id: c.id, url: c.url, connected: s.connected },
      slots: { capacity: s.slots, max: s.maxSlots, free: s.freeSlots },
      running: s.running,
      policy: d ? policyStatus(d) : null,
      snooze: snooze ? { ...snooze } : null,
      cpu: donated.snapshot(),
      sensors: o.driver ? sensors(o.driver) : null,
      whenActive: o.driver ? describeWhenActive(o.driver.policy.settings) : null,
    };
  });

  const platform = programPlatform(process.platform);
  const fleetView = (): PanelFleet | null => {
    const f = o.driver?.policy.fleet;
    return f ? { groups: f.groups, policy: f.policy, control: f.control } : null;
  };
  const own = (): OwnerPolicySettings => o.driver?.policy.ownSettings ?? o.settings();
  const view = (): PanelPolicy => ({
    settings: own(),
    effective: o.driver?.policy.settings ?? o.settings(),
    fleet: fleetView(),
    live: o.driver !== undefined,
    platform,
  });
  app.get(`${P}/policy`, async (): Promise<PanelPolicy> => view());

  // Validated in full before anything is saved or applied: a bad field changes nothing.
  app.put(
    `${P}/policy`,
    { schema: { body: ownerPolicySettingsSchema } },
    async (req): Promise<PanelPolicySaved> => {
      const next = req.body;
      const before = own();
      // A field the admin locked may only be made stricter; nothing is saved if one is not.
      const refused = lockViolations(before, next, o.driver?.policy.fleet?.policy);
      if (refused.length > 0)
        throw new ColonyError('CONFLICT', `locked by the fleet policy: ${refused.join('; ')}`, {
          locked: refused,
        });
      const saveNote = await o.save(next);
      const notes = [saveNote ?? null];
      if (o.driver) {
        o.driver.policy.setSettings(next);
        o.driver.tick();
        notes.unshift(restartNote(before, next));
      } else notes.unshift('saved: no owner policy runs now, so it applies at the next start');
      const note = notes.filter((n): n is string => Boolean(n)).join('; ') || null;
      return {
        ...view(),
        applied: o.driver ? 'live' : 'next-start',
        note,
      };
    },
  );

  const needDriver = (): PolicyDriver => {
    if (!o.driver)
      throw new ColonyError('CONFLICT', 'this contributor runs without an owner policy');
    return o.driver;
  };

  app.post(`${P}/pause`, { schema: { body: pauseBodySchema } }, async (req) => {
    const { kind } = req.body;
    const driver = needDriver();
    await (o.pause ? o.pause(kind) : driver.pause(kind));
    return policyStatus(driver.current());
  });

  app.post(`${P}/resume`, async () => {
    const driver = needDriver();
    await (o.resume ? o.resume() : driver.resume());
    return policyStatus(driver.current());
  });
}

export async function startPanelServer(o: PanelOptions): Promise<RunningPanel> {
  const token = randomBytes(24).toString('base64url');
  const tokenFile = join(o.dataDir, PANEL_TOKEN_FILE);
  await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
  const donated = await DonatedCpu.open(o.dataDir, o.now);
  const onOutcome: ManagerEvents['outcome'] = (r) => donated.add(r.cpuMs ?? 0);
  o.manager.on('outcome', onOutcome);

  const app = Fastify({ logger: false, bodyLimit: 256 * 1024 });
  let port = 0;
  const loopback = (host: string) => host === `127.0.0.1:${port}` || host === `localhost:${port}`;
  // A page on another site that resolves its name to 127.0.0.1 still sends its own Host (DNS
  // rebinding), and a page that posts here names its own Origin: both must be this panel.
  app.addHook('onRequest', async (req, reply) => {
    const origin = req.headers.origin;
    if (
      !loopback(req.headers.host ?? '') ||
      (origin !== undefined && !loopback(origin.replace(/^http:\/\//, '')))
    )
      return reply.code(403).send({ error: { code: 'FORBIDDEN', message: 'loopback only' } });
  });
  const routeTable = await guardRoutes(app, {
    defaultAccess: 'owner',
    unauthorizedMessage: `panel token (see ${tokenFile})`,
    identify: (given) => (sameSecret(given, token) ? { role: 'owner' } : { role: 'none' }),
    allowedOrigin: (origin) => loopback(origin.replace(/^http:\/\//, '')),
  });
  await secureHeaders(app);
  useZodSchemas(app);
  useJsonBodyParser(app);
  serveRenderer(app, o.rendererDir ?? findRendererDir());
  app.setErrorHandler((err, _req, reply) => {
    const { status, body } = errorReply(err);
    if (status >= 500) o.logger?.error({ err }, 'panel request failed');
    return reply.code(status).send(body);
  });
  routes(app, o, donated);
  await app.listen({ host: '127.0.0.1', port: o.port ?? 0 });
  const address = app.server.address();
  port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    openUrl: `${url}/#panel-token=${token}`,
    token,
    port,
    routes: routeTable,
    close: async () => {
      o.manager.off('outcome', onOutcome);
      await app.close();
      await donated.flush();
      await rm(tokenFile, { force: true });
    },
  };
}
