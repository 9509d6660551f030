// A tiny key-value store over DurableDb, shared by the store tests and the crash child.
import type { Database } from 'sql.js';

export type KvOp =
  | { type: 'set'; k: string; v: number }
  | { type: 'add'; k: string; n: number }
  /** Inserts, then throws: must leave no trace. */
  | { type: 'boom'; k: string };

export const kvSchema = ['CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL)'];

export function applyKv(db: Database, op: KvOp): number {
  switch (op.type) {
    case 'set':
      db.run('INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)', [op.k, op.v]);
      return op.v;
    case 'add': {
      const cur = Number(db.exec('SELECT v FROM kv WHERE k = ?', [op.k])[0]?.values[0]?.[0] ?? 0);
      db.run('INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)', [op.k, cur + op.n]);
      return cur + op.n;
    }
    case 'boom':
      db.run('INSERT INTO kv (k, v) VALUES (?, 0)', [op.k]);
      throw new Error('boom');
  }
}

export function dumpKv(db: Database): [string, number][] {
  const rows = db.exec('SELECT k, v FROM kv ORDER BY k')[0]?.values ?? [];
  return rows.map(([k, v]) => [String(k), Number(v)]);
}
