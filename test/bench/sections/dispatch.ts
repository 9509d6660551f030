// §1 Dispatch throughput: no-op tasks through the durable coordinator at 1, 10 and 100 connections,
// beside BullMQ on Redis, Dask distributed and the raw WebSocket request/response ceiling.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadOrCreateCertificate } from '../../../electron/grid/trust/certificate.js';
import { withDir, type BenchContext } from '../lib/context.js';
import { startCoordinatorProc, submitSweep } from '../lib/colony.js';
import { topSelfTime } from '../lib/cpuprofile.js';
import { cpuMs, freePort, ROOT, RpcChild, spawnUntil, stop, track } from '../lib/procs.js';
import type { Row } from '../lib/report.js';

const HERE = import.meta.dirname;

/** A frame the size of a real assignment and one the size of a real result, for the ceiling. */
export const ASSIGN_FRAME = JSON.stringify({
  type: 'assign',
  attempts: [
    {
      attemptId: '1-1a2b',
      jobId: 'jmbx2k3f9a1b2c3',
      idx: 12345,
      number: 1,
      runtime: 'node',
      module: { name: 'noop.mjs', sha256: 'a'.repeat(64), size: 33 },
      input: { i: 12345 },
      files: [],
      outputs: [],
      timeoutMs: 600000,
    },
  ],
});
export const RESULT_FRAME = JSON.stringify({
  type: 'result',
  attemptId: '1-1a2b',
  state: 'succeeded',
  output: null,
  wallMs: 0,
  cpuMs: 0,
});

interface WorkResult {
  acks: number;
  seconds: number;
  tasksPerS: number;
}

async function colonyRun(ctx: BenchContext, connections: number, tasks: number) {
  return withDir(ctx, `dispatch-${connections}`, async (dir) => {
    const profDir = join(ctx.outDir, 'profiles');
    const profile = ctx.profile && connections === 100;
    if (profile) await mkdir(profDir, { recursive: true });
    const coord = await startCoordinatorProc(
      join(dir, 'data'),
      profile
        ? ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-name', 'dispatch-100.cpuprofile']
        : [],
    );
    try {
      const target = {
        url: coord.url,
        secret: coord.joinSecret,
        fingerprint: coord.fingerprint,
        connections,
        slots: 1,
      };
      // Warm-up job: JIT, sessions and the sql.js statement cache.
      const warm = Math.min(2000, Math.round(tasks / 4));
      await submitSweep(coord.client, warm);
      await ctx.load.call<WorkResult>('work', { ...target, tasks: warm, maxMs: 60_000, tag: 'w' });
      await submitSweep(coord.client, tasks);
      const cpu0 = cpuMs(coord.pid);
      const r = await ctx.load.call<WorkResult>('work', {
        ...target,
        tasks,
        maxMs: 120_000,
        tag: 'm',
      });
      const coordCpu = (cpuMs(coord.pid) - cpu0) / (r.seconds * 1000);
      return { ...r, coordCpu };
    } finally {
      await coord.stop();
      if (profile) {
        const files = (await readdir(profDir)).filter((f) => f.startsWith('dispatch-100'));
        if (files[0]) {
          const top = await topSelfTime(join(profDir, files[0]), 20);
          ctx.extra.dispatchProfile = { file: join(profDir, files[0]), top };
          ctx.log(`profile of the coordinator at 100 connections (self time):`);
          for (const t of top) ctx.log(`  ${t.pct.toFixed(1).padStart(5)} %  ${t.fn}`);
        }
      }
    }
  });
}

/**
 * Raw request/response round trips/s over `connections` sockets, one request in flight each,
 * over TLS (wss, the coordinator's transport) with a certificate made like the coordinator's.
 */
export async function wsCeiling(
  ctx: BenchContext,
  connections: number,
  ms: number,
): Promise<number> {
  const certDir = join(ctx.tmp, 'echo-cert');
  await mkdir(certDir, { recursive: true, mode: 0o700 });
  await loadOrCreateCertificate(certDir, 'bench');
  const server = await spawnUntil(
    process.execPath,
    [join(HERE, '../load/echo-server.js'), ASSIGN_FRAME, certDir],
    /echo listening (\d+)/,
  );
  try {
    const r = await ctx.load.call<{ perS: number }>('wsClient', {
      url: `wss://127.0.0.1:${server.match[1]}`,
      connections,
      ms,
      payload: RESULT_FRAME,
    });
    return r.perS;
  } finally {
    await stop(server);
  }
}

