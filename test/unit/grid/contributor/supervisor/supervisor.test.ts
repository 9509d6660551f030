// Supervisor with real worker processes: per-job reuse, hooks, cancel, crash, timeout, suspend/resume.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunOutcome } from '../../../../../electron/grid/contributor/supervisor/supervisor.js';
import { isAlive } from '../../../../../electron/grid/worker/proc-stat.js';
import { nodeRequest, startHarness, type Harness } from '../../worker/harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await sleep(20);
  }
}

function expectState<S extends RunOutcome['state']>(
  o: RunOutcome,
  state: S,
): Extract<RunOutcome, { state: S }> {
  expect(o, JSON.stringify(o)).toMatchObject({ state });
  return o as Extract<RunOutcome, { state: S }>;
}

describe('Supervisor (node runtime)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.cleanup();
  });

  it('reuses a worker only for tasks of the same job and cleans each workdir', async () => {
    const kept = new Set(['job-a', 'job-b']);
    await h.cleanup();
    h = await startHarness({ keepWorker: (jobId) => kept.has(jobId) });
    const starts: number[] = [];
    h.supervisor.on('worker-start', ({ pid }) => starts.push(pid));
    expect(h.supervisor.workerPids()).toEqual([]);
    expect(h.supervisor.freeSlots).toBe(2);
    for (let i = 0; i < 3; i++) {
      const [a, b] = await Promise.all([
        h.supervisor.run({ ...nodeRequest(h, `sq-${i}-a`, 'square', { x: i }), jobId: 'job-a' }),
        h.supervisor.run({
          ...nodeRequest(h, `sq-${i}-b`, 'square', { x: i + 10 }),
          jobId: 'job-b',
        }),
      ]);
      expect((expectState(a, 'succeeded').output as { y: number }).y).toBe(i * i);
      expect((expectState(b, 'succeeded').output as { y: number }).y).toBe((i + 10) ** 2);
    }
    // One worker per job, kept between its tasks.
    expect(starts).toHaveLength(2);
    expect(h.supervisor.liveWorkers).toBe(2);
    expect(h.supervisor.workerPids()).toEqual(expect.arrayContaining(starts));
    // A third job never gets either of them.
    const c = await h.supervisor.run({
      ...nodeRequest(h, 'sq-c', 'square', { x: 1 }),
      jobId: 'job-c',
    });
    expectState(c, 'succeeded');
    expect(starts).toHaveLength(3);
    // Never more workers than slots: an idle one of another job made room for c.
    expect(h.supervisor.liveWorkers).toBeLessThanOrEqual(2);
    // A job with nothing more for its worker ends it (here at once; by itself after an idle wait).
    await h.supervisor.endJob('job-c');
    expect(h.supervisor.workerPids()).not.toContain(starts[2]);
    await h.supervisor.endJob('job-a');
    await h.supervisor.endJob('job-b');
    expect(h.supervisor.liveWorkers).toBe(0);
    expect(h.supervisor.freeSlots).toBe(2);
    expect(h.supervisor.running()).toEqual([]);
    expect(readdirSync(h.workRoot)).toEqual([]);
    // Idle workers end by themselves too.
    await h.supervisor.run({ ...nodeRequest(h, 'sq-d', 'square', { x: 1 }), jobId: 'job-d' });
    expect(h.supervisor.liveWorkers).toBe(1);
    await waitFor(() => h.supervisor.liveWorkers === 0, 15_000);
  });

  it('keeps a fresh spare worker per free slot; a job takes one and it is never shared', async () => {
    await h.cleanup();
    h = await startHarness({ spareWorkers: true, slots: 1 });
    await waitFor(() => h.supervisor.liveWorkers === 1); // the spare, before any task
    const [spare] = h.supervisor.workerPids();
    const starts: number[] = [];
    h.supervisor.on('worker-start', ({ pid }) => starts.push(pid));
    const a = await h.supervisor.run({ ...nodeRequest(h, 'hook', 'hook-worker'), jobId: 'a' });
    expect(a).toMatchObject({ state: 'succeeded', output: { owned: true } });
    expect(starts).toEqual([]); // job a's first task ran on the spare, nothing started for it
    // A new spare was started for the free slot; job b gets it (or a fresh one), never job a's
    // hooked worker, whose hook would have replaced b's output.
    await waitFor(() => starts.length === 1);
    const b = await h.supervisor.run({ ...nodeRequest(h, 'b1', 'square', { x: 4 }), jobId: 'b' });
    expect(b).toMatchObject({ state: 'succeeded', output: { y: 16 } });
    expect(h.supervisor.liveWorkers).toBeLessThanOrEqual(3); // a's idle, b's, b's new spare
    expect(spare).toBeGreaterThan(0);
  });

  it('fires progress and log hooks and stages files at their relative names', async () => {
    const blob = path.join(h.blobCacheDir, 'a.csv');
    writeFileSync(blob, 'x,y\n1,2\n');
    const progress: number[] = [];
    const logs: string[] = [];
    const req = {
      ...nodeRequest(h, 'prog-1', 'progress', { steps: 4 }),
      files: [{ name: 'data/a.csv', path: blob }],
    };
    const outcome = await h.supervisor.run(req, {
      onProgress: (f) => progress.push(f),
      onLog: (line) => logs.push(line),
    });
    const ok = expectState(outcome, 'succeeded');
    expect(progress.at(-1)).toBe(1);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(logs).toContain('did step 1');
    const out = ok.output as { files: Record<string, string>; workdir: string };
    expect(out.files['data/a.csv']).toBe(path.join(out.workdir, 'data/a.csv'));

    const read = await h.supervisor.run({
      ...nodeRequest(h, 'read-1', 'read-staged', { name: 'data/a.csv' }),
      files: [{ name: 'data/a.csv', path: blob }],
    });
    expect(expectState(read, 'succeeded').output).toEqual({
      viaCtx: 'x,y\n1,2\n',
      viaCwd: 'x,y\n1,2\n',
    });
  });

  it('cancels a busy loop: run() resolves cancelled, the worker is gone and replaced', async () => {
    const running = h.supervisor.run(nodeRequest(h, 'hang-1', 'hang'));
    await waitFor(() => (h.supervisor.probe('hang-1')?.cpuMs ?? 0) > 50);
    const pid = h.supervisor.probe('hang-1')?.pid;
    expect(pid).toBeGreaterThan(0);
    await h.supervisor.cancel('hang-1'); // the loop never ends by itself: only a kill ends it
    const outcome = await running;
    expectState(outcome, 'cancelled');
    expect(h.supervisor.running()).toEqual([]);
    expect(isAlive(pid ?? 0)).toBe(false);
    expect(h.supervisor.workerPids()).not.toContain(pid);
    const next = await h.supervisor.run(nodeRequest(h, 'after-cancel', 'square', { x: 3 }));
    expect(expectState(next, 'succeeded').output).toMatchObject({ y: 9 });
  });

  it('cancels a task that honours ctx.signal and keeps its worker', async () => {
    const before = h.supervisor.workerPids();
    const running = h.supervisor.run(nodeRequest(h, 'sleep-1', 'sleep', { ms: 30_000 }));
    await waitFor(() => h.supervisor.probe('sleep-1')?.alive === true);
    await sleep(100);
    await h.supervisor.cancel('sleep-1');
    expectState(await running, 'cancelled');
    expect(h.supervisor.workerPids().sort()).toEqual([...before].sort());
  });

  it('reports a crash with its exit code and serves the next task from a new worker', async () => {
    const starts: number[] = [];
    h.supervisor.on('worker-start', ({ pid }) => starts.push(pid));
    const failed = expectState(
      await h.supervisor.run(nodeRequest(h, 'crash-1', 'crash')),
      'failed',
    );
    expect(failed.reason).toBe('crash');
    expect(failed.exitCode).toBe(3);
    expect(failed.error).toMatch(/exited with code 3/);
    const next = expectState(
      await h.supervisor.run(nodeRequest(h, 'after-crash', 'square', { x: 2 })),
      'succeeded',
    );
    expect((next.output as { y: number }).y).toBe(4);
    expect(new Set(starts).size).toBe(2);
  });

  it('kills a task at its time limit', async () => {
    const failed = expectState(
      await h.supervisor.run(nodeRequest(h, 'slow-1', 'hang', {}, 500)),
      'failed',
    );
    expect(failed.reason).toBe('timeout');
    expect(failed.wallMs).toBeGreaterThanOrEqual(450);
    expect(failed.cpuMs).toBeGreaterThan(0);
  });

  it('reports thrown errors, non-JSON output and a heap blow-up', async () => {
    const thrown = expectState(
      await h.supervisor.run(nodeRequest(h, 'throw-1', 'throws', { why: 'x<0' })),
      'failed',
    );
    // The frame in the task's module comes along (the manager renames the module for the user).
    expect(thrown.reason).toBe('error');
    expect(thrown.error).toMatch(/^bad input: x<0 \(at file:\/\/\S+\.mjs:\d+:\d+\)$/);
    const bad = expectState(
      await h.supervisor.run(nodeRequest(h, 'nojson-1', 'not-json')),
      'failed',
    );
    expect(bad.reason).toBe('bad-output');
    expect(bad.error).toMatch(/not JSON-serialisable: output\.when: a Map/);
    const oom = expectState(
      await h.supervisor.run(nodeRequest(h, 'oom-1', 'eat-memory')),
      'failed',
    );
    expect(oom.reason).toBe('crash');
    expect(oom.error).toMatch(/heap|memory|signal/i);
  });

  it('suspend stops CPU time, resume continues to a result', async () => {
    const running = h.supervisor.run(nodeRequest(h, 'busy-1', 'hang', { ms: 1500 }));
    await waitFor(() => (h.supervisor.probe('busy-1')?.cpuMs ?? 0) > 100);
    h.supervisor.suspend('busy-1');
    await sleep(50);
    const first = h.supervisor.probe('busy-1');
    await sleep(300);
    const second = h.supervisor.probe('busy-1');
    expect(first?.suspended).toBe(true);
    expect(second?.alive).toBe(true);
    expect(second?.cpuMs).toBe(first?.cpuMs);
    h.supervisor.resume('busy-1');
    const ok = expectState(await running, 'succeeded');
    expect((ok.output as { n: number }).n).toBeGreaterThan(0);
    expect(ok.cpuMs).toBeGreaterThan(first?.cpuMs ?? 0);
  });

  it('shrinks and grows its slots', async () => {
    h.supervisor.setSlots(1);
    expect(h.supervisor.freeSlots).toBe(1);
    await waitFor(() => h.supervisor.liveWorkers <= 1);
    h.supervisor.setSlots(3);
    expect(h.supervisor.freeSlots).toBe(3);
    const outcomes = await Promise.all(
      [1, 2, 3].map((x) => h.supervisor.run(nodeRequest(h, `grow-${x}`, 'square', { x }))),
    );
    expect(outcomes.map((o) => o.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    await expect(h.supervisor.run(nodeRequest(h, 'x/../y', 'square'))).rejects.toMatchObject({
      code: 'BAD_ATTEMPT_ID',
    });
    expect(existsSync(h.workRoot)).toBe(true);
  });
});
