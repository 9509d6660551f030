// The coordinator's tables in sql.js: jobs, the tasks extracted so far, every attempt, known contributors.

export const SCHEMA: string[] = [
  `CREATE TABLE jobs (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, name TEXT NOT NULL, spec TEXT NOT NULL,
    runtime TEXT NOT NULL, state TEXT NOT NULL, priority INTEGER NOT NULL, owner TEXT,
    created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER,
    task_count INTEGER NOT NULL,
    -- For a job whose inputs are an NDJSON blob: the byte offset after the last extracted task.
    cursor INTEGER NOT NULL DEFAULT 0,
    succeeded INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,
    cancelled INTEGER NOT NULL DEFAULT 0)`,
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
    exit_code INTEGER, error TEXT)`,
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
];

/** How many tasks of the job in scope (`jobs`) have a row: they are extracted in index order. */
export const EXTRACTED =
  '(SELECT COALESCE(MAX(idx) + 1, 0) FROM tasks WHERE tasks.job_id = jobs.id)';
