// People and the audit log over HTTP (admin only): list, add, remove users, rotate a user's
// token, set a user's fair-share weight and cap, and read the audit log.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { API_PREFIX, maxShareSchema, userWeightSchema } from '../../../../shared/api.js';
import type { Access } from '../../http-access.js';
import type { Engine } from '../engine/engine.js';
import { listAudit } from '../access/audit.js';
import type { Users } from '../access/users.js';

const P = API_PREFIX;
const admin = (audit?: string) => ({
  config: { access: 'admin' as Access, ...(audit ? { audit } : {}) },
});

export const userNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'a user name is 1-64 letters, digits, ".", "_" or "-"');
export const addUserSchema = z.strictObject({
  name: userNameSchema,
  role: z.enum(['admin', 'submitter', 'viewer']),
  weight: userWeightSchema.optional(),
  maxShare: maxShareSchema.optional(),
});
const nameParams = z.strictObject({ name: userNameSchema });
const auditQuerySchema = z.strictObject({
  since: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
  before: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
  user: z.string().min(1).max(64).optional(),
  action: z
    .string()
    .regex(/^[A-Za-z0-9._/:-]{1,100}$/, 'an action is a name such as job.cancel or job')
    .optional(),
  order: z.enum(['oldest', 'newest']).optional(),
});

export function registerUserRoutes(fastify: FastifyInstance, users: Users, engine: Engine): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();

  app.get(`${P}/users`, admin(), async () => users.list());

  app.post(
    `${P}/users`,
    { ...admin('user.add'), schema: { body: addUserSchema } },
    async (req, reply) => {
      const { name, role, weight, maxShare } = req.body;
      req.auditTarget = name;
      req.auditDetail = `role ${role}${maxShare !== undefined ? `, max share ${maxShare}` : ''}`;
      const { user, token } = await users.add(name, role, weight, maxShare);
      return reply.code(201).send({ ...user, token });
    },
  );

  app.delete(
    `${P}/users/:name`,
    { ...admin('user.remove'), schema: { params: nameParams } },
    async (req) => {
      await users.remove(req.params.name);
      return { name: req.params.name, removed: true };
    },
  );

  // The old token stops working at once; the new one is only in this answer.
  app.post(
    `${P}/users/:name/token`,
    { ...admin('user.token'), schema: { params: nameParams } },
    async (req) => {
      const { user, token } = await users.rotate(req.params.name);
      return { ...user, token };
    },
  );

  app.post(
    `${P}/users/:name/weight`,
    {
      ...admin('user.weight'),
      schema: { params: nameParams, body: z.strictObject({ weight: userWeightSchema }) },
    },
    async (req) => {
      req.auditDetail = `weight ${req.body.weight}`;
      return users.setWeight(req.params.name, req.body.weight);
    },
  );

  // null lifts the cap.
  app.post(
    `${P}/users/:name/share`,
    {
      ...admin('user.share'),
      schema: {
        params: nameParams,
        body: z.strictObject({ maxShare: maxShareSchema.nullable() }),
      },
    },
    async (req) => {
      req.auditDetail = req.body.maxShare === null ? 'no cap' : `max share ${req.body.maxShare}`;
      return users.setShare(req.params.name, req.body.maxShare);
    },
  );

  app.get(`${P}/audit`, { ...admin(), schema: { querystring: auditQuerySchema } }, async (req) =>
    listAudit(engine, req.query.since, req.query.limit, {
      ...(req.query.before !== undefined ? { before: req.query.before } : {}),
      ...(req.query.user !== undefined ? { user: req.query.user } : {}),
      ...(req.query.action !== undefined ? { action: req.query.action } : {}),
      newestFirst: req.query.order === 'newest',
    }),
  );
}
