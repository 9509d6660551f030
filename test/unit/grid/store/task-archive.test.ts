// Succeeded tasks leave the in-memory database for per-job archive files: the tables hold only what
// is live, failed or cancelled, and every read (task pages, results, attempts, figures, blobs)
// answers as if nothing had moved, across restarts, replays, retries, deletes and old stores.
import { cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { jobSpecSchema } from '../../../../shared/job-file.js';
import { DurableDb } from '../../../../electron/grid/store/durable-db.js';
import type { ApplyResult, Op } from '../../../../electron/grid/store/ops.js';
import { StoreReader } from '../../../../electron/grid/store/reader.js';
import {
  COORDINATOR_STORE,
  RECENT_ATTEMPTS_KEPT,
} from '../../../../electron/grid/store/state-machine.js';

const FIXTURE_3 = join(import.meta.dirname, '../../../fixtures/store-format-3/store');
const JOB = 'jarchive1';
const OUT_SHA = 'b'.repeat(64);
const LOG_SHA = 'c'.repeat(64);

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'colony-archive-'));
  dirs.push(d);
  return d;
}
const open = (dir: string) =>
  DurableDb.open<Op, ApplyResult>({ dir, ...COORDINATOR_STORE, snapshotEveryRecords: 1e9 });

type Store = DurableDb<Op, ApplyResult>;
const commit = (s: Store, op: Op) => s.commit(op).durable;
const assign = (s: Store, attemptId: string, idx: number, at: number, speculative = false) =>
  commit(s, {
    t: 'attempt.assign',
    attemptId,
    jobId: JOB,
    idx,
    contributorId: 'c1',
    at,
    ...(speculative ? { speculative } : {}),
  });
const end = (s: Store, attemptId: string, state: 'succeeded' | 'failed', at: number, more = {}) =>
  commit(s, {
    t: 'attempt.end',
    attemptId,
    state,
    at,
    wallMs: 10,
    cpuMs: 7,
    isFailure: state === 'failed',
    ...more,
  });

/**
 * Task 0 fails once then succeeds; 1 fails for good; 2 succeeds with an output file and kept logs;
 * 3 runs; 4 succeeds while a speculative copy of it still runs, which then ends.
 */
async function runJob(s: Store): Promise<void> {
  const spec = jobSpecSchema.parse({
    name: 'archive',
    runtime: 'node',
    module: { name: 'm.mjs', sha256: 'a'.repeat(64), size: 1 },
    tasks: { sweep: { i: { range: [0, 6] } } },
    limits: { maxAttempts: 2 },
  });
  await commit(s, { t: 'job.submit', job: { id: JOB, seq: 1, spec, taskCount: 6, createdAt: 1 } });
  await assign(s, 'a0', 0, 60_000);
  await end(s, 'a0', 'failed', 60_010, { error: 'first try' });
  await assign(s, 'a0b', 0, 60_020);
  await end(s, 'a0b', 'succeeded', 60_030, { output: { v: 0 } });
  await assign(s, 'a1', 1, 60_040);
  await end(s, 'a1', 'failed', 60_050, { error: 'no' });
  await assign(s, 'a1b', 1, 60_060);
  await end(s, 'a1b', 'failed', 60_070, { error: 'still no' });
  await assign(s, 'a2', 2, 60_080);
  await end(s, 'a2', 'succeeded', 60_090, {
    output: { v: 2 },
    outputFiles: [{ name: 'out/two.txt', sha256: OUT_SHA, size: 3 }],
    logs: { stdout: { sha256: LOG_SHA, size: 5, dropped: 0 } },
  });
  await assign(s, 'a3', 3, 60_100);
  await assign(s, 'a4', 4, 60_110);
  await assign(s, 'a4s', 4, 60_120, true);
  await end(s, 'a4', 'succeeded', 60_130, { output: { v: 4 } });
}

