// State transitions of contributor credentials and pairing requests (docs/trust.md).
import type { Database, SqlValue } from 'sql.js';
import type { ApplyResult, Op } from './ops.js';
import { TransitionError } from './state-machine.js';

type TrustOp = Extract<
  Op,
  {
    t:
      | 'credential.issue'
      | 'credential.revoke'
      | 'pairing.request'
      | 'pairing.decide'
      | 'pairing.expire';
  }
>;
type Run = (db: Database, sql: string, params: SqlValue[]) => void;

function pairingState(db: Database, contributorId: string): string | undefined {
  const r = db.exec('SELECT state FROM pairings WHERE contributor_id = ?', [contributorId])[0];
  return r?.values[0]?.[0] as string | undefined;
}

export function applyTrustOp(db: Database, op: TrustOp, run: Run): ApplyResult {
  switch (op.t) {
    case 'credential.issue':
      if (op.via === 'pairing' && pairingState(db, op.contributorId) !== 'approved')
        throw new TransitionError(`contributor ${op.contributorId} is not approved`);
      run(
        db,
        `INSERT INTO credentials (contributor_id, hash, via, state, name, created_at) VALUES (?, ?, ?, 'active', ?, ?)
         ON CONFLICT (contributor_id) DO UPDATE SET hash = excluded.hash, via = excluded.via, state = 'active', name = excluded.name, created_at = excluded.created_at, revoked_at = NULL`,
        [op.contributorId, op.hash, op.via, op.name, op.at],
      );
      return {};
    case 'credential.revoke':
      run(db, "UPDATE credentials SET state = 'revoked', revoked_at = ? WHERE contributor_id = ?", [
        op.at,
        op.contributorId,
      ]);
      run(db, "UPDATE pairings SET state = 'denied', decided_at = ? WHERE contributor_id = ?", [
        op.at,
        op.contributorId,
      ]);
      return {};
    case 'pairing.request': {
      const state = pairingState(db, op.contributorId);
      if (state === 'approved')
        throw new TransitionError(`contributor ${op.contributorId} is already approved`);
      run(
        db,
        `INSERT INTO pairings (contributor_id, name, user, public_key, fingerprint, state, created_at) VALUES (?, ?, ?, ?, ?, 'pending', ?)
         ON CONFLICT (contributor_id) DO UPDATE SET name = excluded.name, user = excluded.user, public_key = excluded.public_key, fingerprint = excluded.fingerprint, state = 'pending', created_at = excluded.created_at, decided_at = NULL`,
        [op.contributorId, op.name, op.user ?? null, op.publicKey, op.fingerprint, op.at],
      );
      return {};
    }
    case 'pairing.decide':
      if (pairingState(db, op.contributorId) !== 'pending')
        throw new TransitionError(`no pending pairing request from ${op.contributorId}`);
      run(db, 'UPDATE pairings SET state = ?, decided_at = ? WHERE contributor_id = ?', [
        op.decision,
        op.at,
        op.contributorId,
      ]);
      return {};
    case 'pairing.expire':
      // Only a request still pending: an approval or a denial already made stays.
      run(db, "DELETE FROM pairings WHERE contributor_id = ? AND state = 'pending'", [
        op.contributorId,
      ]);
      return {};
  }
}
