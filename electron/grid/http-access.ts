// Who may call a route: each route names its access kind in its Fastify config, and one hook
// decides from the route the router matched (never from the URL's text), for every server of ours.
import rateLimit from '@fastify/rate-limit';
import helmet from '@fastify/helmet';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodType } from 'zod';
import { ColonyError, ValidationError } from '../../shared/errors.js';
import { fieldIssues, humanError } from '../../shared/validate.js';

/**
 * The access kinds a route can declare. `public`: anyone (no data behind it); `pairing`: anyone,
 * rate-limited, nothing granted without an admin (asking to pair, claiming a signed credential);
 * `join`: the fleet join secret, rate-limited; `contributor`: a contributor credential (or the
 * admin); `read`: any person (viewer, submitter, admin): jobs, tasks, results, contributors;
 * `blob-read`: any person, or a contributor for the module and files of a job it runs (by sha256);
 * `blob-write`: a submitter, an admin or a contributor (its outputs); `submit`: a submitter or an
 * admin (submitting; changing and deleting jobs: the route lets a submitter touch only their
 * own); `admin`: an admin (users, tokens, settings, pairing, revocation); `owner`: the
 * contributor panel's token (its machine's owner).
 */
export type Access =
  | 'public'
  | 'pairing'
  | 'join'
  | 'contributor'
  | 'read'
  | 'blob-read'
  | 'blob-write'
  | 'submit'
  | 'admin'
  | 'owner';

/** Who a request turned out to be, from its credential. */
export type Role = 'admin' | 'submitter' | 'viewer' | 'contributor' | 'join' | 'owner' | 'none';

/** The roles of people (users with tokens of their own, and the bootstrap admin token). */
export const PEOPLE: readonly Role[] = ['admin', 'submitter', 'viewer'];

/** The one table: which roles each access kind admits. */
export const ADMITS: Record<Access, readonly Role[] | 'anyone'> = {
  public: 'anyone',
  pairing: 'anyone',
  join: ['join'],
  contributor: ['contributor', 'admin'],
  read: ['viewer', 'submitter', 'admin'],
  'blob-read': ['contributor', 'viewer', 'submitter', 'admin'],
  'blob-write': ['contributor', 'submitter', 'admin'],
  submit: ['submitter', 'admin'],
  admin: ['admin'],
  owner: ['owner'],
};

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    /** The audit log's name for a state-changing call (default: method and route); false: none. */
    audit?: string | false;
    /** Record only refused calls (uploads: a blob by blob, the job that uses them is recorded). */
    auditOnlyRefused?: boolean;
  }
  interface FastifyRequest {
    /** Set by the access hook: who the caller is and, for a contributor, which one. */
    caller: Caller;
  }
}

export interface Caller {
  role: Role;
  contributorId?: string;
  /** A person's user name (`owner` for the bootstrap admin token). */
  user?: string;
}

export interface RouteEntry {
  method: string;
  url: string;
  access: Access;
}

export interface AccessOptions {
  /** Who carries this request's credential (the bearer token, already split off). */
  identify: (token: string | undefined) => Caller;
  /** Access of a route that declares none: the most restrictive kind the server has. */
  defaultAccess: Access;
  /** What a 401 should tell the caller to look for. */
  unauthorizedMessage: string;
  /** Failed authentications per source address per minute; past it, 429. @defaultValue 120 */
  failedAuthPerMinute?: number;
  /** Requests to `pairing` and `join` routes per source address per minute. @defaultValue 30 */
  enrolPerMinute?: number;
  /** Origins a browser may send state-changing requests from, besides the server's own. */
  allowedOrigin: (origin: string, req: FastifyRequest) => boolean;
}

export function bearer(req: {
  headers: { authorization?: string | undefined };
}): string | undefined {
  const auth = req.headers.authorization;
  return auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
}