/** What a user can read of the job, through the read API only. */
function readAll(s: Store) {
  const read = StoreReader.of(s);
  const page = read.tasks(JOB, { offset: 0, limit: 100 });
  return {
    states: page.map((t) => [t.idx, t.state]),
    outputs: page.map((t): unknown => (t.output === null ? null : JSON.parse(t.output))),
    inputs: page.map((t): unknown => JSON.parse(t.input)),
    counts: {
      extracted: read.taskCount(JOB),
      succeeded: read.taskCount(JOB, 'succeeded'),
      failed: read.taskCount(JOB, 'failed'),
      running: read.taskCount(JOB, 'assigned') + read.taskCount(JOB, 'running'),
    },
    succeeded: read.tasks(JOB, { state: 'succeeded', offset: 0, limit: 100 }).map((t) => t.idx),
    secondSucceeded: read.tasks(JOB, { state: 'succeeded', offset: 1, limit: 1 }).map((t) => t.idx),
    results: read.finishedTasksAfter(JOB, -1, 100).map((t) => t.idx),
    resultsPaged: [
      read.finishedTasksAfter(JOB, -1, 2).map((t) => t.idx),
      read.finishedTasksAfter(JOB, 1, 2).map((t) => t.idx),
    ],
    attempts0: read.attemptsOf(JOB, 0).map((a) => [a.id, a.number, a.state, a.error]),
    attempts4: read.attemptsOf(JOB, 4).map((a) => [a.id, a.state]),
    logs2: read.attemptsOf(JOB, 2).map((a) => a.logs),
    perMinute: read.succeededPerMinute(0, 1e9),
    cpu: read.cpuByContributor(0),
    timeline: read.timeline(0, 100).length,
    jobBlobs: [...read.blobsOfJob(JOB)].sort(),
    allBlobs: [...read.referencedBlobs()].sort(),
  };
}

const EXPECTED = {
  states: [
    [0, 'succeeded'],
    [1, 'failed'],
    [2, 'succeeded'],
    [3, 'assigned'],
    [4, 'succeeded'],
  ],
  outputs: [
    { v: 0 },
    null,
    { v: 2, files: [{ name: 'out/two.txt', sha256: OUT_SHA, size: 3 }] },
    null,
    { v: 4 },
  ],
  inputs: [{ i: 0 }, { i: 1 }, { i: 2 }, { i: 3 }, { i: 4 }],
  counts: { extracted: 5, succeeded: 3, failed: 1, running: 1 },
  succeeded: [0, 2, 4],
  secondSucceeded: [2],
  results: [0, 1, 2, 4],
  resultsPaged: [
    [0, 1],
    [2, 4],
  ],
  attempts0: [
    ['a0', 1, 'failed', 'first try'],
    ['a0b', 2, 'succeeded', null],
  ],
  attempts4: [
    ['a4', 'succeeded'],
    ['a4s', 'cancelled'],
  ],
  logs2: [JSON.stringify({ stdout: { sha256: LOG_SHA, size: 5, dropped: 0 } })],
  perMinute: [{ minute: 1, n: 3 }],
  cpu: { c1: 7 * 7 },
  timeline: 8,
  jobBlobs: ['a'.repeat(64), OUT_SHA, LOG_SHA].sort(),
  allBlobs: ['a'.repeat(64), OUT_SHA, LOG_SHA].sort(),
};

/** The files in the store's archive folder (made when the first record is written). */
const archiveFiles = (dir: string) => readdir(join(dir, 'archive')).catch(() => []);

/** Rows left in the in-memory tables, by task. */
function rowsLeft(s: Store) {
  const q = (sql: string) => s.db.exec(sql)[0]?.values.map((r) => r[0]) ?? [];
  return {
    tasks: q('SELECT idx FROM tasks ORDER BY idx'),
    attempts: q('SELECT id FROM attempts ORDER BY id'),
  };
}

