// Joining and pairing routes (SPEC §6): trade a join secret for a credential, ask to pair,
// approve / deny / revoke, and claim the credential of an approved pairing.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { API_PREFIX } from '../../../shared/api.js';
import { parseOrThrow } from '../../../shared/validate.js';
import type { Credentials } from './credentials.js';
import type { Access } from './routes.js';

const P = API_PREFIX;
const contributorId = z.string().regex(/^[A-Za-z0-9._-]{1,200}$/, 'not a contributor id');

export const joinBodySchema = z.strictObject({ contributorId, name: z.string().min(1).max(200) });
export const pairingBodySchema = z.strictObject({
  contributorId,
  name: z.string().min(1).max(200),
  user: z.string().max(200).optional(),
  publicKey: z.string().min(1).max(4096),
});
export const claimBodySchema = z.strictObject({
  timestamp: z.number().int(),
  signature: z.string().min(1).max(1024),
});

const access = (a: Access) => ({ config: { access: a } });
const idOf = (params: unknown) =>
  parseOrThrow(contributorId, (params as { id: string }).id, 'bad contributor id');

export function registerTrustRoutes(
  app: FastifyInstance,
  credentials: Credentials,
  lan?: () =>
    | ReadonlyMap<string, { contributorId: string; name: string; host: string | undefined }>
    | undefined,
): void {
  app.post(`${P}/join`, access('join'), async (req) => {
    const body = parseOrThrow(joinBodySchema, req.body, 'bad join request');
    return {
      contributorId: body.contributorId,
      credential: await credentials.join(body.contributorId, body.name),
    };
  });

  // Anyone on the LAN may ask; nothing is granted until an admin approves.
  app.post(`${P}/pairing`, access('public'), async (req, reply) => {
    const body = parseOrThrow(pairingBodySchema, req.body, 'bad pairing request');
    return reply.code(202).send(await credentials.requestPairing(body));
  });

  // Public route, but the body must be signed by the key that asked to pair.
  app.post(`${P}/pairing/:id/claim`, access('public'), async (req) => {
    const id = idOf(req.params);
    const body = parseOrThrow(claimBodySchema, req.body, 'bad claim');
    return {
      contributorId: id,
      credential: await credentials.claim(id, body.timestamp, body.signature),
    };
  });

  app.get(`${P}/pairing`, async () => credentials.pairings());

  /** Machines advertising on the LAN, and whether they hold a credential here. */
  app.get(`${P}/lan`, async () =>
    [...(lan?.() ?? new Map()).values()].map(
      (m: { contributorId: string; name: string; host: string | undefined }) => ({
        ...m,
        paired: credentials.state(m.contributorId) === 'active',
      }),
    ),
  );

  app.post(`${P}/contributors/:id/approve`, async (req) => {
    const id = idOf(req.params);
    await credentials.decide(id, 'approved');
    return credentials.pairing(id);
  });

  app.post(`${P}/contributors/:id/deny`, async (req) => {
    const id = idOf(req.params);
    await credentials.decide(id, 'denied');
    return credentials.pairing(id);
  });

  app.post(`${P}/contributors/:id/revoke`, async (req) => {
    const id = idOf(req.params);
    await credentials.revoke(id);
    return { contributorId: id, state: 'revoked' };
  });
}