/** Does `role` pass a route of kind `access`? */
export function admits(access: Access, role: Role): boolean {
  const allowed = ADMITS[access];
  return allowed === 'anyone' || allowed.includes(role);
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The sentence of a 403: who the caller is and which roles this route takes. */
function refusal(access: Access, caller: Caller): string {
  const allowed = ADMITS[access];
  const people = allowed === 'anyone' ? [] : allowed.filter((r) => PEOPLE.includes(r));
  if (caller.user === undefined || people.length === 0)
    return `a ${caller.role} credential cannot do this`;
  return `${caller.user} is a ${caller.role}: this needs the role ${people.join(' or ')}`;
}

/**
 * Installs the access hook, the 404 for anything that matches no route, rate limits and the
 * content-type rule, and returns the route table (filled as routes are added). Call before any
 * route is registered.
 */
export async function guardRoutes(app: FastifyInstance, o: AccessOptions): Promise<RouteEntry[]> {
  const routes: RouteEntry[] = [];
  app.addHook('onRoute', (r) => {
    const access = r.config?.access ?? o.defaultAccess;
    r.config = { ...r.config, access };
    for (const method of [r.method].flat())
      if (method !== 'HEAD') routes.push({ method, url: r.url, access });
  });
  app.decorateRequest('caller', null as unknown as Caller);

  await app.register(rateLimit, { global: false });
  const failedAuth = app.createRateLimit({
    max: o.failedAuthPerMinute ?? 120,
    timeWindow: 60_000,
    keyGenerator: (req) => `auth:${req.ip}`,
  });
  const enrol = app.createRateLimit({
    max: o.enrolPerMinute ?? 30,
    timeWindow: 60_000,
    keyGenerator: (req) => `enrol:${req.ip}`,
  });
  const tooMany = (ttl: number) =>
    new ColonyError(
      'TOO_MANY_REQUESTS',
      `too many requests from this address; try again in ${Math.ceil(ttl / 1000)} s`,
    );

  // A plain-text or form body is what a page on another site can send without asking (a "simple"
  // cross-origin request): no route of ours reads one.
  app.removeContentTypeParser(['text/plain']);

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    if (req.is404) return; // the not-found handler answers, whatever the credential
    const access = req.routeOptions.config.access ?? o.defaultAccess;
    const origin = req.headers.origin;
    if (origin !== undefined && !SAFE_METHODS.has(req.method) && !o.allowedOrigin(origin, req))
      throw new ColonyError('FORBIDDEN', `requests from origin ${origin} are not accepted`);
    if (access === 'pairing' || access === 'join') {
      const limit = await enrol(req);
      if (!limit.isAllowed && limit.isExceeded) {
        void reply.header('retry-after', String(limit.ttlInSeconds));
        throw tooMany(limit.ttl);
      }
    }
    const token = bearer(req);
    req.caller = token === undefined ? { role: 'none' } : o.identify(token);
    if (ADMITS[access] === 'anyone') return;
    // An address that failed too often is refused outright for the window, the right token
    // included: otherwise a guesser would still tell a hit (200) from a miss (429).
    const seen = await failedAuth(req, { increment: false });
    if (!seen.isAllowed && seen.isExceeded) {
      void reply.header('retry-after', String(seen.ttlInSeconds));
      throw tooMany(seen.ttl);
    }
    if (admits(access, req.caller.role)) return;
    const limit = await failedAuth(req);
    if (!limit.isAllowed && limit.isExceeded) {
      void reply.header('retry-after', String(limit.ttlInSeconds));
      throw tooMany(limit.ttl);
    }
    if (req.caller.role === 'none')
      throw new ColonyError('UNAUTHORIZED', `missing or wrong ${o.unauthorizedMessage}`);
    throw new ColonyError('FORBIDDEN', refusal(access, req.caller));
  });

  app.setNotFoundHandler((_req, reply) =>
    reply.code(404).send({ error: { code: 'NOT_FOUND', message: 'no such route' } }),
  );
  return routes;
}

/**
 * Security headers for the API and the GUI: a Content-Security-Policy the built renderer passes
 * (its own scripts, styles and fetches only), no framing, no MIME sniffing, no referrer.
 */
export async function secureHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        baseUri: ["'none'"],
        connectSrc: ["'self'"],
        fontSrc: ["'self'", 'data:'],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        objectSrc: ["'none'"],
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        styleSrc: ["'self'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    // A self-signed certificate on an office address: HSTS would make a browser's certificate
    // warning impossible to click through, and the panel is plain HTTP on loopback.
    strictTransportSecurity: false,
  });
}

/**
 * Route schemas are zod schemas (typed through fastify-type-provider-zod's ZodTypeProvider): the
 * router validates params, query and body before the handler, and a failure is our usual 400
 * `{error: {code: 'BAD_INPUT', message, details: {issues}}}` naming each field.
 */
export function useZodSchemas(app: FastifyInstance): void {
  const part = { body: 'body', params: 'path', querystring: 'query', headers: 'headers' } as const;
  app.setValidatorCompiler<ZodType>(({ schema, httpPart }) => (data: unknown) => {
    const parsed = schema.safeParse(data, { error: humanError });
    if (parsed.success) return { value: parsed.data };
    const what = part[(httpPart ?? 'body') as keyof typeof part] ?? httpPart;
    return { error: new ValidationError(`bad ${what}`, fieldIssues(parsed.error)) };
  });
}