describe('task archive', () => {
  it('moves succeeded tasks out of memory; every read answers as before', async () => {
    const dir = await tmp();
    const s = await open(dir);
    await runJob(s);
    // The copy of task 4 still runs: the task stays until it ends.
    expect(rowsLeft(s).tasks).toEqual([1, 3, 4]);
    await end(s, 'a4s', 'succeeded', 60_140, { output: { v: 'late' } });
    expect(rowsLeft(s)).toEqual({ tasks: [1, 3], attempts: ['a1', 'a1b', 'a3'] });
    expect(readAll(s)).toEqual(EXPECTED);
    expect((await readdir(join(dir, 'archive'))).sort()).toEqual([`${JOB}.index`, `${JOB}.ndjson`]);
    await s.close();
  });

  it('reads the same after a restart from the journal, from a snapshot, and after a crash', async () => {
    const dir = await tmp();
    let s = await open(dir);
    await runJob(s);
    await end(s, 'a4s', 'succeeded', 60_140);
    // A crash: the files as they are now, the store never closed (nothing flushed by a close).
    const crashed = await tmp();
    await cp(dir, crashed, { recursive: true });
    await s.close();

    // The journal is replayed: each success is archived again, and read once.
    s = await open(dir);
    expect(readAll(s)).toEqual(EXPECTED);
    await s.close({ snapshot: true });
    // From the snapshot alone (the journal before it is gone): the rows are not in it.
    s = await open(dir);
    expect(rowsLeft(s).tasks).toEqual([1, 3]);
    expect(readAll(s)).toEqual(EXPECTED);
    await s.close();

    s = await open(crashed);
    expect(readAll(s)).toEqual(EXPECTED);
    await s.close();
  });

  it('a re-run failed task is archived when it succeeds, and listed once', async () => {
    const s = await open(await tmp());
    await runJob(s);
    await end(s, 'a4s', 'succeeded', 60_140);
    await commit(s, { t: 'job.retry', jobId: JOB, at: 70_000 });
    await assign(s, 'a1c', 1, 70_010);
    await end(s, 'a1c', 'succeeded', 70_020, { output: { v: 1 } });
    const read = StoreReader.of(s);
    expect(rowsLeft(s).tasks).toEqual([3]);
    expect(read.finishedTasksAfter(JOB, -1, 100).map((t) => [t.idx, t.state])).toEqual([
      [0, 'succeeded'],
      [1, 'succeeded'],
      [2, 'succeeded'],
      [4, 'succeeded'],
    ]);
    expect(read.attemptsOf(JOB, 1).map((a) => a.id)).toEqual(['a1', 'a1b', 'a1c']);
    await s.close();
  });

  it('deleting a job deletes its archive and its rows; figures over time keep its work', async () => {
    const dir = await tmp();
    const s = await open(dir);
    await runJob(s);
    await end(s, 'a4s', 'succeeded', 60_140);
    await commit(s, { t: 'job.cancel', jobId: JOB, at: 80_000 });
    await commit(s, { t: 'job.delete', jobId: JOB });
    expect(await archiveFiles(dir)).toEqual([]);
    const read = StoreReader.of(s);
    expect(read.job(JOB)).toBeUndefined();
    expect(read.timeline(0, 100)).toEqual([]);
    // The CPU the machine gave to its archived tasks stays in the figures over time.
    expect(read.cpuByContributor(0)).toEqual({ c1: 5 * 7 });
    expect([...read.referencedBlobs()]).toEqual([]);
    await s.close();
    // A replay of the delete finds nothing to bring back.
    const again = await open(dir);
    expect(StoreReader.of(again).job(JOB)).toBeUndefined();
    expect(await archiveFiles(dir)).toEqual([]);
    await again.close();
  });

  it('opens a store of format 3: its rows stay, the journal after its snapshot archives', async () => {
    const dir = await tmp();
    await cp(FIXTURE_3, dir, { recursive: true });
    const s = await open(dir);
    const read = StoreReader.of(s);
    const job = 'jformat3';
    // Task 0 succeeded before the snapshot (a row, kept); task 1 in the journal tail (archived).
    expect(s.db.exec('SELECT idx FROM tasks ORDER BY idx')[0]?.values.flat()).toEqual([0, 2, 3]);
    expect(read.tasks(job, { offset: 0, limit: 10 }).map((t) => [t.idx, t.state])).toEqual([
      [0, 'succeeded'],
      [1, 'succeeded'],
      [2, 'failed'],
      [3, 'assigned'],
    ]);
    expect(read.jobExtracted(job)?.extracted).toBe(4);
    expect(
      read.finishedTasksAfter(job, -1, 10).map((t): unknown => JSON.parse(t.output ?? 'null')),
    ).toEqual([{ square: 0 }, { square: 1 }, null]);
    expect(read.tasks(job, { state: 'succeeded', offset: 0, limit: 10 }).map((t) => t.idx)).toEqual(
      [0, 1],
    );
    expect(read.attemptsOf(job, 1).map((a) => a.id)).toEqual(['a1']);
    // It runs on: the next task is extracted and archived when it succeeds.
    await commit(s, {
      t: 'attempt.assign',
      attemptId: 'a4',
      jobId: job,
      idx: 4,
      contributorId: 'c1',
      at: 3000,
    });
    await commit(s, {
      t: 'attempt.end',
      attemptId: 'a4',
      state: 'succeeded',
      at: 3100,
      output: 16,
    });
    expect(read.finishedTasksAfter(job, 1, 10).map((t) => t.idx)).toEqual([2, 4]);
    await s.close();
  });
});

