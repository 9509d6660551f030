// The state machine reads jobs, live attempts and open tasks from an in-memory mirror instead of
// the database. Whatever ops run (including refused ones), the mirror must equal one rebuilt from
// the database, and a refused hot op (run without a savepoint) must not have written a byte.
import fc from 'fast-check';
import initSqlJs, { type Database } from 'sql.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { jobSpecSchema } from '../../../../shared/job-file.js';
import { archiveOf } from '../../../../electron/grid/store/archive.js';
import { forgetMirror, mirrorOf } from '../../../../electron/grid/store/mirror.js';
import type { Op } from '../../../../electron/grid/store/ops.js';
import { SCHEMA } from '../../../../electron/grid/store/schema.js';
import { applyOp, unguardedOps } from '../../../../electron/grid/store/state-machine.js';

let SQL: Awaited<ReturnType<typeof initSqlJs>>;
beforeAll(async () => {
  SQL = await initSqlJs();
});

const TASKS = 6;
const spec = jobSpecSchema.parse({
  name: 'mirror',
  runtime: 'node',
  module: { name: 'm.mjs', sha256: 'a'.repeat(64), size: 1 },
  tasks: { sweep: { i: { range: [0, TASKS] } } },
  limits: { maxAttempts: 2 },
});

function freshDb(): Database {
  const db = new SQL.Database();
  for (const s of SCHEMA) db.run(s);
  return db;
}

/**
 * Applies `op` the way DurableDb does: the hot ops without a savepoint (they must refuse before
 * their first write: checked here byte for byte), the others in one, rolled back if they throw.
 */
function apply(db: Database, op: Op): boolean {
  if (unguardedOps.op(op)) {
    const before = db.export();
    try {
      applyOp(db, op);
      return true;
    } catch (err) {
      expect(unguardedOps.isRefusal(err)).toBe(true);
      expect(Buffer.from(db.export()).equals(Buffer.from(before))).toBe(true);
      return false;
    }
  }
  db.run('SAVEPOINT t');
  try {
    applyOp(db, op);
    db.run('RELEASE t');
    return true;
  } catch {
    db.run('ROLLBACK TO t');
    db.run('RELEASE t');
    return false;
  }
}

/** The mirror as plain data, comparable with toEqual. */
function snapshotOf(db: Database) {
  const m = mirrorOf(db);
  return {
    jobs: [...m.jobs].map(([id, j]) => ({
      id,
      state: j.state,
      extracted: j.extracted,
      succeeded: j.succeeded,
      failed: j.failed,
      open: [...j.open].sort((a, b) => a[0] - b[0]),
    })),
    live: [...m.live].sort((a, b) => a[0].localeCompare(b[0])),
  };
}

function rebuilt(db: Database) {
  const copy = new SQL.Database(db.export());
  try {
    forgetMirror(copy);
    return snapshotOf(copy);
  } finally {
    copy.close();
  }
}

// Ops are chosen from a small space on purpose: many of them are refused (a task that is not
// next, an attempt that already ended), which is what must leave everything as it was.
const opArb = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      k: fc.constant('assign' as const),
      idx: fc.nat(TASKS - 1),
      spec: fc.boolean(),
    }),
  },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('start' as const), a: fc.nat(40) }) },
  {
    weight: 10,
    arbitrary: fc.record({
      k: fc.constant('end' as const),
      a: fc.nat(40),
      state: fc.constantFrom<'succeeded' | 'failed' | 'lost' | 'cancelled'>(
        'succeeded',
        'failed',
        'lost',
        'cancelled',
      ),
    }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('retry' as const) }) },
  // Rare: a cancelled job refuses everything after it.
  { weight: 1, arbitrary: fc.record({ k: fc.constant('cancel' as const) }) },
);

describe('state machine mirror', () => {
  it('always equals the mirror rebuilt from the database, whatever ops run or fail', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), (script) => {
        const db = freshDb();
        try {
          apply(db, {
            t: 'job.submit',
            job: { id: 'j1', seq: 1, spec, taskCount: TASKS, createdAt: 1 },
          });
          let attempts = 0;
          let at = 10;
          for (const s of script) {
            at++;
            if (s.k === 'assign') {
              const ok = apply(db, {
                t: 'attempt.assign',
                attemptId: `a${attempts}`,
                jobId: 'j1',
                idx: s.idx,
                contributorId: 'c',
                at,
                ...(s.spec ? { speculative: true } : {}),
              });
              if (ok) attempts++;
            } else if (s.k === 'start') {
              apply(db, { t: 'attempt.start', attemptId: `a${s.a % (attempts + 1)}` });
            } else if (s.k === 'end') {
              apply(db, {
                t: 'attempt.end',
                attemptId: `a${s.a % (attempts + 1)}`,
                state: s.state,
                at,
                output: s.a,
                isFailure: s.state === 'failed',
              });
            } else if (s.k === 'retry') {
              apply(db, { t: 'job.retry', jobId: 'j1', at });
            } else {
              apply(db, { t: 'job.cancel', jobId: 'j1', at });
            }
            expect(snapshotOf(db)).toEqual(rebuilt(db));
          }
          // The job's counters agree with its task rows and archived tasks; a task is in one or
          // the other, and an archived one no longer runs anywhere.
          const counts = db.exec(
            "SELECT (SELECT succeeded FROM jobs), (SELECT COUNT(*) FROM tasks WHERE state = 'succeeded'), (SELECT failed FROM jobs), (SELECT COUNT(*) FROM tasks WHERE state = 'failed')",
          )[0]?.values[0];
          const withRow = new Set(db.exec('SELECT idx FROM tasks')[0]?.values.map((r) => r[0]));
          const archived = [...archiveOf(db).indexes('j1', 0, TASKS)];
          expect(archived.filter((i) => withRow.has(i))).toEqual([]);
          expect(counts?.[0]).toBe(Number(counts?.[1]) + archived.length);
          expect(counts?.[2]).toBe(counts?.[3]);
          const liveOfArchived = db.exec(
            "SELECT COUNT(*) FROM attempts WHERE state IN ('assigned', 'running')",
          )[0]?.values[0]?.[0];
          expect(Number(liveOfArchived)).toBe(mirrorOf(db).live.size);
        } finally {
          db.close();
        }
      }),
      { numRuns: 400 },
    );
  });

  it('a refused op changes neither the database nor the mirror', () => {
    const db = freshDb();
    apply(db, { t: 'job.submit', job: { id: 'j1', seq: 1, spec, taskCount: TASKS, createdAt: 1 } });
    apply(db, {
      t: 'attempt.assign',
      attemptId: 'a0',
      jobId: 'j1',
      idx: 0,
      contributorId: 'c',
      at: 2,
    });
    const before = { mirror: snapshotOf(db), bytes: db.export() };
    // Task 3 is not next to extract; attempt a9 does not exist; a0 cannot be assigned twice.
    expect(
      apply(db, {
        t: 'attempt.assign',
        attemptId: 'a1',
        jobId: 'j1',
        idx: 3,
        contributorId: 'c',
        at: 3,
      }),
    ).toBe(false);
    expect(apply(db, { t: 'attempt.end', attemptId: 'a9', state: 'succeeded', at: 3 })).toBe(false);
    expect(
      apply(db, {
        t: 'attempt.assign',
        attemptId: 'a2',
        jobId: 'j1',
        idx: 0,
        contributorId: 'c',
        at: 3,
      }),
    ).toBe(false);
    expect(snapshotOf(db)).toEqual(before.mirror);
    expect(Buffer.from(db.export()).equals(Buffer.from(before.bytes))).toBe(true);
    db.close();
  });
});
