// Contributor manager against a fake coordinator on loopback, with real worker processes.
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ContributorManager,
  type ManagerOptions,
} from '../../../../../electron/grid/contributor/manager/manager.js';
import { CLOSE, PROTOCOL_VERSION, type Assignment } from '../../../../../shared/protocol.js';
import { buildWorker, repoRoot } from '../../worker/harness.js';
import { CREDENTIAL, FakeCoordinator, sha256 } from './manager-fake-coordinator.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fixture = (name: string) =>
  readFileSync(path.join(repoRoot, 'test/fixtures/tasks', `${name}.mjs`));

let buildDir: string;
let workerPath: string;

beforeAll(() => {
  buildDir = mkdtempSync(path.join(os.tmpdir(), 'colony-mgr-build-'));
  workerPath = buildWorker(buildDir);
});
afterAll(() => rmSync(buildDir, { recursive: true, force: true }));

// The level depends on the machine (bubblewrap present or not); either is a valid report.
const ISOLATION = expect.stringMatching(/^(sandbox|permission-model)$/) as unknown;

describe('ContributorManager', () => {
  let coord: FakeCoordinator;
  let dataDir: string;
  let manager: ContributorManager | undefined;
  let logLines: string[];
  let seq = 0;

  beforeEach(async () => {
    coord = new FakeCoordinator();
    await coord.listen();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'colony-mgr-'));
    logLines = [];
  });
  afterEach(async () => {
    await manager?.stop();
    manager = undefined;
    await coord.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function startManager(opts: Partial<ManagerOptions> = {}): Promise<ContributorManager> {
    const logger = pino({ level: 'debug' }, { write: (line: string) => logLines.push(line) });
    manager = new ContributorManager({
      url: coord.url,
      credential: CREDENTIAL,
      dataDir,
      maxSlots: 2,
      allowCommands: false,
      logger,
      reconnect: { minMs: 50, maxMs: 200 },
      supervisor: { workerPath, maxOldSpaceMb: 64 },
      ...opts,
    });
    await manager.start();
    await coord.waitMsg('ready');
    return manager;
  }

  function assignment(task: string, input: unknown, extra: Partial<Assignment> = {}): Assignment {
    const module = { name: `${task}.mjs`, ...coord.addBlob(fixture(task)) };
    seq++;
    return {
      attemptId: `job1.${seq}.1`,
      jobId: 'job1',
      idx: seq,
      number: 1,
      runtime: 'node',
      module,
      input: input as Assignment['input'],
      files: [],
      outputs: [],
      timeoutMs: 20_000,
      ...extra,
    };
  }

  /** Sum of ready credits minus assignments sent: what the coordinator may still assign. */
  function creditHeld(assigned: number): number {
    return coord.of('ready').reduce((n, r) => n + r.slots, 0) - assigned;
  }

  it('says hello with caps and a running list, then offers its free slot', async () => {
    const m = await startManager({ tags: ['gpu'], heartbeatMs: 1500 });
    const [hello] = coord.of('hello');
    expect(hello).toMatchObject({
      protocol: PROTOCOL_VERSION,
      contributorId: m.contributorId,
      name: os.hostname(),
      heartbeatMs: 1500,
      running: [],
      caps: {
        cores: os.availableParallelism(),
        platform: process.platform,
        arch: os.arch(),
        runtimes: ['node'],
        tags: ['gpu'],
        slots: 1,
      },
    });
    expect(coord.upgrades[0]?.auth).toBe(`Bearer ${CREDENTIAL}`);
    expect(coord.of('ready')).toEqual([{ type: 'ready', slots: 1, isolation: ISOLATION }]);
    const saved: unknown = JSON.parse(readFileSync(path.join(dataDir, 'contributor.json'), 'utf8'));
    expect(saved).toEqual({ contributorId: m.contributorId });
    expect(logLines.join('\n')).not.toContain(CREDENTIAL);
  });

  it('fetches blobs, runs the task and reports the result, never over-promising slots', async () => {
    const m = await startManager({ prefetchBelowMs: 0 }); // exact slot accounting, no buffer
    const data = coord.addBlob('x,y\n1,2\n');
    const a = assignment(
      'read-staged',
      { name: 'data/a.csv' },
      {
        files: [{ name: 'data/a.csv', ...data }],
      },
    );
    coord.send({ type: 'assign', attempts: [a] });
    const result = await coord.waitMsg('result');
    expect(result).toMatchObject({
      attemptId: a.attemptId,
      state: 'succeeded',
      output: { viaCtx: 'x,y\n1,2\n', viaCwd: 'x,y\n1,2\n' },
    });
    expect(coord.of('started').map((s) => s.attemptId)).toEqual([a.attemptId]);
    const gets = coord.blobRequests.filter((r) => r.method === 'GET');
    expect(gets.map((g) => g.sha).sort()).toEqual([a.module!.sha256, data.sha256].sort());
    expect(gets.every((g) => g.auth === `Bearer ${CREDENTIAL}`)).toBe(true);
    // The freed slot is offered again, once: credit held never exceeds the one slot.
    await coord.waitFor(() => coord.of('ready').length === 2, 5000, 'second ready');
    expect(creditHeld(1)).toBe(1);
    coord.send({ type: 'result-ack', attemptId: a.attemptId, accepted: true });
    await coord.waitFor(() => m.status().unacknowledged.length === 0, 5000, 'ack');
    expect(m.status()).toMatchObject({ connected: true, slots: 1, freeSlots: 1, running: [] });
  });

  it.runIf(process.platform !== 'win32')(
    'uploads output files before the result and removes them once acknowledged',
    async () => {
      const m = await startManager({ allowCommands: true });
      expect(coord.of('hello')[0]!.caps.runtimes).toEqual(['node', 'command']);
      // A system shell, not process.execPath: commands see only the system folders in the sandbox.
      const script = 'mkdir out && printf hi > out/a.txt';
      const a = assignment(
        'square',
        {},
        {
          runtime: 'command',
          module: undefined,
          command: ['/bin/sh', '-c', script],
          outputs: ['out/*.txt'],
        },
      );
      coord.send({ type: 'assign', attempts: [a] });
      const result = await coord.waitMsg('result');
      const sha = sha256('hi');
      expect(result).toMatchObject({
        state: 'succeeded',
        outputFiles: [{ name: 'out/a.txt', sha256: sha, size: 2 }],
      });
      expect(coord.uploads.get(sha)).toMatchObject({ contentType: 'application/octet-stream' });
      const outputs = path.join(realpathSync(dataDir), 'work-outputs', a.attemptId);
      expect(existsSync(outputs)).toBe(true);
      coord.send({ type: 'result-ack', attemptId: a.attemptId, accepted: true });
      await coord.waitFor(() => !existsSync(outputs), 5000, 'outputs removed');
      expect(m.status().unacknowledged).toEqual([]);
    },
  );

  /**
   * A manager with one slot after a short task (so its buffer is open): `a` (1.5 s) running,
   * `b` staged and waiting for the slot.
   */
  async function bufferedBehind() {
    const m = await startManager();
    const first = assignment('square', { x: 2 });
    coord.send({ type: 'assign', attempts: [first] });
    await coord.waitMsg('result', (r) => r.attemptId === first.attemptId);
    // A short task ran: the slot and one buffered attempt are offered, never more.
    await coord.waitFor(() => creditHeld(1) === 2, 5000, 'credit for slot + buffer');
    // a runs long enough for b's blobs to be staged meanwhile, even on a loaded machine.
    const [a, b] = [assignment('sleep', { ms: 1500 }), assignment('sleep', { ms: 400 })];
    // One at a time, as a coordinator holding two credits may send them: a takes the slot.
    coord.send({ type: 'assign', attempts: [a] });
    await coord.waitMsg('started', (s) => s.attemptId === a.attemptId);
    coord.send({ type: 'assign', attempts: [b] });
    await coord.waitFor(
      () => m.status().running.some((r) => r.attemptId === b.attemptId && r.phase === 'waiting'),
      5000,
      'b staged and waiting',
    );
    return { first, a, b };
  }

  it('buffers one staged attempt while tasks are short and starts it the moment the slot frees', async () => {
    const { a, b } = await bufferedBehind();
    expect(coord.of('started').map((s) => s.attemptId)).not.toContain(b.attemptId);
    await coord.waitMsg('result', (r) => r.attemptId === b.attemptId, 10_000);
    // b started only once a's worker was done with it (one slot, a sleeps 1.5 s), and its
    // result followed a's; nobody was turned away.
    const at = (type: string, id: string) =>
      coord.received.find(
        ({ msg }) => msg.type === type && 'attemptId' in msg && msg.attemptId === id,
      )!.at;
    expect(at('started', b.attemptId) - at('started', a.attemptId)).toBeGreaterThanOrEqual(1400);
    expect(at('result', b.attemptId)).toBeGreaterThanOrEqual(at('result', a.attemptId));
    expect(coord.of('vacate')).toEqual([]);
    expect(creditHeld(3)).toBeLessThanOrEqual(2);
  });

  it('holds nothing beyond its slots once tasks run longer than the prefetch threshold', async () => {
    await startManager({ prefetchBelowMs: 100 });
    const a = assignment('sleep', { ms: 300 });
    coord.send({ type: 'assign', attempts: [a] });
    await coord.waitMsg('result', (r) => r.attemptId === a.attemptId);
    await coord.waitFor(() => coord.of('ready').length === 2, 5000, 'second ready');
    expect(creditHeld(1)).toBe(1);
  });

  it('cancels a buffered attempt before it ever starts', async () => {
    const { first, a, b } = await bufferedBehind();
    coord.send({ type: 'cancel', attemptId: b.attemptId, reason: 'test' });
    const rb = await coord.waitMsg('result', (r) => r.attemptId === b.attemptId);
    expect(rb.state).toBe('cancelled');
    await coord.waitMsg('result', (r) => r.attemptId === a.attemptId, 10_000);
    expect(coord.of('started').map((s) => s.attemptId)).toEqual([first.attemptId, a.attemptId]);
  });

  it('refuses an assignment beyond its slots with vacate', async () => {
    await startManager();
    const [a, b] = [assignment('sleep', { ms: 300 }), assignment('sleep', { ms: 300 })];
    coord.send({ type: 'assign', attempts: [a, b] });
    const vacate = await coord.waitMsg('vacate');
    expect(vacate.attemptId).toBe(b.attemptId);
    await coord.waitMsg('result', (r) => r.attemptId === a.attemptId);
  });

  it('reports a failed result naming the hash mismatch when a blob comes back wrong', async () => {
    const m = await startManager();
    const a = assignment('square', { x: 3 });
    coord.tamper.set(a.module!.sha256, Buffer.from('export default () => 1;'));
    coord.send({ type: 'assign', attempts: [a] });
    const result = await coord.waitMsg('result');
    expect(result.state).toBe('failed');
    expect(result.error).toMatch(/hash mismatch/);
    expect(result.error).toContain(a.module!.sha256);
    expect(coord.of('started')).toEqual([]);
    expect(m.status().running).toEqual([]);
  });

  it('resends an unacknowledged result after a reconnect, and not once acknowledged', async () => {
    const m = await startManager();
    const a = assignment('square', { x: 7 });
    coord.send({ type: 'assign', attempts: [a] });
    await coord.waitMsg('result');
    coord.dropSocket();
    await coord.waitFor(() => coord.of('result', 2).length > 0, 10_000, 'resent result');
    const hello2 = coord.of('hello', 2)[0]!;
    expect(hello2.running).toEqual([{ attemptId: a.attemptId, jobId: 'job1', idx: a.idx }]);
    // Resent before the fresh credit so the coordinator frees the slot first.
    const conn2 = coord.received.filter((r) => r.conn === 2).map((r) => r.msg.type);
    expect(conn2.indexOf('result')).toBeLessThan(conn2.indexOf('ready'));
    coord.send({ type: 'result-ack', attemptId: a.attemptId, accepted: false });
    await coord.waitFor(() => m.status().unacknowledged.length === 0, 5000, 'ack');
    coord.dropSocket();
    await coord.waitFor(() => coord.of('ready', 3).length > 0, 10_000, 'third connection');
    expect(coord.of('result', 3)).toEqual([]);
    expect(coord.of('hello', 3)[0]!.running).toEqual([]);
  });

  it('cancels a busy attempt (one that never ends by itself) and reports it cancelled', async () => {
    await startManager();
    const a = assignment('hang', {});
    coord.send({ type: 'assign', attempts: [a] });
    await coord.waitMsg('started');
    await sleep(200);
    coord.send({ type: 'cancel', attemptId: a.attemptId, reason: 'job cancelled' });
    const result = await coord.waitMsg('result');
    expect(result.state).toBe('cancelled');
  });

  it('never starts an attempt cancelled while its blobs are still coming', async () => {
    await startManager();
    const a = assignment('square', { x: 2 });
    coord.delay.set(a.module!.sha256, 600);
    coord.send({ type: 'assign', attempts: [a] });
    await coord.waitFor(() => coord.blobRequests.length > 0, 5000, 'blob request');
    coord.send({ type: 'cancel', attemptId: a.attemptId, reason: 'job cancelled' });
    const result = await coord.waitMsg('result');
    expect(result.state).toBe('cancelled');
    await sleep(800);
    expect(coord.of('started')).toEqual([]);
    expect(coord.of('result')).toHaveLength(1);
  });

  it('beats at the promised interval with progress of running attempts', async () => {
    await startManager({ heartbeatMs: 100 });
    const a = assignment('progress', { steps: 6 });
    coord.send({ type: 'assign', attempts: [a] });
    await coord.waitMsg('result');
    const beats = coord.received.filter((r) => r.msg.type === 'heartbeat');
    expect(beats.length).toBeGreaterThanOrEqual(4);
    // The typical gap is the interval; a single late beat on a loaded machine is not the promise.
    const gaps = beats.slice(1).map((b, i) => b.at - beats[i]!.at);
    const typical = [...gaps].sort((x, y) => x - y)[Math.floor(gaps.length / 2)]!;
    expect(typical).toBeGreaterThanOrEqual(50);
    expect(typical).toBeLessThan(300);
    const withProgress = coord
      .of('heartbeat')
      .flatMap((h) => h.running)
      .filter((r) => r.attemptId === a.attemptId && r.progress !== undefined);
    expect(withProgress.length).toBeGreaterThan(0);
    const progress = coord.received.filter((r) => r.msg.type === 'progress');
    expect(progress.map((p) => (p.msg as { fraction: number }).fraction).at(-1)).toBe(1);
    // Throttled to at most 5 a second (steps come every 120 ms); the last one is flushed early.
    const spacing = progress.slice(1, -1).map((p, i) => p.at - progress[i]!.at);
    expect(Math.min(...spacing)).toBeGreaterThanOrEqual(150);
    expect(progress.length).toBeLessThan(6);
    expect(coord.of('log').flatMap((l) => l.lines)).toContain('did step 1');
  });

  it('answers a probe, alive false for an unknown attempt', async () => {
    await startManager();
    coord.send({ type: 'probe', attemptId: 'nope.1.1' });
    const reply = await coord.waitMsg('probe-reply');
    expect(reply).toMatchObject({ attemptId: 'nope.1.1', alive: false, suspended: false });
    const a = assignment('hang', {});
    coord.send({ type: 'assign', attempts: [a] });
    await coord.waitMsg('started');
    coord.send({ type: 'probe', attemptId: a.attemptId });
    const live = await coord.waitMsg('probe-reply', (r) => r.attemptId === a.attemptId);
    expect(live.alive).toBe(true);
    coord.send({ type: 'cancel', attemptId: a.attemptId, reason: 'done' });
    await coord.waitMsg('result');
  });

  it('grows on scale and gives the extra slots back after idling', async () => {
    const m = await startManager({ maxSlots: 3, idleShrinkMs: 500 });
    coord.send({ type: 'scale', backlog: 10, slotsOnOffer: 1 });
    await coord.waitFor(() => coord.of('ready').length === 2, 5000, 'ready after scale');
    expect(coord.of('ready').map((r) => r.slots)).toEqual([1, 2]);
    expect(m.status()).toMatchObject({ slots: 3, maxSlots: 3, freeSlots: 3, promised: 3 });
    // Idle: credit cannot be withdrawn, so the manager reconnects with one slot.
    await coord.waitFor(() => coord.of('ready', 2).length > 0, 5000, 'reconnect after idle');
    expect(coord.of('hello', 2)[0]!.caps.slots).toBe(1);
    expect(coord.of('ready', 2)).toEqual([{ type: 'ready', slots: 1, isolation: ISOLATION }]);
    expect(m.status()).toMatchObject({ slots: 1, promised: 1 });
  });

  it('ignores bad frames from the coordinator and keeps working', async () => {
    await startManager();
    coord.raw('not json');
    coord.raw(Buffer.from([1, 2, 3]));
    coord.send({ type: 'nope' });
    coord.send({ type: 'assign', attempts: [{ attemptId: '../../etc' }] });
    coord.send({ type: 'cancel' });
    const a = assignment('square', { x: 4 });
    coord.send({ type: 'assign', attempts: [a] });
    const result = await coord.waitMsg('result');
    expect(result).toMatchObject({ state: 'succeeded', output: { y: 16 } });
    expect(coord.connections).toBe(1);
    expect(logLines.some((l) => l.includes('ignored an invalid message'))).toBe(true);
  });

  it('reconnects after the coordinator restarts on the same port', async () => {
    const m = await startManager();
    const { port } = coord;
    await coord.close();
    await coord.waitFor(() => !m.status().connected, 5000, 'disconnect');
    await sleep(300);
    await coord.listen(port);
    await coord.waitFor(() => coord.of('ready', 2).length > 0, 10_000, 'reconnect');
    expect(coord.of('hello', 2)[0]!.contributorId).toBe(m.contributorId);
    expect(m.status().connected).toBe(true);
  });

  it('backs off slowly when the coordinator refuses the credential', async () => {
    coord.closeOnHello = CLOSE.badCredential;
    const logger = pino({ level: 'info' }, { write: (line: string) => logLines.push(line) });
    manager = new ContributorManager({
      url: coord.url,
      credential: CREDENTIAL,
      dataDir,
      maxSlots: 1,
      allowCommands: false,
      logger,
      reconnect: { minMs: 20, maxMs: 50 },
      refusedRetryMs: 5000,
      supervisor: { workerPath, maxOldSpaceMb: 64 },
    });
    await manager.start();
    await coord.waitFor(() => coord.connections === 1, 5000, 'first connection');
    await sleep(600);
    expect(coord.connections).toBe(1);
    expect(logLines.some((l) => l.includes('refused this contributor'))).toBe(true);
    expect(logLines.join('\n')).not.toContain(CREDENTIAL);
  });
});