describe('what stays in memory', () => {
  it('keeps neither rows nor attempts of succeeded tasks, and only the newest archived attempts for the timeline', async () => {
    const s = await open(await tmp());
    const n = RECENT_ATTEMPTS_KEPT + 2_500;
    const spec = jobSpecSchema.parse({
      name: 'many',
      runtime: 'node',
      module: { name: 'm.mjs', sha256: 'a'.repeat(64), size: 1 },
      tasks: { sweep: { i: { range: [0, n] } } },
    });
    await commit(s, {
      t: 'job.submit',
      job: { id: JOB, seq: 1, spec, taskCount: n, createdAt: 1 },
    });
    for (let idx = 0; idx < n; idx++) {
      s.commit({
        t: 'attempt.assign',
        attemptId: `m${idx}`,
        jobId: JOB,
        idx,
        contributorId: 'c1',
        at: 1000 + idx,
      });
      s.commit({
        t: 'attempt.end',
        attemptId: `m${idx}`,
        state: 'succeeded',
        at: 1000 + idx,
        output: idx,
        cpuMs: 1,
      });
    }
    await commit(s, { t: 'job.priority', jobId: JOB, priority: 1 });
    const count = (table: string) =>
      Number(s.db.exec(`SELECT COUNT(*) FROM ${table}`)[0]?.values[0]?.[0]);
    expect({ tasks: count('tasks'), attempts: count('attempts') }).toEqual({
      tasks: 0,
      attempts: 0,
    });
    expect(count('recent_attempts')).toBeGreaterThanOrEqual(RECENT_ATTEMPTS_KEPT);
    expect(count('recent_attempts')).toBeLessThan(RECENT_ATTEMPTS_KEPT + 1000);
    const read = StoreReader.of(s);
    // The newest first; every task's result is still there, and the figures count them all.
    expect(read.timeline(0, 1)[0]?.id).toBe(`m${n - 1}`);
    expect(read.finishedTasksAfter(JOB, n - 3, 10).map((t) => Number(t.output))).toEqual([
      n - 2,
      n - 1,
    ]);
    expect(read.tasks(JOB, { offset: 1234, limit: 1 })[0]?.output).toBe('1234');
    expect(read.cpuByContributor(0)).toEqual({ c1: n });
    expect(read.succeededPerMinute(0, 1e9).reduce((sum, m) => sum + m.n, 0)).toBe(n);
    await s.close();
  });
});

describe('a failed archive write', () => {
  it('is never forgotten: sync throws from then on, and the store takes no snapshot without it', async () => {
    const dir = await tmp();
    // The archive's folder cannot be made: a file is in its place.
    await writeFile(join(dir, 'archive'), 'not a folder');
    const s = await open(dir);
    await runJob(s);
    await end(s, 'a4s', 'succeeded', 60_140);
    // A read writes the buffered records out first: that fails, and says so.
    expect(() => StoreReader.of(s).tasks(JOB, { offset: 0, limit: 10 })).toThrow();
    // The snapshot that would drop the archived rows is refused; the journal keeps every op.
    await expect(s.snapshot()).rejects.toThrow();
    await expect(s.snapshot()).rejects.toThrow();
    expect((await readdir(dir)).filter((f) => f.startsWith('snapshot-'))).toEqual([]);
    await s.close();
    // Once the disk is fixed, a restart archives them again from the journal.
    await rm(join(dir, 'archive'));
    const again = await open(dir);
    expect(readAll(again)).toEqual(EXPECTED);
    await again.close();
  });
});
