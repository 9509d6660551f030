// The coordinator's tables in sql.js: jobs, the tasks extracted so far, every attempt, known contributors.
import type { Database } from 'sql.js';

/**
 * People and what they did: users (the token is only ever stored as its sha256) and the audit
 * log (append-only: no op updates or deletes a row of it). Created with IF NOT EXISTS so that
 * `migrate` can add them to a store made before they existed.
 */
const PEOPLE_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,
    weight REAL NOT NULL DEFAULT 1, created_at INTEGER NOT NULL, token_at INTEGER NOT NULL,
    max_share REAL)`,
  `CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, user TEXT NOT NULL,
    role TEXT NOT NULL, action TEXT NOT NULL, target TEXT, address TEXT, status INTEGER NOT NULL,
    detail TEXT)`,
  `CREATE INDEX IF NOT EXISTS audit_by_time ON audit (at)`,
];

/** Finished jobs by when they ended: what retention (--keep-days) deletes first. */
const JOBS_BY_END = `CREATE INDEX IF NOT EXISTS jobs_by_end ON jobs (state, finished_at)`;

/**
 * The fleet (docs/fleet-rollout.md): groups an admin gave a machine (JSON array), fleet policies
 * and remote pause / drain, each per scope (`group:NAME` or `machine:ID`); migration 2 → 3 adds
 * them to an older store.
 */
const FLEET_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS contributor_groups (
    contributor_id TEXT PRIMARY KEY, groups TEXT NOT NULL, by TEXT, at INTEGER NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS fleet_policies (
    scope TEXT PRIMARY KEY, policy TEXT NOT NULL, at INTEGER NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS fleet_controls (
    scope TEXT PRIMARY KEY, state TEXT NOT NULL, by TEXT, reason TEXT, at INTEGER NOT NULL)`,
];

/**
 * What is left in memory of succeeded tasks once the task archive (archive.ts) holds them: the
 * figures over time (succeeded attempts and busy time per minute and user: throughput and fair
 * share; CPU per hour and contributor: CPU donated), slim copies of the newest archived attempts
 * (the timeline), and the blobs archived tasks reference (blob retention). Migration 3 → 4 adds them.
 */
