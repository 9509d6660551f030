// The headless manager under the owner policy, with real worker processes against a fake
// coordinator: the owner's load suspends attempts at once (CPU time stops), quiet resumes them,
// nothing is offered while paused, and attempts suspended past the (shortened) delay are vacated;
// in throttle mode one attempt keeps running while the others are held.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ContributorManager } from '../../../../../electron/grid/contributor/manager/manager.js';
import { OwnerPolicy } from '../../../../../electron/grid/contributor/policy/owner-policy.js';
import { PolicyDriver } from '../../../../../electron/grid/contributor/policy/policy-driver.js';
import { readCpuMs } from '../../../../../electron/grid/worker/proc-stat.js';
import { ownerPolicySettingsSchema } from '../../../../../shared/owner-policy.js';
import type { Assignment } from '../../../../../shared/protocol.js';
import { buildWorker, repoRoot } from '../../worker/harness.js';
import { CREDENTIAL, FakeCoordinator } from './manager-fake-coordinator.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const VACATE_MS = 2_400;

let buildDir: string;
let workerPath: string;
beforeAll(() => {
  buildDir = mkdtempSync(path.join(os.tmpdir(), 'colony-pol-build-'));
  workerPath = buildWorker(buildDir);
});
afterAll(() => rmSync(buildDir, { recursive: true, force: true }));

