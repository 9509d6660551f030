// §2 Latency: one contributor with one slot, durable; the task cycle and the result's ack, p50/p99,
// beside the disk's own write+fdatasync and one raw WebSocket round trip; and how long a cancel
// takes to end every worker running the job (the "within a second" promise, measured here rather
// than asserted in a test on a shared machine).
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { withDir, type BenchContext } from '../lib/context.js';
import { startContributorProc, startCoordinatorProc, submitSweep, waitJob } from '../lib/colony.js';
import type { JobSummary } from '../../../shared/api.js';
import { busyWorkersOf, running } from '../../integration/helpers/procs.js';
import { sleep } from '../lib/procs.js';
import { median, percentile, sortNum, type Row } from '../lib/report.js';
import { wsCeiling } from './dispatch.js';

/** The floor under any durable acknowledgement: append 200 bytes and fdatasync, on the same disk. */
async function fsyncLatency(dir: string, n: number): Promise<number[]> {
  const fh = await open(join(dir, 'fsync-probe'), 'w');
  const buf = Buffer.alloc(200, 'x');
  const out: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await fh.write(buf, 0, buf.length, i * buf.length);
      await fh.datasync();
      out.push(performance.now() - t);
    }
  } finally {
    await fh.close();
  }
  return out;
}

/**
 * A real contributor (1 worker) running no-op tasks, with its operating-system sandbox on or off:
 * the time per task within one job (its worker reused) and the first task of a new job (a fresh
 * worker started, in the sandbox or not), both from the coordinator's first assign to last result.
 */
async function realContributor(
  ctx: BenchContext,
  sandbox: boolean,
): Promise<{ perTaskMs: number; newJobMs: number }> {
  const tasks = ctx.quick ? 300 : 1000;
  const jobs = ctx.quick ? 8 : 20;
  return withDir(ctx, sandbox ? 'latency-real' : 'latency-real-nosandbox', async (dir) => {
    const coord = await startCoordinatorProc(join(dir, 'data'));
    const contrib = await startContributorProc(
      coord,
      join(dir, 'contrib'),
      1,
      sandbox ? [] : ['--no-sandbox'],
    );
    try {
      await waitJob(coord.client, (await submitSweep(coord.client, 3)).id, 60_000); // warm-up
      const single: number[] = [];
      for (let i = 0; i < jobs; i++) {
        const job = await waitJob(
          coord.client,
          (await submitSweep(coord.client, 1)).id,
          60_000,
          20,
        );
        single.push((job.finishedAt ?? 0) - (job.startedAt ?? 0));
      }
      const big = await waitJob(coord.client, (await submitSweep(coord.client, tasks)).id, 300_000);
      return {
        perTaskMs: ((big.finishedAt ?? 0) - (big.startedAt ?? 0)) / tasks,
        newJobMs: median(single),
      };
    } finally {
      await contrib.stop();
      await coord.stop();
    }
  });
}

export async function benchLatency(ctx: BenchContext): Promise<Row[]> {
  const boxed = await realContributor(ctx, true);
  const plain = await realContributor(ctx, false);
  ctx.extra.sandboxCost = { sandbox: boxed, noSandbox: plain };
  const real: Row[] = [
    {
      section: '2 latency',
      measure: 'real contributor, no-op tasks of one job: time per task, sandbox on',
      value: boxed.perTaskMs,
      unit: 'ms',
      refs: [{ name: '--no-sandbox', value: plain.perTaskMs }],
      target: '≤ 5 ms added per task',
      met: boxed.perTaskMs - plain.perTaskMs <= 5,
      note: `added by the sandbox: ${(boxed.perTaskMs - plain.perTaskMs).toFixed(2)} ms per task (the job's worker is reused)`,
    },
    {
      section: '2 latency',
      measure: "real contributor, a new job's first task (fresh worker), sandbox on",
      value: boxed.newJobMs,
      unit: 'ms',
      refs: [{ name: '--no-sandbox', value: plain.newJobMs }],
      note: `median first assign → result of 1-task jobs; the sandbox adds ${(boxed.newJobMs - plain.newJobMs).toFixed(1)} ms once per job`,
    },
  ];
  return [...real, ...(await cancelLatency(ctx)), ...(await protocolLatency(ctx))];
}

const SPIN_MODULE = {
  name: 'spin.mjs',
  // Ignores ctx.signal and never yields: only killing its process ends it.
  data: Buffer.from('export default async () => { for (;;) { /* spin */ } };\n'),
};

/**
 * Two real contributors (2 sandboxed workers each) busy with tasks that never end; the time from
 * the cancel request's answer until every worker process that ran them has exited, per round.
 */
