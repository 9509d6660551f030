// Promise (docs/owner-policy.md, busy programs): a program on the owner's list starting pauses the
// contributor's work at once — its worker is stopped (state T) and the coordinator shows why — and
// the work resumes and the job completes once the program ends. Real coordinator, real contributor
// with real workers, and a real process under a listed name (a copy of sleep).
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContributorInfo, JobSummary } from '../../shared/api.js';
import { Cluster, type Proc } from './helpers/cluster.js';
import { busyJob } from './helpers/jobs.js';
import { descendants, processState } from './helpers/procs.js';

const GAME = 'colony-busy-game';

async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.runIf(process.platform === 'linux')('a busy program pauses work', () => {
  let cluster: Cluster;
  let machine: Proc;
  let game: ChildProcess | undefined;
  beforeAll(async () => {
    cluster = await Cluster.create();
    await cluster.startCoordinator();
    const policy = join(cluster.dir, 'policy.json');
    writeFileSync(
      policy,
      JSON.stringify({
        computeWhen: 'always',
        onBattery: 'run',
        busyPrograms: { linux: ['zoom', GAME] },
      }),
    );
    machine = await cluster.startContributor('owner-pc', 1, ['--policy', policy]);
  });
  afterAll(async () => {
    if (game && game.exitCode === null && game.signalCode === null) game.kill('SIGKILL');
    await cluster.stop();
  });

  it('suspends the running attempt while the listed program runs and finishes the job after it ends', async () => {
    const client = await cluster.client();
    const contributor = async () =>
      (await client.json<ContributorInfo[]>('GET', '/contributors')).find(
        (c) => c.state === 'online',
      );
    expect((await contributor())?.policy?.state).toBe('working');

    // Three tasks of 2 s of CPU each on one worker: the job is still running when the game starts.
    const jobFile = await cluster.writeJob('sweep', busyJob('sweep', 3, 2000));
    const submit = await cluster.cli(['submit', jobFile, '--data', cluster.dataDir]);
    expect(submit.code, submit.stderr).toBe(0);
    const id = submit.stdout.trim();
    await until('a task to run', 20_000, async () => {
      const job = await client.json<JobSummary>('GET', `/jobs/${id}`);
      return job.counts.running > 0 ? job : undefined;
    });

    // The owner starts a game: a process whose name is on the list.
    const exe = join(cluster.dir, GAME);
    copyFileSync('/bin/sleep', exe);
    game = spawn(exe, ['600'], { stdio: 'ignore' });
    await new Promise((r) => game!.once('spawn', r));

    const paused = await until('the coordinator to show the pause', 15_000, async () => {
      const c = await contributor();
      return c?.policy?.state === 'paused' ? c : undefined;
    });
    expect(paused.policy?.reason).toBe(`Paused: ${GAME} is running`);
    expect(paused.running.length).toBe(1);
    const stopped = await until('a worker stopped (state T)', 10_000, () =>
      descendants(machine.pid).find((pid) => processState(pid) === 'T'),
    );
    const held = await client.json<JobSummary>('GET', `/jobs/${id}`);
    expect(held.state).toBe('running');
    expect(held.counts.running).toBe(1);

    // The game ends: work resumes where it stopped and the job completes.
    game.kill('SIGTERM');
    await new Promise((r) => game!.once('exit', r));
    await until('the coordinator to show work again', 15_000, async () => {
      const c = await contributor();
      return c?.policy?.state === 'working' ? c : undefined;
    });
    expect(processState(stopped)).not.toBe('T');
    const done = await cluster.waitJob(id, 60_000);
    expect(done.state).toBe('succeeded');
    expect(done.counts.succeeded).toBe(3);
    const results = await cluster.results(id);
    expect(
      results
        .map((r) => r.output)
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    ).toEqual([{ double: 0 }, { double: 2 }, { double: 4 }]);
  });
});
