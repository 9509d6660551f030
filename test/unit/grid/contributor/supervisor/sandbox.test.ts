// The sandbox around tasks, with real workers and real bubblewrap: a job's worker never serves
// another job, staged files cannot be written through, memory and file size are limited,
// workers run at the lowest priority, and the permission-model fallback still keeps jobs apart.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { probeSandbox } from '../../../../../electron/grid/contributor/supervisor/sandbox.js';
import type {
  RunOutcome,
  RunRequest,
} from '../../../../../electron/grid/contributor/supervisor/supervisor.js';
import { nodeRequest, startHarness, type Harness } from '../../worker/harness.js';

const sandbox = await probeSandbox(process.execPath, {}, '/tmp');
const hasSandbox = sandbox.isolation === 'sandbox';

function command(attemptId: string, script: string, extra: Partial<RunRequest> = {}): RunRequest {
  return {
    attemptId,
    runtime: 'command',
    command: ['sh', '-c', script],
    input: {},
    files: [],
    outputs: [],
    timeoutMs: 20_000,
    ...extra,
  };
}

function failed(o: RunOutcome): string {
  expect(o.state, JSON.stringify(o)).toBe('failed');
  return o.state === 'failed' ? o.error : '';
}

function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

describe.each([
  ['sandbox', 'auto' as const],
  ['permission model only', 'off' as const],
])('isolation: %s', (level, mode) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.cleanup();
    h = undefined;
  });
  const start = (extra: Parameters<typeof startHarness>[0] = {}) =>
    startHarness({ sandbox: mode, allowCommands: true, keepWorker: () => true, ...extra });

  it.skipIf(mode === 'auto' && !hasSandbox)('reports its level', async () => {
    h = await start();
    expect(h.supervisor.isolation).toBe(mode === 'auto' ? 'sandbox' : 'permission-model');
  });

  it.skipIf(mode === 'auto' && !hasSandbox)(
    "hooks left by one job never see or rewrite another job's task",
    async () => {
      h = await start();
      let starts = 0;
      h.supervisor.on('worker-start', () => starts++);
      const hook = (id: string, jobId: string) => ({
        ...nodeRequest(h!, id, 'hook-worker'),
        jobId,
      });
      // Its own tasks are its own business: the hooks catch them.
      expect(await h.supervisor.run(hook('a1', 'job-a'))).toMatchObject({
        output: { owned: true },
      });
      expect(await h.supervisor.run(hook('a2', 'job-a'))).toMatchObject({
        output: { owned: true },
      });
      // Another job's task, with job a's worker idle beside it, gets a clean worker.
      const b = await h.supervisor.run({ ...nodeRequest(h, 'b1', 'square', { x: 7 }), jobId: 'b' });
      expect(b).toMatchObject({ state: 'succeeded', output: { y: 49 } });
      // Two workers were started: job a's (kept idle for it) and job b's own.
      expect(starts).toBe(2);
    },
  );

  it.skipIf(mode === 'auto' && !hasSandbox)(
    'a staged file written through by a command leaves the cache blob intact',
    async () => {
      h = await start();
      const blob = path.join(h.blobCacheDir, 'blobs', 'shared');
      writeFileSync(blob, 'the original\n');
      const files = [{ name: 'data/shared.txt', path: blob }];
      const o = await h.supervisor.run(
        command(
          'poison',
          'echo poisoned > data/shared.txt; echo poisoned >> "$(readlink -f data/shared.txt)"; cat data/shared.txt',
          { files, jobId: 'evil' },
        ),
      );
      expect(o.state).toBe('succeeded');
      expect(readFileSync(blob, 'utf8')).toBe('the original\n');
      // The next job staging the same blob reads the original.
      const next = await h.supervisor.run({
        ...nodeRequest(h, 'reader', 'read-staged', { name: 'data/shared.txt' }),
        files,
        jobId: 'victim',
      });
      expect(next).toMatchObject({
        state: 'succeeded',
        output: { viaCtx: 'the original\n', viaCwd: 'the original\n' },
      });
    },
  );

  it.skipIf(process.platform !== 'linux' || (mode === 'auto' && !hasSandbox))(
    'buffers past the memory limit fail with "memory limit" and the next task runs',
    async () => {
      h = await start({ limits: { memoryMb: 256 } });
      const big = await h.supervisor.run({
        ...nodeRequest(h, 'hog', 'alloc-buffers', { mb: 512 }),
        jobId: 'j',
      });
      expect(failed(big)).toMatch(/memory limit/);
      const small = await h.supervisor.run({
        ...nodeRequest(h, 'fits', 'alloc-buffers', { mb: 64 }),
        jobId: 'j',
      });
      expect(small).toMatchObject({ state: 'succeeded', output: { held: 64 } });
    },
  );

  it.skipIf(process.platform !== 'linux' || (mode === 'auto' && !hasSandbox))(
    'a file past the size limit stops the command',
    async () => {
      h = await start({ limits: { maxFileMb: 1 } });
      const o = await h.supervisor.run(
        command('big', 'dd if=/dev/zero of=big bs=1M count=4 2>/dev/null'),
      );
      expect(failed(o)).toMatch(/file size limit \(1 MiB per file\)/);
      expect(await h.supervisor.run(command('after', 'true'))).toMatchObject({
        state: 'succeeded',
      });
    },
  );

  it.skipIf(mode === 'auto' && !hasSandbox)(
    'a workdir that outgrows its limit ends the attempt and the next one runs',
    async () => {
      h = await start({ maxWorkdirMb: 1 });
      const o = await h.supervisor.run(
        command('fill', 'for i in 1 2 3; do head -c 700000 /dev/zero > f$i; done; sleep 30'),
      );
      expect(failed(o)).toMatch(/workdir over its size limit \(1 MiB/);
      expect(await h.supervisor.run(command('after', 'true'))).toMatchObject({
        state: 'succeeded',
      });
    },
  );

  it.skipIf(process.platform !== 'linux' || (mode === 'auto' && !hasSandbox))(
    'workers run at nice 19 and SCHED_IDLE',
    async () => {
      h = await start();
      const o = await h.supervisor.run({ ...nodeRequest(h, 'sq', 'square', { x: 2 }), jobId: 'j' });
      expect(o.state).toBe('succeeded');
      const pids = h.supervisor.workerPids();
      expect(pids.length).toBeGreaterThan(0);
      for (const pid of pids) {
        const f = statFields(pid);
        expect(Number(f[16]), `nice of ${pid}`).toBe(19);
        expect(Number(f[38]), `policy of ${pid}`).toBe(5); // SCHED_IDLE
      }
    },
  );
});

