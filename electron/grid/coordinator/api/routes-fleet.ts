// The fleet over HTTP (admin only, every change audited): groups, fleet policies with locked fields,
// remote pause / drain / resume of machines or groups, and one machine's fleet page.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { API_PREFIX } from '../../../../shared/api.js';
import { ColonyError } from '../../../../shared/errors.js';
import { fleetGroupSchema, fleetGroupsSchema } from '../../../../shared/fleet-policy.js';
import type { Access } from '../../http-access.js';
import type { Engine } from '../engine/engine.js';
import type { Fleet, FleetTarget } from '../fleet/fleet.js';
import type { Views } from './views.js';

const P = API_PREFIX;
const admin = (audit?: string) => ({
  config: { access: 'admin' as Access, ...(audit ? { audit } : {}) },
});
const contributorId = z.string().regex(/^[A-Za-z0-9._-]{1,200}$/, 'not a contributor id');
const idParams = z.strictObject({ id: contributorId });

/** Machines by id, or the machines of a group: exactly one of the two. */
const targetsSchema = z
  .strictObject({
    ids: z.array(contributorId).min(1).max(10_000).optional(),
    group: fleetGroupSchema.optional(),
    reason: z.string().max(500).optional(),
  })
  .refine((b) => (b.ids === undefined) !== (b.group === undefined), {
    message: 'give either ids or group',
  });
const groupsBodySchema = z.strictObject({
  ids: z.array(contributorId).min(1).max(10_000),
  /** Empty: back to the machines' own tags. */
  groups: fleetGroupsSchema,
});
const policyBodySchema = z
  .strictObject({
    machine: contributorId.optional(),
    group: fleetGroupSchema.optional(),
    settings: z.record(z.string(), z.unknown()),
    lock: z.array(z.string().max(100)).max(50).default([]),
    reason: z.string().max(500).optional(),
  })
  .refine((b) => (b.machine === undefined) !== (b.group === undefined), {
    message: 'give either machine or group',
  });
const policyQuerySchema = z
  .strictObject({ machine: contributorId.optional(), group: fleetGroupSchema.optional() })
  .refine((b) => (b.machine === undefined) !== (b.group === undefined), {
    message: 'give either machine or group',
  });

function targetOf(b: { machine?: string | undefined; group?: string | undefined }): FleetTarget {
  return b.group !== undefined ? { group: b.group } : { machine: b.machine! };
}

function describe(b: { ids?: string[] | undefined; group?: string | undefined }): string {
  return b.group !== undefined ? `group:${b.group}` : (b.ids ?? []).join(',').slice(0, 200);
}

export function registerFleetRoutes(
  fastify: FastifyInstance,
  deps: { fleet: Fleet; views: Views; engine: Engine },
): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { fleet, views, engine } = deps;

  app.get(`${P}/fleet`, admin(), async () => ({
    groups: [...fleet.groups()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, machines]) => ({ name, machines })),
    policies: fleet.allPolicies(),
  }));

  app.get(
    `${P}/contributors/:id/fleet`,
    { ...admin(), schema: { params: idParams } },
    async (req) => {
      const { id } = req.params;
      if (!fleet.known(id)) throw new ColonyError('NOT_FOUND', `no contributor ${id}`);
      const session = engine.session(id);
      return {
        id,
        groups: fleet.groupsOf(id),
        tags: fleet.tagsOf(id),
        groupsSetByAdmin: fleet.groupsSetByAdmin(id),
        policy: fleet.policyOf(id),
        machinePolicy: fleet.policyAt({ machine: id }),
        control: fleet.controlOf(id),
        state: fleet.stateOf(session, id),
        status: session?.policy ?? null,
        reasons: session ? [...session.reasons] : [],
        donatedCpu: views.donatedCpu(id),
      };
    },
  );

  app.post(
    `${P}/fleet/groups`,
    { ...admin('fleet.groups'), schema: { body: groupsBodySchema } },
    async (req) => {
      const { ids, groups } = req.body;
      req.auditTarget = ids.join(',').slice(0, 200);
      req.auditDetail = groups.length > 0 ? `groups ${groups.join(',')}` : 'groups: back to tags';
      await fleet.setGroups(ids, groups.length > 0 ? groups : null, req.caller.user ?? 'admin');
      return ids.map((id) => ({ id, groups: fleet.groupsOf(id) }));
    },
  );

  app.put(
    `${P}/fleet/policy`,
    { ...admin('fleet.policy'), schema: { body: policyBodySchema } },
    async (req) => {
      const b = req.body;
      const target = targetOf(b);
      req.auditTarget = 'group' in target ? `group:${target.group}` : target.machine;
      req.auditDetail = `fields ${Object.keys(b.settings).join(',')}${b.lock.length ? `; locked ${b.lock.join(',')}` : ''}`;
      const policy = await fleet.setPolicy(
        target,
        b.settings,
        b.lock,
        req.caller.user ?? 'admin',
        b.reason,
      );
      return { target, policy, machines: fleet.resolve(target) };
    },
  );

  app.delete(
    `${P}/fleet/policy`,
    { ...admin('fleet.policy.clear'), schema: { querystring: policyQuerySchema } },
    async (req) => {
      const target = targetOf(req.query);
      req.auditTarget = 'group' in target ? `group:${target.group}` : target.machine;
      await fleet.clearPolicy(target);
      return { target, policy: null };
    },
  );

  for (const [action, state] of [
    ['pause', 'paused'],
    ['drain', 'draining'],
    ['resume', 'none'],
  ] as const)
    app.post(
      `${P}/fleet/${action}`,
      { ...admin(`fleet.${action}`), schema: { body: targetsSchema } },
      async (req) => {
        const b = req.body;
        req.auditTarget = describe(b);
        if (b.reason) req.auditDetail = b.reason.slice(0, 200);
        const targets: FleetTarget[] =
          b.group !== undefined
            ? [{ group: b.group }]
            : (b.ids ?? []).map((machine) => ({ machine }));
        const ids = await fleet.control(targets, state, req.caller.user ?? 'admin', b.reason);
        return ids.map((id) => ({
          id,
          control: fleet.controlOf(id).state,
          state: fleet.stateOf(engine.session(id), id),
        }));
      },
    );
}
