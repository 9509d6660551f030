// §3 CPU efficiency: a CPU-bound node job on a real contributor with 2 worker processes, against
// the ideal (total CPU / cores), a piscina worker_threads pool and GNU parallel doing the same work.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { withDir, type BenchContext } from '../lib/context.js';
import { startContributorProc, startCoordinatorProc, submitSweep, waitJob } from '../lib/colony.js';
import { cpuMs, ROOT, track } from '../lib/procs.js';
import type { TaskRow } from '../../../shared/api.js';
import { median, type Row } from '../lib/report.js';

const FIXTURES = resolve(ROOT, 'test/bench/fixtures');
const TARGET_TASK_MS = 50;

interface SpinModule {
  spin: (iters: number) => number;
}

/** Iterations of the spin loop that take ~50 ms here, and the measured time of one task. */
async function calibrate(): Promise<{ iters: number; taskMs: number }> {
  const { spin } = (await import(pathToFileURL(join(FIXTURES, 'spin.mjs')).href)) as SpinModule;
  const time = (iters: number) => {
    const t = performance.now();
    spin(iters);
    return performance.now() - t;
  };
  for (let i = 0; i < 3; i++) time(1e6);
  const perIter = median([1, 2, 3, 4, 5].map(() => time(2e6))) / 2e6;
  const iters = Math.round(TARGET_TASK_MS / perIter);
  const taskMs = median(Array.from({ length: 9 }, () => time(iters)));
  return { iters, taskMs };
}

async function colonyWall(
  ctx: BenchContext,
  tasks: number,
  iters: number,
  slots: number,
  sandbox: boolean,
) {
  return withDir(ctx, sandbox ? 'cpu-colony' : 'cpu-colony-nosandbox', async (dir) => {
    const coord = await startCoordinatorProc(join(dir, 'coord'));
    const contrib = await startContributorProc(
      coord,
      join(dir, 'contrib'),
      slots,
      sandbox ? [] : ['--no-sandbox'],
    );
    try {
      const data = await readFile(join(FIXTURES, 'spin.mjs'));
      // A tiny job first so the workers have loaded the module and grown to `slots`.
      const warm = await submitSweep(coord.client, 4, {
        module: { name: 'spin.mjs', data },
        extraAxes: { iters: [1000] },
      });
      await waitJob(coord.client, warm.id, 60_000);
      const coordPid = coord.child.pid ?? 0;
      const managerPid = contrib.child.pid ?? 0;
      const cpu0 = { coordinator: cpuMs(coordPid), manager: cpuMs(managerPid) };
      const t0 = performance.now();
      const job = await submitSweep(coord.client, tasks, {
        module: { name: 'spin.mjs', data },
        extraAxes: { iters: [iters] },
      });
      // Polled at the pace `colony` itself polls; the figure is the server's first assign → last
      // result, so a faster poll would only take CPU from the workers being measured.
      const done = await waitJob(coord.client, job.id, 600_000, 300);
      const clientMs = performance.now() - t0;
      if (done.state !== 'succeeded') throw new Error(`cpu job ${done.state}`);
      const serverMs = (done.finishedAt ?? 0) - (done.startedAt ?? 0);
      // Where the machine's CPU went meanwhile: the job's own code (the attempts' CPU as the
      // workers measured it), and the coordinator and the manager that share the same cores.
      const spent = {
        coordinator: cpuMs(coordPid) - cpu0.coordinator,
        manager: cpuMs(managerPid) - cpu0.manager,
      };
      let taskCpu = 0;
      for (let offset = 0; offset < tasks; offset += 1000) {
        const page = await coord.client.json<{ tasks: TaskRow[] }>(
          'GET',
          `/jobs/${job.id}/tasks?offset=${offset}&limit=1000`,
        );
        for (const t of page.tasks) for (const a of t.attempts) taskCpu += a.cpuMs ?? 0;
      }
      return {
        serverMs,
        clientMs,
        perTaskCpuMs: {
          task: taskCpu / tasks,
          coordinator: spent.coordinator / tasks,
          manager: spent.manager / tasks,
        },
      };
    } finally {
      await contrib.stop();
      await coord.stop();
    }
  });
}

const breakdown = (c: { task: number; coordinator: number; manager: number }) =>
  `task ${c.task.toFixed(1)} ms, coordinator ${c.coordinator.toFixed(1)} ms, manager ${c.manager.toFixed(1)} ms`;

