// Every job and attempt state change the state machine makes is one the table in shared/states.ts
// allows: random scripts of ops (many refused) drive it, and each change is checked against it.
import fc from 'fast-check';
import initSqlJs, { type Database } from 'sql.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { jobSpecSchema } from '../../../../shared/job-file.js';
import {
  canMoveAttempt,
  canMoveJob,
  type AttemptState,
  type JobState,
} from '../../../../shared/states.js';
import type { Op } from '../../../../electron/grid/store/ops.js';
import { SCHEMA } from '../../../../electron/grid/store/schema.js';
import { TransitionError, applyOp } from '../../../../electron/grid/store/state-machine.js';

let SQL: Awaited<ReturnType<typeof initSqlJs>>;
beforeAll(async () => {
  SQL = await initSqlJs();
});

const TASKS = 4;
const spec = jobSpecSchema.parse({
  name: 'table',
  runtime: 'node',
  module: { name: 'm.mjs', sha256: 'a'.repeat(64), size: 1 },
  tasks: { sweep: { i: { range: [0, TASKS] } } },
  limits: { maxAttempts: 1 },
});

function states(db: Database) {
  const jobs = new Map<string, JobState>();
  for (const [id, state] of db.exec('SELECT id, state FROM jobs')[0]?.values ?? [])
    jobs.set(id as string, state as JobState);
  const attempts = new Map<string, AttemptState>();
  for (const [id, state] of db.exec('SELECT id, state FROM attempts')[0]?.values ?? [])
    attempts.set(id as string, state as AttemptState);
  return { jobs, attempts };
}

/** Applies `op` in a savepoint, as the store does; false when it was refused. */
function apply(db: Database, op: Op): boolean {
  db.run('SAVEPOINT t');
  try {
    applyOp(db, op);
    db.run('RELEASE t');
    return true;
  } catch (err) {
    expect(err).toBeInstanceOf(TransitionError);
    db.run('ROLLBACK TO t');
    db.run('RELEASE t');
    return false;
  }
}

const JOBS = ['j1', 'j2'] as const;
const opArb = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      k: fc.constant('assign' as const),
      job: fc.constantFrom(...JOBS),
      idx: fc.nat(TASKS - 1),
      /** Most assigns take the next task to extract, so jobs get somewhere. */
      next: fc.boolean(),
      speculative: fc.boolean(),
    }),
  },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('start' as const), a: fc.nat(3) }) },
  {
    weight: 10,
    arbitrary: fc.record({
      k: fc.constant('end' as const),
      a: fc.nat(3),
      state: fc.constantFrom<'succeeded' | 'failed' | 'lost' | 'cancelled'>(
        'succeeded',
        'failed',
        'lost',
        'cancelled',
      ),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ k: fc.constant('retry' as const), job: fc.constantFrom(...JOBS) }),
  },
  // Rare: they end a job for good (and everything after is refused).
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constantFrom('cancel' as const, 'fail' as const),
      job: fc.constantFrom(...JOBS),
    }),
  },
);

