// Joining and pairing routes (docs/trust.md): trade a join secret for a credential, ask to pair,
// approve / deny / revoke, and claim the credential of an approved pairing.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { API_PREFIX } from '../../../../shared/api.js';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Credentials } from '../access/credentials.js';
import type { Access } from '../../http-access.js';

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
const audit = (name: string) => ({ config: { audit: name } });
const idParams = { params: z.strictObject({ id: contributorId }) };

export function registerTrustRoutes(
  fastify: FastifyInstance,
  credentials: Credentials,
  lan?: () =>
    | ReadonlyMap<string, { contributorId: string; name: string; host: string | undefined }>
    | undefined,
): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.post(`${P}/join`, { ...access('join'), schema: { body: joinBodySchema } }, async (req) => {
    const body = req.body;
    return {
      contributorId: body.contributorId,
      credential: await credentials.join(body.contributorId, body.name),
    };
  });

  // Anyone on the LAN may ask; nothing is granted until an admin approves.
  app.post(
    `${P}/pairing`,
    { ...access('pairing'), schema: { body: pairingBodySchema } },
    async (req, reply) => reply.code(202).send(await credentials.requestPairing(req.body, req.ip)),
  );

  // Public route, but the body must be signed by the key that asked to pair.
  app.post(
    `${P}/pairing/:id/claim`,
    { ...access('pairing'), schema: { ...idParams, body: claimBodySchema } },
    async (req) => {
      const { id } = req.params;
      const body = req.body;
      return {
        contributorId: id,
        credential: await credentials.claim(id, body.timestamp, body.signature),
      };
    },
  );

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

  app.post(
    `${P}/contributors/:id/approve`,
    { ...audit('contributor.approve'), schema: idParams },
    async (req) => {
      const { id } = req.params;
      await credentials.decide(id, 'approved');
      return credentials.pairing(id);
    },
  );

  app.post(
    `${P}/contributors/:id/deny`,
    { ...audit('contributor.deny'), schema: idParams },
    async (req) => {
      const { id } = req.params;
      await credentials.decide(id, 'denied');
      return credentials.pairing(id);
    },
  );

  app.post(
    `${P}/contributors/:id/revoke`,
    { ...audit('contributor.revoke'), schema: idParams },
    async (req) => {
      const { id } = req.params;
      await credentials.revoke(id);
      return { contributorId: id, state: 'revoked' };
    },
  );
}