describe('ContributorManager under the owner policy', () => {
  let coord: FakeCoordinator;
  let dataDir: string;
  let manager: ContributorManager | undefined;
  let driver: PolicyDriver;
  /** The simulated load of the owner's programs, read by the driver's sampler. */
  let ownerLoad = 0;

  beforeEach(async () => {
    coord = new FakeCoordinator();
    await coord.listen();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'colony-pol-'));
    ownerLoad = 0;
    const settings = ownerPolicySettingsSchema.parse({
      cpu: { smoothingSeconds: 0, quietForSeconds: 0.2 },
      vacateAfterMinutes: VACATE_MS / 60_000,
    });
    driver = new PolicyDriver({
      policy: new OwnerPolicy(settings, { cores: 2 }),
      sample: () => ({ otherCpuLoad: ownerLoad, onBattery: false }),
      intervalMs: 50,
    });
    driver.start();
    manager = new ContributorManager({
      url: coord.url,
      credential: CREDENTIAL,
      dataDir,
      maxSlots: 1,
      allowCommands: false,
      logger: pino({ level: 'silent' }),
      reconnect: { minMs: 50, maxMs: 200 },
      heartbeatMs: 200,
      supervisor: { workerPath, maxOldSpaceMb: 64 },
      policy: driver,
    });
    await manager.start();
    await coord.waitMsg('ready');
  });
  afterEach(async () => {
    driver.stop();
    await manager?.stop();
    manager = undefined;
    await coord.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  let seq = 0;
  function busyTask(ms: number): Assignment {
    const code = readFileSync(path.join(repoRoot, 'test/fixtures/tasks/hang.mjs'));
    seq++;
    return {
      attemptId: `jp.${seq}.1`,
      jobId: 'jp',
      idx: seq,
      number: 1,
      runtime: 'node',
      module: { name: 'hang.mjs', ...coord.addBlob(code) },
      input: { ms },
      files: [],
      outputs: [],
      timeoutMs: 60_000,
    };
  }

  /** CPU ms of our worker processes, straight from /proc. */
  const workerCpu = () =>
    manager!.workerPids().reduce((sum, pid) => sum + (readCpuMs(pid) ?? 0), 0);

  it.runIf(process.platform === 'linux')(
    'suspends at once when the owner needs the CPU and resumes when it is quiet again',
    async () => {
      expect(coord.of('hello')[0]?.policy).toMatchObject({ state: 'working' });
      // Long enough in wall time that it still runs after the pause even on a loaded machine,
      // where a worker at idle priority gets little CPU.
      const a = busyTask(5000);
      coord.send({ type: 'assign', attempts: [a] });
      await coord.waitMsg('started');
      const start = workerCpu();
      await coord.waitFor(() => workerCpu() > start + 200, 10_000, 'the worker to burn CPU');
      const readyBefore = coord.of('ready').length;

      ownerLoad = 0.9;
      const beat = await coord.waitMsg('heartbeat', (h) => h.policy?.state === 'paused', 2_000);
      expect(beat.policy?.reason).toMatch(/^Paused: other programs are using the CPU/);
      await coord.waitMsg('heartbeat', (h) => h.running[0]?.suspended === true, 2_000);
      const stopped = workerCpu();
      await sleep(500);
      expect(workerCpu() - stopped).toBeLessThanOrEqual(20); // one clock tick of slack
      coord.send({ type: 'probe', attemptId: a.attemptId });
      expect(await coord.waitMsg('probe-reply')).toMatchObject({ alive: true, suspended: true });
      expect(coord.of('ready').length).toBe(readyBefore);

      ownerLoad = 0;
      await coord.waitMsg('heartbeat', (h) => h.policy?.state === 'working', 3_000);
      await coord.waitFor(() => workerCpu() > stopped + 100, 5_000, 'CPU time to advance again');
      const result = await coord.waitMsg('result', (r) => r.attemptId === a.attemptId, 10_000);
      expect(result.state).toBe('succeeded');
      expect(coord.of('vacate')).toEqual([]);
    },
  );

  it('hands a buffered (not started) attempt back at once when the owner needs the machine', async () => {
    // A short task first: the manager then buffers one attempt beyond its slot.
    const warm = busyTask(20);
    coord.send({ type: 'assign', attempts: [warm] });
    await coord.waitMsg('result', (r) => r.attemptId === warm.attemptId);
    const credit = () => coord.of('ready').reduce((n, r) => n + r.slots, 0) - 1;
    await coord.waitFor(() => credit() === 2, 5_000, 'credit for slot + buffer');
    const [a, b] = [busyTask(1500), busyTask(1500)];
    coord.send({ type: 'assign', attempts: [a] });
    await coord.waitMsg('started', (s) => s.attemptId === a.attemptId);
    coord.send({ type: 'assign', attempts: [b] });
    await coord.waitFor(
      () =>
        manager!.status().running.some((r) => r.attemptId === b.attemptId && r.phase === 'waiting'),
      5_000,
      'b staged and waiting',
    );
    ownerLoad = 0.9;
    const vacate = await coord.waitMsg('vacate', (v) => v.attemptId === b.attemptId, 2_000);
    expect(vacate.reason).toMatch(/^not started: Paused/);
    expect((await coord.waitMsg('result', (r) => r.attemptId === b.attemptId)).state).toBe(
      'cancelled',
    );
    // The running one is only suspended, and still has the whole vacate delay.
    await coord.waitMsg('heartbeat', (h) => h.running[0]?.suspended === true, 2_000);
    expect(coord.of('vacate').map((v) => v.attemptId)).toEqual([b.attemptId]);
    ownerLoad = 0;
    const result = await coord.waitMsg('result', (r) => r.attemptId === a.attemptId, 10_000);
    expect(result.state).toBe('succeeded');
    expect(coord.of('started').map((s) => s.attemptId)).not.toContain(b.attemptId);
  });

  it('vacates attempts suspended longer than the vacate delay and hands back new work while paused', async () => {
    const a = busyTask(60_000);
    coord.send({ type: 'assign', attempts: [a] });
    await coord.waitMsg('started');
    ownerLoad = 0.9;
    await coord.waitMsg('heartbeat', (h) => h.running[0]?.suspended === true, 2_000);
    const pausedAt = Date.now();
    const vacate = await coord.waitMsg('vacate', (v) => v.attemptId === a.attemptId, 10_000);
    expect(Date.now() - pausedAt).toBeGreaterThanOrEqual(VACATE_MS - 300);
    expect(vacate.reason).toMatch(/suspended longer than .*Paused: other programs/);
    const result = await coord.waitMsg('result', (r) => r.attemptId === a.attemptId);
    expect(result.state).toBe('cancelled');
    expect(manager!.status().running).toEqual([]);

    // Credit the coordinator still held: work arriving during the pause goes straight back.
    const b = busyTask(100);
    coord.send({ type: 'assign', attempts: [b] });
    const back = await coord.waitMsg('vacate', (v) => v.attemptId === b.attemptId);
    expect(back.reason).toMatch(/^Paused: other programs/);
    expect(coord.of('started').map((s) => s.attemptId)).not.toContain(b.attemptId);

    const readyBefore = coord.of('ready').length;
    ownerLoad = 0;
    await coord.waitFor(
      () => coord.of('ready').length > readyBefore,
      3_000,
      'a ready after resume',
    );
  });
});

