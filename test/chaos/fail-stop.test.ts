// Promise: when the journal fails (an I/O error, a full disk) the coordinator stops taking writes
// (503 naming the reason), never dies of an exception, stops on its own with the reason, and a
// restart loses nothing it acknowledged. Faults are injected into the journal's writes while a
// lease expires and while results arrive, from test contributors speaking the real protocol.
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobSummary } from '../../shared/api.js';
import { startCoordinator } from '../../electron/grid/coordinator/coordinator.js';
import { PinnedAgent, pinnedFetch } from '../../electron/grid/trust/pinned.js';
import { ProtocolClient, joinAs, type Target } from './helpers/protocol-client.js';
import { report, sleep } from './helpers/scale.js';

const MODULE = 'export default async ({ x }) => ({ double: x * 2 });\n';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const eio = () => Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });

const uncaught: unknown[] = [];
/** Error log lines: a handler the guard had to catch is a bug even if the process lived. */
const errorLines: string[] = [];
const onUncaught = (err: unknown) => uncaught.push(err);
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  process.off('uncaughtException', onUncaught);
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A coordinator on `dir` whose journal writes fail while `fault.on`. */
async function coordinatorOn(dir: string, fault: { on: boolean }, stops: string[]) {
  const c = await startCoordinator({
    dataDir: dir,
    port: 0,
    logger: pino({ level: 'error' }, { write: (line: string) => errorLines.push(line) }),
    tickMs: 50,
    reconnectGraceMs: 300,
    failStopAfterMs: 300,
    onFailStop: (reason) => stops.push(reason),
    journalIo: {
      write: async (fh: FileHandle, buf: Buffer, position: number) => {
        if (fault.on) throw eio();
        return (await fh.write(buf, 0, buf.length, position)).bytesWritten;
      },
      datasync: async (fh: FileHandle) => {
        if (fault.on) throw eio();
        await fh.datasync();
      },
    },
  });
  const target: Target = {
    url: c.url,
    fingerprint: c.fingerprint,
    joinSecret: c.identity.joinSecret,
  };
  const fetch = pinnedFetch(new PinnedAgent(c.fingerprint));
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${c.url}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${c.identity.adminToken}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch {
      /* NDJSON */
    }
    return { status: res.status, body: json, text };
  };
  return { c, target, api };
}

type Grid = Awaited<ReturnType<typeof coordinatorOn>>;

async function submit(g: Grid, count: number): Promise<string> {
  await pinnedFetch(new PinnedAgent(g.c.fingerprint))(`${g.c.url}/api/v1/blobs/${sha(MODULE)}`, {
    method: 'PUT',
    body: MODULE,
    headers: {
      authorization: `Bearer ${g.c.identity.adminToken}`,
      'content-type': 'application/octet-stream',
    },
  });
  const res = await g.api('POST', '/jobs', {
    name: 'fs',
    runtime: 'node',
    module: { name: 'm.mjs', sha256: sha(MODULE), size: MODULE.length },
    tasks: { sweep: { x: { range: [0, count] } } },
  });
  expect(res.status, res.text).toBe(201);
  return (res.body as { id: string }).id;
}

/** Runs tasks honestly until the job is final; bounded. */
async function finish(g: Grid, jobId: string, name: string): Promise<JobSummary> {
  const client = await ProtocolClient.connect(g.target, await joinAs(g.target, name));
  cleanup.push(() => client.close());
  for (let round = 0; round < 200; round++) {
    const job = (await g.api('GET', `/jobs/${jobId}`)).body as JobSummary;
    if (['succeeded', 'failed', 'cancelled'].includes(job.state)) return job;
    for (const a of await client.take(4, 300)) {
      client.result(a.attemptId, { double: (a.input as { x: number }).x * 2 });
      await client.ack(a.attemptId);
    }
  }
  throw new Error('job did not finish');
}

/** Each task's results: exactly one, and right. */
async function check(g: Grid, jobId: string, count: number) {
  const lines = (await g.api('GET', `/jobs/${jobId}/results`)).text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { task: number; input: { x: number }; output: unknown });
  const seen = new Map<number, number>();
  let wrong = 0;
  for (const l of lines) {
    seen.set(l.task, (seen.get(l.task) ?? 0) + 1);
    if (JSON.stringify(l.output) !== JSON.stringify({ double: l.input.x * 2 })) wrong++;
  }
  let lost = 0;
  let duplicated = 0;
  for (let i = 0; i < count; i++) {
    if (!seen.has(i)) lost++;
    if ((seen.get(i) ?? 0) > 1) duplicated++;
  }
  return { lost, duplicated, wrong, lines };
}

