// State transitions of the fleet (docs/fleet-rollout.md): a machine's groups as the admin set them,
// fleet policies per group or machine, and remote pause / drain per group or machine.
import type { Database, SqlValue } from 'sql.js';
import type { ApplyResult, Op } from './ops.js';

type FleetOp = Extract<Op, { t: 'fleet.groups' | 'fleet.policy' | 'fleet.control' }>;
type Run = (db: Database, sql: string, params: SqlValue[]) => void;

export function applyFleetOp(db: Database, op: FleetOp, run: Run): ApplyResult {
  switch (op.t) {
    case 'fleet.groups':
      if (op.groups === null)
        run(db, 'DELETE FROM contributor_groups WHERE contributor_id = ?', [op.contributorId]);
      else
        run(
          db,
          'INSERT INTO contributor_groups (contributor_id, groups, by, at) VALUES (?, ?, ?, ?) ON CONFLICT (contributor_id) DO UPDATE SET groups = excluded.groups, by = excluded.by, at = excluded.at',
          [op.contributorId, JSON.stringify(op.groups), op.by ?? null, op.at],
        );
      return {};
    case 'fleet.policy':
      if (op.policy === null) run(db, 'DELETE FROM fleet_policies WHERE scope = ?', [op.scope]);
      else
        run(
          db,
          'INSERT INTO fleet_policies (scope, policy, at) VALUES (?, ?, ?) ON CONFLICT (scope) DO UPDATE SET policy = excluded.policy, at = excluded.at',
          [op.scope, JSON.stringify(op.policy), op.at],
        );
      return {};
    case 'fleet.control':
      if (op.state === 'none') run(db, 'DELETE FROM fleet_controls WHERE scope = ?', [op.scope]);
      else
        run(
          db,
          'INSERT INTO fleet_controls (scope, state, by, reason, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (scope) DO UPDATE SET state = excluded.state, by = excluded.by, reason = excluded.reason, at = excluded.at',
          [op.scope, op.state, op.by ?? null, op.reason ?? null, op.at],
        );
      return {};
  }
}