describe.runIf(process.platform === 'linux')('ContributorManager in throttle mode', () => {
  let coord: FakeCoordinator;
  let dataDir: string;
  let manager: ContributorManager | undefined;
  let driver: PolicyDriver;
  /** Milliseconds since the owner's last input, read by the driver's sampler. */
  let userIdleMs = 60 * 60_000;

  beforeEach(async () => {
    coord = new FakeCoordinator();
    await coord.listen();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'colony-thr-'));
    userIdleMs = 60 * 60_000;
    const settings = ownerPolicySettingsSchema.parse({
      whenActive: 'throttle',
      throttle: { workers: 1, cpuLimitPercent: 25 },
    });
    driver = new PolicyDriver({
      policy: new OwnerPolicy(settings, { cores: 4 }),
      sample: () => ({ userIdleMs, otherCpuLoad: 0, onBattery: false }),
      intervalMs: 50,
    });
    driver.start();
    manager = new ContributorManager({
      url: coord.url,
      credential: CREDENTIAL,
      dataDir,
      maxSlots: 2,
      initialSlots: 2,
      allowCommands: false,
      logger: pino({ level: 'silent' }),
      reconnect: { minMs: 50, maxMs: 200 },
      heartbeatMs: 200,
      supervisor: { workerPath, maxOldSpaceMb: 64 },
      policy: driver,
    });
    await manager.start();
    await coord.waitMsg('ready');
  });
  afterEach(async () => {
    driver.stop();
    await manager?.stop();
    manager = undefined;
    await coord.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const probe = async (attemptId: string) => {
    const n = coord.of('probe-reply').length;
    coord.send({ type: 'probe', attemptId });
    return coord.waitFor(
      () =>
        coord
          .of('probe-reply')
          .slice(n)
          .find((r) => r.attemptId === attemptId),
      2_000,
      'probe-reply',
    );
  };

  it('keeps one attempt running and holds the other while the owner works, then runs both', async () => {
    const code = readFileSync(path.join(repoRoot, 'test/fixtures/tasks/hang.mjs'));
    const module = { name: 'hang.mjs', ...coord.addBlob(code) };
    const task = (idx: number): Assignment => ({
      attemptId: `jt.${idx}.1`,
      jobId: 'jt',
      idx,
      number: 1,
      runtime: 'node',
      module,
      input: { ms: 10_000 },
      files: [],
      outputs: [],
      timeoutMs: 60_000,
    });
    const [a, b] = [task(1), task(2)];
    coord.send({ type: 'assign', attempts: [a, b] });
    await coord.waitFor(() => coord.of('started').length === 2, 10_000, 'both started');

    userIdleMs = 0; // the owner is back
    const beat = await coord.waitMsg(
      'heartbeat',
      (h) => h.policy?.state === 'working' && /^Throttled/.test(h.policy.reason),
      3_000,
    );
    expect(beat.policy?.reason).toBe(
      'Throttled: you are using this computer · 1 worker at 25 % CPU',
    );
    await coord.waitFor(
      () =>
        coord
          .of('heartbeat')
          .at(-1)
          ?.running.filter((r) => r.suspended).length === 1 || undefined,
      3_000,
      'one attempt held',
    );
    const replies = [await probe(a.attemptId), await probe(b.attemptId)];
    const held = replies.find((r) => r.suspended && r.alive)!;
    const kept = replies.find((r) => r !== held)!;
    // The held one uses no CPU; the kept one still moves (duty-cycled).
    await sleep(600);
    const [heldAfter, keptAfter] = [await probe(held.attemptId), await probe(kept.attemptId)];
    expect(heldAfter.suspended).toBe(true);
    expect(heldAfter.cpuMs - held.cpuMs).toBeLessThanOrEqual(20); // one clock tick of slack
    let moved = false;
    for (let i = 0; i < 50 && !moved; i++) {
      await sleep(100);
      moved = (await probe(kept.attemptId)).cpuMs > keptAfter.cpuMs;
    }
    expect(moved).toBe(true);

    // Work the coordinator sends now (credit from before) goes straight back: no room to hold it.
    const c = task(3);
    coord.send({ type: 'assign', attempts: [c] });
    const back = await coord.waitMsg('vacate', (v) => v.attemptId === c.attemptId, 3_000);
    expect(back.reason).toMatch(/^Throttled: /);

    userIdleMs = 60 * 60_000; // the owner left
    await coord.waitMsg(
      'heartbeat',
      (h) => h.policy?.state === 'working' && h.policy.reason.startsWith('Working'),
      3_000,
    );
    for (const id of [a.attemptId, b.attemptId])
      expect((await coord.waitMsg('result', (r) => r.attemptId === id, 20_000)).state).toBe(
        'succeeded',
      );
    expect(coord.of('vacate').map((v) => v.attemptId)).toEqual([c.attemptId]);
    expect(coord.of('started').map((st) => st.attemptId)).not.toContain(c.attemptId);
  });
});