describe('state machine against the transition table', () => {
  it('makes only transitions the table allows, whatever ops run or are refused', () => {
    let checked = 0;
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 60, size: 'max' }), (script) => {
        const db = new SQL.Database();
        try {
          for (const s of SCHEMA) db.run(s);
          for (const [seq, id] of JOBS.entries())
            apply(db, {
              t: 'job.submit',
              job: { id, seq: seq + 1, spec, taskCount: TASKS, createdAt: 1 },
            });
          let attempts = 0;
          let at = 10;
          for (const s of script) {
            at++;
            // Mostly one of the newest attempts (sometimes one that does not exist).
            const a = (n: number) => `a${attempts - n}`;
            const op: Op =
              s.k === 'assign'
                ? {
                    t: 'attempt.assign',
                    attemptId: `a${attempts}`,
                    jobId: s.job,
                    idx: s.next
                      ? Number(
                          db.exec('SELECT COUNT(*) FROM tasks WHERE job_id = ?', [s.job])[0]
                            ?.values[0]?.[0] ?? 0,
                        )
                      : s.idx,
                    contributorId: 'c',
                    at,
                    ...(s.speculative ? { speculative: true } : {}),
                  }
                : s.k === 'start'
                  ? { t: 'attempt.start', attemptId: a(s.a) }
                  : s.k === 'end'
                    ? {
                        t: 'attempt.end',
                        attemptId: a(s.a),
                        state: s.state,
                        at,
                        output: 1,
                        isFailure: s.state === 'failed',
                      }
                    : s.k === 'retry'
                      ? { t: 'job.retry', jobId: s.job, at }
                      : s.k === 'cancel'
                        ? { t: 'job.cancel', jobId: s.job, at }
                        : {
                            t: 'job.fail',
                            jobId: s.job,
                            at,
                            error: 'inputs could not be extracted',
                          };
            const before = states(db);
            const ok = apply(db, op);
            if (ok && op.t === 'attempt.assign') attempts++;
            const after = states(db);
            if (!ok) {
              expect(after).toEqual(before);
              continue;
            }
            for (const [id, to] of after.jobs) {
              const from = before.jobs.get(id) as JobState;
              if (from === to) continue;
              checked++;
              expect(canMoveJob(from, to), `job ${from} -> ${to} by ${op.t}`).toBe(true);
            }
            for (const [id, to] of after.attempts) {
              const from = before.attempts.get(id) ?? 'pending';
              if (from === to) continue;
              checked++;
              expect(canMoveAttempt(from, to), `attempt ${from} -> ${to} by ${op.t}`).toBe(true);
            }
          }
        } finally {
          db.close();
        }
      }),
      { numRuns: 200 },
    );
    expect(checked).toBeGreaterThan(300);
  });

  it('refuses to bring back a cancelled or succeeded job, or to re-run a job without failures', () => {
    const db = new SQL.Database();
    for (const s of SCHEMA) db.run(s);
    const submit = (id: string) =>
      apply(db, { t: 'job.submit', job: { id, seq: 1, spec, taskCount: TASKS, createdAt: 1 } });
    submit('jc');
    expect(() => applyOp(db, { t: 'job.retry', jobId: 'jc', at: 2 })).toThrow(
      /has no failed tasks/,
    );
    // A cancelled job with failed tasks (the finding): refused, and it stays cancelled.
    apply(db, {
      t: 'attempt.assign',
      attemptId: 'x',
      jobId: 'jc',
      idx: 0,
      contributorId: 'c',
      at: 2,
    });
    apply(db, { t: 'attempt.end', attemptId: 'x', state: 'failed', at: 3, isFailure: true });
    apply(db, {
      t: 'attempt.assign',
      attemptId: 'y',
      jobId: 'jc',
      idx: 0,
      contributorId: 'c',
      at: 4,
    });
    apply(db, { t: 'attempt.end', attemptId: 'y', state: 'failed', at: 5, isFailure: true });
    expect(db.exec("SELECT failed FROM jobs WHERE id = 'jc'")[0]?.values[0]?.[0]).toBe(1);
    apply(db, { t: 'job.cancel', jobId: 'jc', at: 6 });
    expect(() => applyOp(db, { t: 'job.retry', jobId: 'jc', at: 7 })).toThrow(
      'job jc cannot go from cancelled to running',
    );
    expect(states(db).jobs.get('jc')).toBe('cancelled');
    db.close();
  });

  it('deletes a finished job with its tasks and attempts, and refuses a live one', () => {
    const db = new SQL.Database();
    for (const s of SCHEMA) db.run(s);
    const count = (table: string, column: string) =>
      db.exec(`SELECT COUNT(*) FROM ${table} WHERE ${column} = 'jd'`)[0]?.values[0]?.[0];
    apply(db, { t: 'job.submit', job: { id: 'jd', seq: 1, spec, taskCount: TASKS, createdAt: 1 } });
    apply(db, {
      t: 'attempt.assign',
      attemptId: 'x',
      jobId: 'jd',
      idx: 0,
      contributorId: 'c',
      at: 2,
    });
    const rows = () => [count('jobs', 'id'), count('tasks', 'job_id'), count('attempts', 'job_id')];
    expect(() => applyOp(db, { t: 'job.delete', jobId: 'jd' })).toThrow(
      'job jd is running: cancel it first, then delete it',
    );
    expect(rows()).toEqual([1, 1, 1]);
    apply(db, { t: 'job.cancel', jobId: 'jd', at: 3 });
    expect(apply(db, { t: 'job.delete', jobId: 'jd' })).toBe(true);
    expect(rows()).toEqual([0, 0, 0]);
    // Gone for the state machine too: nothing more can happen to it.
    expect(() => applyOp(db, { t: 'job.delete', jobId: 'jd' })).toThrow('no job jd');
    expect(() => applyOp(db, { t: 'job.retry', jobId: 'jd', at: 4 })).toThrow('no job jd');
    db.close();
  });
});