async function piscinaWall(tasks: number, iters: number, threads: number): Promise<number> {
  const pool = new Piscina({
    filename: pathToFileURL(join(FIXTURES, 'spin-piscina.mjs')).href,
    minThreads: threads,
    maxThreads: threads,
  });
  try {
    await Promise.all(Array.from({ length: threads * 2 }, () => pool.run({ iters: 1000 })));
    const t0 = performance.now();
    await Promise.all(Array.from({ length: tasks }, () => pool.run({ iters })));
    return performance.now() - t0;
  } finally {
    await pool.destroy();
  }
}

async function parallelWall(tasks: number, iters: number, jobs: number): Promise<number> {
  const args = [
    '--will-cite',
    '-j',
    String(jobs),
    process.execPath,
    join(FIXTURES, 'spin-cli.mjs'),
    String(iters),
    '::::',
    '-',
  ];
  const t0 = performance.now();
  const child = track(spawn('parallel', args, { stdio: ['pipe', 'ignore', 'pipe'] }));
  // One line per task on stdin: parallel runs `node spin-cli.mjs ITERS <n>` for each.
  child.stdin?.end(`${Array.from({ length: tasks }, (_, i) => i).join('\n')}\n`);
  const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`GNU parallel exited with ${code}`);
  return performance.now() - t0;
}

export async function benchCpu(ctx: BenchContext): Promise<Row[]> {
  const tasks = ctx.quick ? 100 : 400;
  const cores = os.availableParallelism();
  const slots = 2;
  const { iters, taskMs } = await calibrate();
  // The work is spread over min(slots, cores) cores; ideal = total CPU / those cores.
  const ideal = (tasks * taskMs) / Math.min(slots, cores);
  ctx.log(
    `cpu: ${tasks} tasks × ${taskMs.toFixed(1)} ms (${iters} iterations), ideal ${Math.round(ideal)} ms`,
  );
  const colony = await colonyWall(ctx, tasks, iters, slots, true);
  // The same job with the contributor's operating-system sandbox off: the sandbox's cost.
  const plain = await colonyWall(ctx, tasks, iters, slots, false);
  const pool = await piscinaWall(tasks, iters, slots);
  const refs = [
    { name: 'ideal (CPU/cores)', value: ideal },
    { name: 'piscina 2 threads', value: pool },
  ];
  let gnu: number | undefined;
  if (existsSync('/usr/bin/parallel')) {
    gnu = await parallelWall(tasks, iters, slots);
    refs.push({ name: 'GNU parallel -j2', value: gnu });
  }
  ctx.extra.cpu = {
    tasks,
    iters,
    taskMs,
    idealMs: ideal,
    colony,
    colonyNoSandbox: plain,
    piscinaMs: pool,
    parallelMs: gnu,
  };
  const eff = ideal / colony.serverMs;
  const effPlain = ideal / plain.serverMs;
  return [
    {
      section: '3 cpu',
      measure: `${tasks} × ${Math.round(taskMs)} ms CPU tasks, 2 worker processes: wall`,
      value: colony.serverMs,
      unit: 'ms',
      refs,
      target: '≥ 97 % of ideal, within 3 % of piscina',
      met: eff >= 0.97 && colony.serverMs <= pool * 1.03,
      note: `sandbox on; efficiency ${(eff * 100).toFixed(1)} % of ideal (piscina ${((ideal / pool) * 100).toFixed(1)} %${gnu ? `, GNU parallel ${((ideal / gnu) * 100).toFixed(1)} %` : ''}); Colony wall is the job's first assign → last result (client-observed submit → done: ${Math.round(colony.clientMs)} ms); the coordinator and manager share the same 2 cores`,
    },
    {
      section: '3 cpu',
      measure: `same job, contributor --no-sandbox: wall`,
      value: plain.serverMs,
      unit: 'ms',
      refs: [
        { name: 'ideal (CPU/cores)', value: ideal },
        { name: 'with the sandbox', value: colony.serverMs },
      ],
      target: 'sandbox ≥ 95 % of ideal',
      met: eff >= 0.95,
      note: `efficiency ${(effPlain * 100).toFixed(1)} % of ideal without the sandbox, ${(eff * 100).toFixed(1)} % with it (sandbox/no-sandbox wall ${(colony.serverMs / plain.serverMs).toFixed(3)}); CPU per task with the sandbox: ${breakdown(colony.perTaskCpuMs)}, without: ${breakdown(plain.perTaskCpuMs)}`,
    },
  ];
}