/** A coordinator on a fresh data dir whose journal fails while `fault.on`; cleaned up after. */
async function freshCoordinator() {
  process.on('uncaughtException', onUncaught);
  const dir = await mkdtemp(join(tmpdir(), 'colony-failstop-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const fault = { on: false };
  const stops: string[] = [];
  const g = await coordinatorOn(dir, fault, stops);
  cleanup.push(() => g.c.close());
  return { dir, fault, stops, g };
}

describe('fail-stop when the journal fails', () => {
  it('during a lease expiry: writes get 503 with the reason, no crash, it stops, a restart loses no acknowledged result', async () => {
    const { dir, fault, stops, g } = await freshCoordinator();
    const jobId = await submit(g, 8);
    const a = await ProtocolClient.connect(g.target, await joinAs(g.target, 'c-a'), {
      heartbeatMs: 100,
    });
    const b = await ProtocolClient.connect(g.target, await joinAs(g.target, 'c-b'), {
      heartbeatMs: 100,
    });
    cleanup.push(
      () => a.close(),
      () => b.close(),
    );
    const beat = { a: true, b: true };
    const timer = setInterval(() => {
      if (beat.a && a.open) a.heartbeat();
      if (beat.b && b.open) b.heartbeat();
    }, 50);
    cleanup.push(async () => clearInterval(timer));
    const heldA = await a.take(3);
    const heldB = await b.take(2);
    expect(heldA.length + heldB.length).toBe(5);
    // Two results acknowledged before the fault: they must survive everything that follows.
    const acked: number[] = [];
    for (const x of heldA.slice(0, 2)) {
      a.result(x.attemptId, { double: (x.input as { x: number }).x * 2 });
      expect(await a.ack(x.attemptId)).toBe(true);
      acked.push(x.idx);
    }
    fault.on = true;
    // A goes silent: its lease expires, the end of its attempt is journaled, and the journal fails.
    beat.a = false;
    for (let i = 0; i < 100 && !g.c.engine.store.failed; i++) await sleep(20);
    expect(g.c.engine.store.failed).toBe(true);
    // B's lease expires too, now that the store has failed: logged, not thrown (this crashed).
    beat.b = false;
    for (let i = 0; i < 100 && g.c.engine.session('c-b'); i++) await sleep(20);
    expect(g.c.engine.session('c-b')).toBeUndefined();
    await sleep(200);
    expect(uncaught).toEqual([]);
    expect(errorLines.filter((l) => l.includes('carrying on'))).toEqual([]);
    expect(errorLines.join('')).toMatch(/job store failed: refusing writes/);
    // Writes are refused with the reason; reads still answer.
    const write = await g.api('POST', `/jobs/${jobId}/priority`, { priority: 5 });
    expect(write.status).toBe(503);
    expect((write.body as { error: { message: string } }).error.message).toMatch(
      /job store cannot write to disk \(journal write failed: EIO/,
    );
    expect((await g.api('GET', '/health')).status).toBe(200);
    expect((await g.api('GET', `/jobs/${jobId}`)).status).toBe(200);
    // It cannot go on: it says so, once.
    for (let i = 0; i < 100 && stops.length === 0; i++) await sleep(20);
    expect(stops).toHaveLength(1);
    expect(stops[0]).toMatch(
      /^the job store failed \(journal write failed: EIO.*restart the coordinator/,
    );

    // Restart on healthy storage: acknowledged results are there, the rest runs once.
    await g.c.close();
    fault.on = false;
    const again = await coordinatorOn(dir, fault, stops);
    cleanup.push(() => again.c.close());
    const before = await check(again, jobId, 8);
    for (const idx of acked) expect(before.lines.map((l) => l.task)).toContain(idx);
    const job = await finish(again, jobId, 'c-after');
    expect(job.state).toBe('succeeded');
    const t = await check(again, jobId, 8);
    expect([t.lost, t.duplicated, t.wrong]).toEqual([0, 0, 0]);
    expect(uncaught).toEqual([]);
    report({
      kind: 'journal I/O error during a lease expiry',
      faults: 1,
      jobs: 1,
      tasks: 8,
      lost: t.lost,
      duplicated: t.duplicated,
      wrong: t.wrong,
      recoveryMs: [],
      note: 'writes 503 with the reason, fail-stop, restart: acknowledged results kept',
    });
  });

  it('during results: no acknowledgement for what was not stored, a restart re-runs exactly those', async () => {
    const { dir, fault, stops, g } = await freshCoordinator();
    const jobId = await submit(g, 6);
    const a = await ProtocolClient.connect(g.target, await joinAs(g.target, 'c-a'));
    cleanup.push(() => a.close());
    const held = await a.take(4);
    expect(held).toHaveLength(4);
    const first = held[0]!;
    a.result(first.attemptId, { double: (first.input as { x: number }).x * 2 });
    expect(await a.ack(first.attemptId)).toBe(true);
    fault.on = true;
    // The result whose write fails, and one that arrives after the store failed.
    for (const x of held.slice(1, 3))
      a.result(x.attemptId, { double: (x.input as { x: number }).x * 2 });
    for (const x of held.slice(1, 3)) expect(await a.ack(x.attemptId, 1_000)).toBeUndefined();
    expect(g.c.engine.store.failed).toBe(true);
    expect(uncaught).toEqual([]);
    const refused = await g.api('POST', `/jobs/${jobId}/cancel`);
    expect(refused.status).toBe(503);
    expect(JSON.stringify(refused.body)).toMatch(/STORE_UNAVAILABLE.*EIO/);
    await g.c.close();
    fault.on = false;
    const again = await coordinatorOn(dir, fault, stops);
    cleanup.push(() => again.c.close());
    expect((await check(again, jobId, 6)).lines.map((l) => l.task)).toEqual([first.idx]);
    const job = await finish(again, jobId, 'c-after');
    expect(job.state).toBe('succeeded');
    const t = await check(again, jobId, 6);
    expect([t.lost, t.duplicated, t.wrong]).toEqual([0, 0, 0]);
    report({
      kind: 'journal I/O error during results',
      faults: 2,
      jobs: 1,
      tasks: 6,
      lost: t.lost,
      duplicated: t.duplicated,
      wrong: t.wrong,
      recoveryMs: [],
      note: 'unstored results not acknowledged, re-run after restart',
    });
  });

  it('retry of a cancelled job, or of one without failures, is a 409 that says why', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'colony-failstop-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const g = await coordinatorOn(dir, { on: false }, []);
    cleanup.push(() => g.c.close());
    const jobId = await submit(g, 3);
    const none = await g.api('POST', `/jobs/${jobId}/retry`);
    expect(none.status).toBe(409);
    expect(none.body).toMatchObject({ error: { code: 'BAD_TRANSITION' } });
    expect(JSON.stringify(none.body)).toMatch(/has no failed tasks/);
    // A task fails for good (maxAttempts 1 would need a spec change; fail it through the protocol).
    const a = await ProtocolClient.connect(g.target, await joinAs(g.target, 'c-a'));
    cleanup.push(() => a.close());
    for (let i = 0; i < 3; i++) {
      const [x] = await a.take(1);
      if (!x) break;
      if (x.idx !== 0) {
        a.result(x.attemptId, { double: (x.input as { x: number }).x * 2 });
        continue;
      }
      a.sendJson({
        type: 'result',
        attemptId: x.attemptId,
        state: 'failed',
        error: 'boom',
        wallMs: 1,
        cpuMs: 1,
      });
      await a.ack(x.attemptId);
    }
    await g.api('POST', `/jobs/${jobId}/cancel`);
    const job = (await g.api('GET', `/jobs/${jobId}`)).body as JobSummary;
    expect(job.state).toBe('cancelled');
    const back = await g.api('POST', `/jobs/${jobId}/retry`);
    expect(back.status).toBe(409);
    expect(JSON.stringify(back.body)).toMatch(/cannot go from cancelled to running/);
    expect(((await g.api('GET', `/jobs/${jobId}`)).body as JobSummary).state).toBe('cancelled');
  });
});
