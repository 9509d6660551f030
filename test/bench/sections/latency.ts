// §2 Latency: one contributor with one slot, durable; the task cycle and the result's ack, p50/p99,
// beside the disk's own write+fdatasync and one raw WebSocket round trip.
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { withDir, type BenchContext } from '../lib/context.js';
import { startCoordinatorProc, submitSweep } from '../lib/colony.js';
import { percentile, sortNum, type Row } from '../lib/report.js';
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

export async function benchLatency(ctx: BenchContext): Promise<Row[]> {
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