/** redis-server on a free loopback port with a fresh dir; `fsync`: the AOF policy. */
async function startRedis(dir: string, fsync: 'always' | 'everysec') {
  const port = await freePort();
  const proc = await spawnUntil(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      fsync,
      '--daemonize',
      'no',
      '--protected-mode',
      'yes',
    ],
    /Ready to accept connections/,
  );
  return { port, proc };
}

async function bullmqRun(
  ctx: BenchContext,
  fsync: 'always' | 'everysec',
  concurrency: number,
  tasks: number,
) {
  return withDir(ctx, `redis-${fsync}-${concurrency}`, async (dir) => {
    const redis = await startRedis(dir, fsync);
    const child = new RpcChild(join(HERE, '../peers/bullmq-child.js'));
    try {
      const args = { port: redis.port, concurrency, maxMs: 120_000 };
      await child.call('run', { ...args, tasks: Math.min(1000, tasks) }); // warm-up
      const r = await child.call<WorkResult>('run', { ...args, tasks });
      return r.tasksPerS;
    } finally {
      await child.close();
      await stop(redis.proc);
    }
  });
}

const DEBIAN_PYTHON = '/usr/bin/python3';

async function daskRun(tasks: number, threads: number): Promise<number> {
  const script = resolve(ROOT, 'test/bench/peers/dask_noop.py');
  const child = track(
    spawn(DEBIAN_PYTHON, [script, String(tasks), String(threads)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONWARNINGS: 'ignore' },
    }),
  );
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearTimeout(timer);
  const line = out.trim().split('\n').at(-1) ?? '';
  if (code !== 0 || !line.startsWith('{'))
    throw new Error(`dask exited ${code}: ${err.slice(-500)}`);
  return (JSON.parse(line) as { tasksPerS: number }).tasksPerS;
}

export function daskAvailable(): boolean {
  return existsSync(DEBIAN_PYTHON) && existsSync('/usr/lib/python3/dist-packages/distributed');
}

export async function benchDispatch(ctx: BenchContext): Promise<Row[]> {
  const rows: Row[] = [];
  const haveRedis = ctx.peers && existsSync('/usr/bin/redis-server');
  const haveDask = ctx.peers && daskAvailable();
  const ceilingMs = ctx.quick ? 1500 : 3000;
  for (const c of ctx.levels) {
    const tasks = ctx.quick ? (c === 1 ? 2000 : 5000) : c === 1 ? 5000 : 30_000;
    ctx.log(`dispatch: ${c} connection(s), ${tasks} tasks`);
    const colony = await colonyRun(ctx, c, tasks);
    const ceiling = await wsCeiling(ctx, c, ceilingMs);
    const refs = [{ name: 'raw wss round trips/s', value: ceiling }];
    const notes: string[] = [`coordinator CPU ${Math.round(colony.coordCpu * 100)} % of a core`];
    if (haveRedis) {
      const bullTasks = ctx.quick ? Math.min(tasks, 3000) : tasks;
      for (const fsync of ['always', 'everysec'] as const)
        try {
          refs.push({
            name: `BullMQ+Redis AOF ${fsync}`,
            value: await bullmqRun(ctx, fsync, c, bullTasks),
          });
        } catch (err) {
          notes.push(`BullMQ (${fsync}) failed: ${(err as Error).message.slice(0, 200)}`);
        }
    } else if (ctx.peers)
      notes.push('BullMQ skipped: no redis-server (apt-get install -y redis-server)');
    if (haveDask) {
      try {
        refs.push({ name: 'Dask distributed', value: await daskRun(ctx.quick ? 2000 : 5000, c) });
      } catch (err) {
        notes.push(`Dask failed: ${(err as Error).message.slice(0, 200)}`);
      }
    } else if (ctx.peers && c === ctx.levels[0])
      notes.push('Dask skipped: python3-distributed is not installed');
    const bull = refs.find((r) => r.name === 'BullMQ+Redis AOF everysec');
    const dask = refs.find((r) => r.name === 'Dask distributed');
    const row: Row = {
      section: '1 dispatch',
      measure: `no-op tasks/s, ${c} connection${c > 1 ? 's' : ''} × 1 slot, durable`,
      value: colony.tasksPerS,
      unit: 'tasks/s',
      refs,
      note: notes.join('; '),
    };
    if (c === 100) {
      row.target = '≥10k/s, ≥1.5× BullMQ, ≥10× Dask, ≥50 % of ws';
      row.met =
        colony.tasksPerS >= 10_000 &&
        (!bull || colony.tasksPerS >= 1.5 * bull.value) &&
        (!dask || colony.tasksPerS >= 10 * dask.value) &&
        colony.tasksPerS >= 0.5 * ceiling;
    }
    rows.push(row);
  }
  return rows;
}
