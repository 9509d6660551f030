// A store written before attempts kept their logs (or users had caps) opens with the column
// added, data intact.
import initSqlJs from 'sql.js';
import { describe, expect, it } from 'vitest';
import { migrateToFormat1 as migrate, SCHEMA } from '../../../../electron/grid/store/schema.js';

const OLD_ATTEMPTS = `CREATE TABLE attempts (
    id TEXT PRIMARY KEY, job_id TEXT NOT NULL, idx INTEGER NOT NULL, number INTEGER NOT NULL,
    contributor TEXT, state TEXT NOT NULL, speculative INTEGER NOT NULL DEFAULT 0,
    assigned_at INTEGER NOT NULL, ended_at INTEGER, wall_ms REAL, cpu_ms REAL,
    exit_code INTEGER, error TEXT)`;

describe('schema migration', () => {
  it('adds attempts.logs to an older store, once, keeping its rows', async () => {
    const SQL = await initSqlJs();
    const db = new SQL.Database();
    db.run(OLD_ATTEMPTS);
    db.run(
      "INSERT INTO attempts (id, job_id, idx, number, state, assigned_at) VALUES ('1-1', 'j1', 0, 1, 'succeeded', 5)",
    );
    migrate(db);
    migrate(db);
    const columns = db.exec('PRAGMA table_info(attempts)')[0]?.values.map((r) => r[1]);
    expect(columns).toContain('logs');
    expect(db.exec('SELECT id, logs FROM attempts')[0]?.values).toEqual([['1-1', null]]);
  });

  it('leaves a current store as it is', async () => {
    const SQL = await initSqlJs();
    const db = new SQL.Database();
    for (const sql of SCHEMA) db.run(sql);
    migrate(db);
    const columns = db.exec('PRAGMA table_info(attempts)')[0]?.values.map((r) => r[1]);
    expect(columns?.filter((c) => c === 'logs')).toHaveLength(1);
  });

  it('adds users.max_share as a number column to a store with users from before caps', async () => {
    const SQL = await initSqlJs();
    const db = new SQL.Database();
    db.run(`CREATE TABLE users (
      name TEXT PRIMARY KEY, role TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,
      weight REAL NOT NULL DEFAULT 1, created_at INTEGER NOT NULL, token_at INTEGER NOT NULL)`);
    db.run("INSERT INTO users VALUES ('ann', 'submitter', 'h', 2, 1, 1)");
    migrate(db);
    migrate(db);
    expect(db.exec('SELECT name, weight, max_share FROM users')[0]?.values).toEqual([
      ['ann', 2, null],
    ]);
    db.run("UPDATE users SET max_share = 0.5 WHERE name = 'ann'");
    // A REAL column: the cap reads back as a number, not as text.
    expect(db.exec('SELECT typeof(max_share), max_share FROM users')[0]?.values).toEqual([
      ['real', 0.5],
    ]);
  });
});