describe.skipIf(!hasSandbox)('sandbox only', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.cleanup();
    h = undefined;
  });

  it('commands have no network unless the job asks and the owner allows', async () => {
    h = await startHarness({ allowCommands: true, allowNetwork: true });
    const probe = 'cat /proc/net/dev | grep -c :';
    const closed = await h.supervisor.run(command('closed', probe));
    const open = await h.supervisor.run(command('open', probe, { network: true }));
    const devices = (o: RunOutcome) =>
      Number((o.state === 'succeeded' ? (o.output as { stdout: string }) : { stdout: '' }).stdout);
    expect(devices(closed)).toBe(1); // its own loopback only
    expect(devices(open)).toBeGreaterThanOrEqual(devices(closed));
    const again = await startHarness({ allowCommands: true });
    try {
      const refused = await again.supervisor.run(command('refused', probe, { network: true }));
      expect(failed(refused)).toMatch(/--allow-network/);
    } finally {
      await again.cleanup();
    }
  });

  it('a command sees only its own staged files and folder', async () => {
    h = await startHarness({ allowCommands: true });
    const blob = path.join(h.blobCacheDir, 'blobs', 'mine');
    writeFileSync(blob, 'mine\n');
    const sha = createHash('sha256').update('x').digest('hex');
    const o = await h.supervisor.run(
      command('look', `ls ${h.blobCacheDir} 2>&1; ls ${h.root}`, {
        files: [{ name: `in/${sha}.txt`, path: blob }],
      }),
    );
    const out = o.state === 'succeeded' ? (o.output as { stdout: string }).stdout : '';
    const [cacheLine, ...rootListing] = out.trim().split('\n');
    expect(cacheLine).toMatch(/No such file or directory/);
    // Of the test's folder only the worker's own corner is mounted: no build, no cache.
    expect(rootListing).toEqual(['work', 'work-staged']);
  });
});
