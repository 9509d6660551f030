// The scheduler and contact logic, deterministic: manual clock, fake peers, real store.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recoverRuntime } from '../../../../electron/grid/coordinator/api/submission.js';
import { EngineHarness, linux } from './engine-harness.js';

describe('coordinator engine', () => {
  let h: EngineHarness;
  beforeEach(async () => (h = await EngineHarness.create()));
  afterEach(() => h.close());

  it('only pushes as many tasks as a contributor asked for', async () => {
    await h.submit({}, 10);
    const c = h.connect('c1');
    expect(h.ready(c, 3).map((a) => a.idx)).toEqual([0, 1, 2]);
    expect(h.ready(c, 0)).toEqual([]);
  });

  it('serves higher priority first and shares slots fairly between equals', async () => {
    const low = await h.submit({ name: 'low', priority: 0 }, 100);
    const a = await h.submit({ name: 'a', priority: 5 }, 100);
    const b = await h.submit({ name: 'b', priority: 5 }, 100);
    const c = h.connect('c1');
    const got = h.ready(c, 10);
    const per = (id: string) => got.filter((x) => x.jobId === id).length;
    expect(per(low)).toBe(0);
    expect(per(a)).toBe(5);
    expect(per(b)).toBe(5);
  });

  it('re-runs the failed tasks of a finished job, and only those', async () => {
    const id = await h.submit({ limits: { maxAttempts: 1 } }, 3);
    const c = h.connect('c1');
    const [a0, a1, a2] = h.ready(c, 3);
    await h.succeed(c, a0!);
    h.engine.message(c.session, {
      type: 'result',
      attemptId: a1!.attemptId,
      state: 'failed',
      error: 'boom',
      wallMs: 1,
      cpuMs: 1,
    });
    await h.succeed(c, a2!);
    expect(h.views.job(id)!.state).toBe('failed');
    // The finished job has no runtime left: it is rebuilt from the store.
    expect(h.engine.job(id)).toBeUndefined();
    expect(await h.engine.retryFailed(id, () => recoverRuntime(h.engine, id))).toBe(1);
    const again = h.ready(c, 3);
    expect(again.map((a) => a.idx)).toEqual([1]);
    await h.succeed(c, again[0]!);
    expect(h.views.job(id)!).toMatchObject({ state: 'succeeded', counts: { succeeded: 3 } });
  });

  it('deletes a finished job for good, and refuses a live or unknown one without a change', async () => {
    const done = await h.submit({}, 2);
    const c = h.connect('c1');
    for (const a of h.ready(c, 2)) await h.succeed(c, a);
    expect(h.views.job(done)!.state).toBe('succeeded');
    const live = await h.submit({ name: 'live' }, 1);
    await expect(h.engine.deleteJob(live)).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringMatching(/is (queued|running): cancel it first/) as unknown,
    });
    await expect(h.engine.deleteJob('jnosuch')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(h.views.listJobs().map((j) => j.id)).toEqual([live, done]);
    await h.engine.deleteJob(done);
    expect(h.views.job(done)).toBeUndefined();
    expect(h.views.tasks(done, { offset: 0, limit: 10 })).toBeUndefined();
    await h.reopen();
    expect(h.views.listJobs().map((j) => j.id)).toEqual([live]);
  });

  it('keeps a job queued with the reason when no contributor can run it', async () => {
    const id = await h.submit({ requirements: { platforms: ['win32'] } }, 5);
    const c = h.connect('c1');
    expect(h.ready(c, 2)).toEqual([]);
    const job = h.views.job(id)!;
    expect(job.state).toBe('queued');
    expect(job.reason).toBe('no contributor with platform=win32');
    const win = h.connect('w1', { ...linux, platform: 'win32' });
    expect(h.ready(win, 1)).toHaveLength(1);
  });

  it('says when matching contributors are paused by their owners, and waits', async () => {
    const id = await h.submit({}, 5);
    const c = h.connect('c1');
    h.engine.message(c.session, {
      type: 'heartbeat',
      running: [],
      policy: { state: 'paused', reason: 'Paused: you are using this computer' },
    });
    expect(h.ready(c, 2)).toEqual([]);
    expect(h.views.job(id)!.reason).toBe('all matching contributors are paused by their owners');
  });

  it('loses the attempts of a contributor silent for 3 heartbeats and gives them to another', async () => {
    const id = await h.submit({}, 2);
    const silent = h.connect('silent');
    const taken = h.ready(silent, 2);
    expect(taken).toHaveLength(2);
    const other = h.connect('other');
    h.ready(other, 2);
    h.tick(2_500);
    expect(other.take()).toEqual([]); // 2.5 heartbeats: not yet
    h.engine.message(other.session, { type: 'heartbeat', running: [] });
    h.tick(1_000); // 3.5 heartbeats of silence
    const again = other.take();
    expect(again.map((a) => a.idx).sort()).toEqual([0, 1]);
    expect(again.every((a) => !taken.some((t) => t.attemptId === a.attemptId))).toBe(true);
    for (const a of again) await h.succeed(other, a);
    expect(h.views.job(id)!.state).toBe('succeeded');
  });

  it('fences late results: an attempt that was lost cannot record a result', async () => {
    const id = await h.submit({}, 1);
    const slow = h.connect('slow');
    const [first] = h.ready(slow, 1);
    h.tick(3_500); // lost
    const fast = h.connect('fast');
    const [second] = h.ready(fast, 1);
    expect(second!.attemptId).not.toBe(first!.attemptId);
    // The slow one wakes up (SIGCONT) and reports: refused, not recorded.
    const back = h.connect('slow', linux, [{ attemptId: first!.attemptId, jobId: id, idx: 0 }]);
    expect(back.of('cancel').map((m) => m.attemptId)).toEqual([first!.attemptId]);
    await h.succeed(back, first!, { from: 'late' });
    expect(back.of('result-ack')).toEqual([
      { type: 'result-ack', attemptId: first!.attemptId, accepted: false },
    ]);
    await h.succeed(fast, second!, { from: 'fast' });
    const results = [...h.views.results(id)];
    expect(results).toEqual([{ task: 0, input: { x: 0 }, output: { from: 'fast' } }]);
  });

  it('probes an attempt running far past the median and re-assigns it when the worker is gone', async () => {
    await h.submit({}, 8);
    const c = h.connect('c1');
    const first = h.ready(c, 8);
    for (const a of first.slice(0, 6)) await h.succeed(c, a, undefined, 100);
    h.engine.message(c.session, {
      type: 'heartbeat',
      running: first.slice(6).map((a) => ({ attemptId: a.attemptId })),
    });
    h.tick(900);
    expect(c.of('probe')).toEqual([]);
    h.engine.message(c.session, { type: 'heartbeat', running: [] });
    h.tick(900); // 1.8 s > max(1 s, 3 × 100 ms median)
    const probes = c.of('probe').map((p) => p.attemptId);
    expect(probes.sort()).toEqual(
      first
        .slice(6)
        .map((a) => a.attemptId)
        .sort(),
    );
    h.engine.message(c.session, {
      type: 'probe-reply',
      attemptId: probes[0]!,
      alive: false,
      cpuMs: 0,
      suspended: false,
    });
    await h.settle();
    expect(h.ready(c, 1).map((a) => a.number)).toEqual([2]);
  });

  it('starts a speculative copy near the end of a job; the first result wins and the other is cancelled', async () => {
    const id = await h.submit({}, 6);
    const a = h.connect('a');
    const b = h.connect('b');
    const onA = h.ready(a, 6);
    for (const t of onA.slice(0, 5)) await h.succeed(a, t, undefined, 100);
    const straggler = onA[5]!;
    h.engine.message(a.session, {
      type: 'heartbeat',
      running: [{ attemptId: straggler.attemptId }],
    });
    h.engine.message(b.session, { type: 'heartbeat', running: [] });
    h.tick(800); // past 2 × median and the 1 s floor? not yet
    expect(h.ready(b, 1)).toEqual([]);
    h.engine.message(a.session, {
      type: 'heartbeat',
      running: [{ attemptId: straggler.attemptId }],
    });
    h.engine.message(b.session, { type: 'heartbeat', running: [] });
    h.tick(400);
    const [copy] = b.take();
    expect(copy?.idx).toBe(straggler.idx);
    await h.succeed(b, copy!, { winner: 'b' });
    expect(a.of('cancel').map((m) => m.attemptId)).toContain(straggler.attemptId);
    await h.succeed(a, straggler, { winner: 'a' });
    expect(a.of('result-ack').at(-1)).toMatchObject({
      attemptId: straggler.attemptId,
      accepted: false,
    });
    expect([...h.views.results(id)].find((r) => r.task === 5)?.output).toEqual({ winner: 'b' });
    expect(h.views.job(id)!.state).toBe('succeeded');
  });

  it('after a restart, adopts attempts contributors still run and loses the rest after the grace', async () => {
    const id = await h.submit({}, 3);
    const c = h.connect('c1');
    const [a0, a1] = h.ready(c, 2);
    await h.succeed(c, h.ready(c, 1)[0]!);
    await h.settle();
    await h.reopen();
    // Only a0 is reported back: a1 was lost in the crash.
    const back = h.connect('c1', linux, [{ attemptId: a0!.attemptId, jobId: id, idx: a0!.idx }]);
    await h.settle();
    const again = h.ready(back, 1);
    expect(again.map((a) => a.idx)).toEqual([a1!.idx]);
    await h.succeed(back, a0!);
    await h.succeed(back, again[0]!);
    expect(h.views.job(id)!.state).toBe('succeeded');
    expect([...h.views.results(id)].map((r) => r.task)).toEqual([0, 1, 2]);
  });

  it('asks for more slots when the backlog exceeds the slots on offer', async () => {
    await h.submit({}, 100);
    const c = h.connect('c1');
    h.ready(c, 1);
    expect(c.of('scale')).toEqual([{ type: 'scale', backlog: 99, slotsOnOffer: 2 }]);
  });
});
