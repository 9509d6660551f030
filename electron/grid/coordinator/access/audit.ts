// The audit log: every state-changing call a person makes is journaled (who, what, target, when,
// from where, and how it ended), from one hook, so no route can forget it. Nothing changes it.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditEntry } from '../../../../shared/api.js';
import type { AuditFilter } from '../../store/reader.js';
import type { Engine } from '../engine/engine.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** What a state-changing call acted on, when its params do not say (a new job's id). */
    auditTarget?: string;
    /** A few words more for the audit log (a new priority, a role). */
    auditDetail?: string;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function targetOf(req: FastifyRequest): string | undefined {
  if (req.auditTarget !== undefined) return req.auditTarget;
  const p = req.params as Record<string, unknown> | undefined;
  const v = p?.id ?? p?.name ?? p?.which ?? p?.sha;
  return typeof v === 'string' ? v.slice(0, 200) : undefined;
}

/**
 * Records each non-GET call by a person (an admin, submitter or viewer; refusals included) that
 * the router matched, before the answer leaves: once the caller sees it, it is in the journal.
 */
export function installAudit(app: FastifyInstance, engine: Engine): void {
  app.addHook('onSend', async (req, reply, payload) => {
    if (SAFE_METHODS.has(req.method) || req.is404) return payload;
    const user = req.caller?.user;
    const config = req.routeOptions.config;
    if (user === undefined || config.audit === false) return payload;
    if (config.auditOnlyRefused && reply.statusCode < 400) return payload;
    const target = targetOf(req);
    try {
      const { durable } = engine.commit({
        t: 'audit.record',
        at: engine.now(),
        user,
        role: req.caller.role,
        action: config.audit ?? `${req.method} ${req.routeOptions.url ?? ''}`,
        ...(target !== undefined ? { target } : {}),
        address: req.ip,
        status: reply.statusCode,
        ...(req.auditDetail !== undefined ? { detail: req.auditDetail } : {}),
      });
      await durable;
    } catch (err) {
      // The store failed (the call itself was refused with 503 then); said once by the store.
      engine.log.warn({ err: (err as Error).message, user }, 'audit record not written');
    }
    return payload;
  });
}

export type { AuditFilter };

/** Audit entries at or after `since` (ms since the epoch), oldest first, at most `limit`. */
export function listAudit(
  engine: Engine,
  since = 0,
  limit = 1000,
  filter: AuditFilter = {},
): AuditEntry[] {
  return engine.read.audit(since, limit, filter);
}
