// State transitions of users (people with tokens of their own) and the append-only audit log.
import type { Database, SqlValue } from 'sql.js';
import type { ApplyResult, Op } from './ops.js';
import { TransitionError } from './state-machine.js';

type PeopleOp = Extract<
  Op,
  { t: 'user.add' | 'user.remove' | 'user.token' | 'user.weight' | 'user.share' | 'audit.record' }
>;
type Run = (db: Database, sql: string, params: SqlValue[]) => void;

function exists(db: Database, name: string): boolean {
  return (db.exec('SELECT 1 FROM users WHERE name = ?', [name])[0]?.values.length ?? 0) > 0;
}

export function applyPeopleOp(db: Database, op: PeopleOp, run: Run): ApplyResult {
  switch (op.t) {
    case 'user.add':
      if (exists(db, op.name)) throw new TransitionError(`user ${op.name} already exists`);
      run(
        db,
        'INSERT INTO users (name, role, hash, weight, created_at, token_at, max_share) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [op.name, op.role, op.hash, op.weight, op.at, op.at, op.maxShare ?? null],
      );
      return {};
    case 'user.remove':
      if (!exists(db, op.name)) throw new TransitionError(`no user ${op.name}`);
      run(db, 'DELETE FROM users WHERE name = ?', [op.name]);
      return {};
    case 'user.token':
      if (!exists(db, op.name)) throw new TransitionError(`no user ${op.name}`);
      run(db, 'UPDATE users SET hash = ?, token_at = ? WHERE name = ?', [op.hash, op.at, op.name]);
      return {};
    case 'user.weight':
      if (!exists(db, op.name)) throw new TransitionError(`no user ${op.name}`);
      run(db, 'UPDATE users SET weight = ? WHERE name = ?', [op.weight, op.name]);
      return {};
    case 'user.share':
      if (!exists(db, op.name)) throw new TransitionError(`no user ${op.name}`);
      run(db, 'UPDATE users SET max_share = ? WHERE name = ?', [op.maxShare, op.name]);
      return {};
    case 'audit.record':
      run(
        db,
        'INSERT INTO audit (at, user, role, action, target, address, status, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        [
          op.at,
          op.user,
          op.role,
          op.action,
          op.target ?? null,
          op.address ?? null,
          op.status,
          op.detail ?? null,
        ],
      );
      return {};
  }
}