const ARCHIVE_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS usage_minutes (
    minute INTEGER NOT NULL, user TEXT NOT NULL, succeeded INTEGER NOT NULL, busy_ms REAL NOT NULL,
    PRIMARY KEY (minute, user)) WITHOUT ROWID`,
  `CREATE TABLE IF NOT EXISTS cpu_hours (
    hour INTEGER NOT NULL, contributor TEXT NOT NULL, cpu_ms REAL NOT NULL,
    PRIMARY KEY (hour, contributor)) WITHOUT ROWID`,
  `CREATE TABLE IF NOT EXISTS recent_attempts (
    id TEXT NOT NULL, job_id TEXT NOT NULL, idx INTEGER NOT NULL, number INTEGER NOT NULL,
    contributor TEXT, state TEXT NOT NULL, assigned_at INTEGER NOT NULL, ended_at INTEGER,
    wall_ms REAL)`,
  `CREATE INDEX IF NOT EXISTS recent_attempts_by_job ON recent_attempts (job_id)`,
  `CREATE TABLE IF NOT EXISTS job_blobs (
    job_id TEXT NOT NULL, sha256 TEXT NOT NULL, PRIMARY KEY (job_id, sha256)) WITHOUT ROWID`,
];

export const SCHEMA: string[] = [
  `CREATE TABLE jobs (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, name TEXT NOT NULL, spec TEXT NOT NULL,
    runtime TEXT NOT NULL, state TEXT NOT NULL, priority INTEGER NOT NULL, owner TEXT,
    created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER,
    task_count INTEGER NOT NULL,
    -- For a job whose inputs are an NDJSON blob: the byte offset after the last extracted task.
    cursor INTEGER NOT NULL DEFAULT 0,
    succeeded INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,
    cancelled INTEGER NOT NULL DEFAULT 0,
    -- Why the job failed as a whole (its inputs could not be extracted); NULL otherwise.
    error TEXT,
    -- The user whose token submitted it (NULL: before users existed, i.e. the owner).
    submitted_by TEXT,
    -- How many tasks were extracted (they are, in index order): those below have a row in
    -- tasks, or are in the task archive once succeeded.
    extracted INTEGER NOT NULL DEFAULT 0)`,
  JOBS_BY_END,
  `CREATE TABLE tasks (
    job_id TEXT NOT NULL, idx INTEGER NOT NULL, input TEXT NOT NULL, state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0,
    output TEXT, error TEXT, finished_at INTEGER,
    PRIMARY KEY (job_id, idx)) WITHOUT ROWID`,
  `CREATE INDEX tasks_by_state ON tasks (job_id, state, idx)`,
  `CREATE TABLE attempts (
    id TEXT PRIMARY KEY, job_id TEXT NOT NULL, idx INTEGER NOT NULL, number INTEGER NOT NULL,
    contributor TEXT, state TEXT NOT NULL, speculative INTEGER NOT NULL DEFAULT 0,
    assigned_at INTEGER NOT NULL, ended_at INTEGER, wall_ms REAL, cpu_ms REAL,
    exit_code INTEGER, error TEXT, logs TEXT)`,
  `CREATE INDEX attempts_by_task ON attempts (job_id, idx)`,
  `CREATE INDEX attempts_live ON attempts (state) WHERE state IN ('assigned', 'running')`,
  `CREATE TABLE contributors (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, caps TEXT NOT NULL, first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL)`,
  `CREATE TABLE credentials (
    contributor_id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, via TEXT NOT NULL,
    state TEXT NOT NULL, name TEXT NOT NULL, created_at INTEGER NOT NULL, revoked_at INTEGER)`,
  `CREATE TABLE pairings (
    contributor_id TEXT PRIMARY KEY, name TEXT NOT NULL, user TEXT, public_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL, state TEXT NOT NULL, created_at INTEGER NOT NULL,
    decided_at INTEGER)`,
  ...PEOPLE_SCHEMA,
  ...FLEET_SCHEMA,
  ...ARCHIVE_SCHEMA,
];

/**
 * Format 0 → 1: a store from before store formats (any earlier release) gets what it may lack:
 * kept logs, a job's error, its submitter, users and the audit log. Idempotent, as releases
 * before formats differ in which of these they had.
 */
export function migrateToFormat1(db: Database): void {
  addColumn(db, 'attempts', 'logs'); // JSON of blob references: the attempt's kept output
  addColumn(db, 'jobs', 'error'); // why a job failed as a whole (its inputs could not be extracted)
  // The user whose token submitted the job; NULL for jobs from before users: the owner's (admin).
  addColumn(db, 'jobs', 'submitted_by');
  for (const sql of PEOPLE_SCHEMA) db.run(sql);
  // A user's cap on the grid's slots (0-1]; NULL: none. Users from before it have none.
  addColumn(db, 'users', 'max_share', 'REAL');
}

/**
 * The coordinator store's ordered migrations (DurableDbOptions.migrations): `MIGRATIONS[n]` takes a
 * store of format n to n + 1; the format this build writes is their count. SCHEMA is always the
 * newest format: a change to it comes with a migration here, and so does a new op kind (a no-op
 * migration), so that an older build refuses a store it could not replay.
 */
export const MIGRATIONS: ((db: Database) => void)[] = [
  migrateToFormat1,
  // 1 → 2: jobs can be deleted (op job.delete); finished jobs are found by when they ended.
  (db) => db.run(JOBS_BY_END),
  // 2 → 3: the fleet: machines' groups, fleet policies, remote pause / drain (ops fleet.*).
  (db) => {
    for (const sql of FLEET_SCHEMA) db.run(sql);
  },
  // 3 → 4: succeeded tasks leave for the task archive; a job counts its extracted tasks itself
  // (until now the highest task row told). Rows already there stay where they are, and are
  // counted in the figures from the attempts table as before.
  (db) => {
    addColumn(db, 'jobs', 'extracted', 'INTEGER NOT NULL DEFAULT 0');
    db.run(
      'UPDATE jobs SET extracted = (SELECT COALESCE(MAX(idx) + 1, 0) FROM tasks WHERE tasks.job_id = jobs.id)',
    );
    for (const sql of ARCHIVE_SCHEMA) db.run(sql);
  },
];

/** The store format this build writes. */
export const STORE_FORMAT = MIGRATIONS.length;

/** Adds a column that a store made by an earlier release lacks (a snapshot keeps its schema). */
function addColumn(db: Database, table: string, column: string, type = 'TEXT'): void {
  const columns = db.exec(`PRAGMA table_info(${table})`)[0]?.values.map((r) => r[1]) ?? [];
  if (columns.length > 0 && !columns.includes(column))
    db.run(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
}