async function cancelLatency(ctx: BenchContext): Promise<Row[]> {
  const rounds = ctx.quick ? 3 : 10;
  return withDir(ctx, 'latency-cancel', async (dir) => {
    const coord = await startCoordinatorProc(join(dir, 'data'));
    const contribs = [
      await startContributorProc(coord, join(dir, 'c1'), 2),
      await startContributorProc(coord, join(dir, 'c2'), 2),
    ];
    const samples: number[] = [];
    try {
      for (let r = 0; r < rounds; r++) {
        const { id } = await submitSweep(coord.client, 8, { module: SPIN_MODULE });
        const deadline = Date.now() + 60_000;
        for (;;) {
          const job = await coord.client.json<JobSummary>('GET', `/jobs/${id}`);
          if (job.counts.running >= 4) break;
          if (Date.now() > deadline) throw new Error(`cancel bench: job ${id} never ran 4 tasks`);
          await sleep(20);
        }
        // The worker processes spinning on its tasks (not idle ones or spares).
        const workers = await busyWorkersOf(
          contribs.map((c) => c.child.pid ?? 0),
          4,
        );
        if (workers.length < 4)
          throw new Error(`cancel bench: ${workers.length} busy workers, not 4`);
        await coord.client.json('POST', `/jobs/${id}/cancel`, {});
        const t0 = performance.now();
        while (workers.some(running)) {
          if (performance.now() - t0 > 30_000) throw new Error('cancel bench: workers still run');
          await sleep(2);
        }
        samples.push(performance.now() - t0);
        await waitJob(coord.client, id, 30_000);
      }
    } finally {
      for (const c of contribs) await c.stop();
      await coord.stop();
    }
    const sorted = sortNum(samples);
    ctx.extra.cancel = { samples: sorted };
    return [
      {
        section: '2 latency',
        measure: 'cancel → every worker of the job ended (2 contributors × 2 workers)',
        value: median(sorted),
        unit: 'ms',
        refs: [{ name: 'grace for ctx.signal before the kill', value: 250 }],
        target: '≤ 1000 ms',
        met: (sorted.at(-1) ?? Infinity) <= 1000,
        note: `${rounds} rounds; worst ${(sorted.at(-1) ?? 0).toFixed(0)} ms; from the cancel's answer to the last worker's exit`,
      },
    ];
  });
}

async function protocolLatency(ctx: BenchContext): Promise<Row[]> {
  const tasks = ctx.quick ? 1000 : 3000;
  const warmup = 300;
  return withDir(ctx, 'latency', async (dir) => {
    const disk = sortNum(await fsyncLatency(dir, ctx.quick ? 200 : 500));
    const coord = await startCoordinatorProc(join(dir, 'data'));
    let r: { cycles: number[]; acks: number[] };
    try {
      await submitSweep(coord.client, tasks + warmup + 10);
      r = await ctx.load.call('latency', {
        url: coord.url,
        secret: coord.joinSecret,
        fingerprint: coord.fingerprint,
        tasks,
        warmup,
        maxMs: 120_000,
      });
    } finally {
      await coord.stop();
    }
    const rtt = 1000 / (await wsCeiling(ctx, 1, 1500));
    const cycles = sortNum(r.cycles);
    const acks = sortNum(r.acks);
    ctx.extra.latency = {
      samples: cycles.length,
      cycleMs: {
        p50: percentile(cycles, 50),
        p90: percentile(cycles, 90),
        p99: percentile(cycles, 99),
        max: cycles.at(-1),
      },
      ackMs: { p50: percentile(acks, 50), p99: percentile(acks, 99), max: acks.at(-1) },
      fsyncMs: { p50: percentile(disk, 50), p99: percentile(disk, 99) },
      wsRttMeanMs: rtt,
    };
    const note = `${cycles.length} cycles; cycle = one assign to the next (started+result+ready in between, as the manager sends them)`;
    return [
      {
        section: '2 latency',
        measure: 'task cycle p50, 1 slot',
        value: percentile(cycles, 50),
        unit: 'ms',
        refs: [{ name: 'raw wss round trip (mean)', value: rtt }],
        target: '≤ 1 ms',
        met: percentile(cycles, 50) <= 1,
        note,
      },
      {
        section: '2 latency',
        measure: 'task cycle p99, 1 slot',
        value: percentile(cycles, 99),
        unit: 'ms',
        refs: [{ name: 'raw wss round trip (mean)', value: rtt }],
        target: '≤ 5 ms',
        met: percentile(cycles, 99) <= 5,
      },
      {
        section: '2 latency',
        measure: 'result → durable ack p50',
        value: percentile(acks, 50),
        unit: 'ms',
        refs: [{ name: 'disk write+fdatasync p50', value: percentile(disk, 50) }],
        note: `ack p99 ${percentile(acks, 99).toFixed(2)} ms; disk write+fdatasync p99 ${percentile(disk, 99).toFixed(2)} ms`,
      },
    ];
  });
}
