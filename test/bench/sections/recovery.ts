// §5 Recovery: restart time of a coordinator whose store holds 1M finished tasks (a snapshot plus a
// journal tail of the default snapshot interval), beside the restart of an empty one.
import { join } from 'node:path';
import { jobSpecSchema } from '../../../shared/job-file.js';
import { DEFAULT_SNAPSHOT_EVERY, DurableDb } from '../../../electron/grid/store/durable-db.js';
import type { ApplyResult, Op } from '../../../electron/grid/store/ops.js';
import { applyOp, COORDINATOR_STORE } from '../../../electron/grid/store/state-machine.js';
import { withDir, type BenchContext } from '../lib/context.js';
import { startCoordinatorProc } from '../lib/colony.js';
import { rssMb } from '../lib/procs.js';
import type { Row } from '../lib/report.js';

/** Journal records a running coordinator may leave after its last snapshot (DurableDb's default). */
const TAIL_RECORDS = DEFAULT_SNAPSHOT_EVERY;

function taskOps(jobId: string, idx: number, at: number): [Op, Op] {
  const attemptId = `b-${idx.toString(36)}`;
  return [
    { t: 'attempt.assign', attemptId, jobId, idx, contributorId: 'bench', at },
    {
      t: 'attempt.end',
      attemptId,
      state: 'succeeded',
      at: at + 1,
      output: idx * 2,
      wallMs: 1,
      cpuMs: 1,
    },
  ];
}

/**
 * A store with one finished job of `tasks` tasks, built from the real ops. The bulk is applied in
 * large transactions straight to the database and made durable by one snapshot (journaling a
 * million tasks op by op would take minutes); the last TAIL_RECORDS/2 tasks go through the journal.
 */
async function buildStore(dir: string, tasks: number, log: (s: string) => void): Promise<void> {
  const store = await DurableDb.open<Op, ApplyResult>({
    dir,
    ...COORDINATOR_STORE,
    snapshotEveryRecords: 1e9,
  });
  const jobId = 'jbench000001';
  const spec = jobSpecSchema.parse({
    name: 'recovery',
    runtime: 'node',
    module: { name: 'noop.mjs', sha256: 'a'.repeat(64), size: 1 },
    tasks: { sweep: { i: { range: [0, tasks] } } },
  });
  const at = Date.now();
  await store.commit({
    t: 'job.submit',
    job: { id: jobId, seq: 1, spec, taskCount: tasks, createdAt: at },
  }).durable;
  const tailTasks = Math.min(tasks, TAIL_RECORDS / 2);
  const bulk = tasks - tailTasks;
  const t0 = performance.now();
  const { db } = store;
  for (let idx = 0; idx < bulk;) {
    db.run('BEGIN');
    for (const end = Math.min(bulk, idx + 50_000); idx < end; idx++)
      for (const op of taskOps(jobId, idx, at)) applyOp(db, op);
    db.run('COMMIT');
  }
  await store.snapshot();
  for (let idx = bulk; idx < tasks; idx++) {
    const [a, e] = taskOps(jobId, idx, at);
    store.commit(a);
    const { durable } = store.commit(e);
    if (idx % 10_000 === 0 || idx === tasks - 1) await durable;
  }
  await store.close();
  log(
    `recovery: built ${tasks.toLocaleString('en-US')} finished tasks in ${Math.round(performance.now() - t0)} ms`,
  );
}

export async function benchRecovery(ctx: BenchContext): Promise<Row[]> {
  const tasks = ctx.quick ? 200_000 : 1_000_000;
  return withDir(ctx, 'recovery', async (dir) => {
    const empty = join(dir, 'empty');
    await (await startCoordinatorProc(empty)).stop(); // first start creates the identity
    const e = await startCoordinatorProc(empty);
    await e.stop();

    const full = join(dir, 'full');
    await (await startCoordinatorProc(full)).stop();
    await buildStore(join(full, 'store'), tasks, ctx.log);
    // The store alone, in this process: snapshot load + journal replay.
    const t0 = performance.now();
    const store = await DurableDb.open<Op, ApplyResult>({
      dir: join(full, 'store'),
      ...COORDINATOR_STORE,
      snapshotEveryRecords: 1e9,
    });
    const storeOpenMs = performance.now() - t0;
    await store.close();
    // The real restart: `colony coordinator` from spawn to listening.
    const c = await startCoordinatorProc(full);
    const rss = rssMb(c.pid);
    await c.stop();
    return [
      {
        section: '5 recovery',
        measure: `restart with ${(tasks / 1e6).toLocaleString('en-US')}M finished tasks (spawn → listening)`,
        value: c.startMs,
        unit: 'ms',
        refs: [{ name: 'restart of an empty coordinator', value: e.startMs }],
        target: '< 3000 ms',
        met: c.startMs < 3000,
        note: `snapshot + ${TAIL_RECORDS.toLocaleString('en-US')}-record journal tail; store open alone ${Math.round(storeOpenMs)} ms; RSS after restart ${Math.round(rss)} MB`,
      },
      {
        section: '5 recovery',
        measure: `coordinator RSS holding ${(tasks / 1e6).toLocaleString('en-US')}M finished tasks`,
        value: rss,
        unit: 'MB',
        refs: [],
        target: '< 300 MB (at 1M)',
        met: rss < 300 * Math.min(1, tasks / 1e6),
        note: 'what a coordinator holds once a sweep has run to the end: succeeded tasks live in the archive files, not in memory',
      },
    ];
  });
}
