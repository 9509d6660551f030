// Promise: a contributor with a real credential that sends deep, huge, malformed, replayed and
// out-of-order frames and results over the real protocol cannot stop the coordinator or another
// contributor's work: each bad frame is refused (an error frame, a close after repeated abuse), and
// every job completes (or fails with a reason) with each task's result exactly once and right.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from '../integration/helpers/cluster.js';
import { busyJob } from '../integration/helpers/jobs.js';
import { allTasks, double, tally } from './helpers/check.js';
import { ProtocolClient, joinAs, type Target } from './helpers/protocol-client.js';
import { report, scale, sleep } from './helpers/scale.js';

const TASKS = scale(60, 300);
const ROUNDS = scale(2, 10);

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const result = (attemptId: string, output: string) =>
  `{"type":"result","attemptId":${JSON.stringify(attemptId)},"state":"succeeded","output":${output},"wallMs":1,"cpuMs":1}`;

describe('a hostile contributor against a real coordinator process', () => {
  let c: Cluster;
  let target: Target;
  beforeAll(async () => {
    c = await Cluster.create();
    await c.startCoordinator();
    await c.startContributor('honest', 2);
    const { fingerprint } = JSON.parse(
      await readFile(join(c.dataDir, 'coordinator.json'), 'utf8'),
    ) as { fingerprint: string };
    target = { url: c.coordinator!.url, fingerprint, joinSecret: (await c.identity()).joinSecret };
  });
  afterAll(() => c.stop());

  it('refuses every bad frame, fences every stray result, and the grid finishes its work', async () => {
    const jobFile = await c.writeJob(
      'work',
      busyJob('work', TASKS, 20, 'limits: { maxAttempts: 10, timeoutSec: 30 }\n'),
    );
    const submitted = await c.cli(['submit', jobFile, '--data', c.dataDir]);
    expect(submitted.code, submitted.stderr).toBe(0);
    const jobId = submitted.stdout.trim();
    const who = await joinAs(target, 'c-hostile');
    let h = await ProtocolClient.connect(target, who, { heartbeatMs: 2_000 });
    // It keeps its lease alive (heartbeats) while it misbehaves: it is dropped for its frames only.
    const beat = setInterval(() => h.open && h.heartbeat(), 300);
    const counts = { deep: 0, huge: 0, malformed: 0, replayed: 0, outOfOrder: 0 };
    let refusedFrames = 0;
    let closes = 0;
    let fenced = 0;
    const alive = () => {
      expect(c.coordinator!.child.exitCode, c.coordinator!.output()).toBeNull();
      expect(c.contributors[0]!.child.exitCode).toBeNull();
    };
    const fresh = async () => {
      if (!h.open) {
        closes++;
        await h.close();
        h = await ProtocolClient.connect(target, who, { heartbeatMs: 2_000 });
      }
      return h;
    };
    /** Sends a frame the coordinator must refuse: an error frame comes back (or a close). */
    const refused = async (frame: string | Buffer, kind: keyof typeof counts) => {
      const client = await fresh();
      const from = client.messages.length;
      client.sendRaw(frame);
      counts[kind]++;
      const err = await client.waitFor((m) => m.type === 'error', 10_000, from);
      expect(err ?? client.closeCode, `no refusal for a ${kind} frame`).toBeDefined();
      if (err) refusedFrames++;
      alive();
    };
    const tooDeepResults: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // A reconnect (after a close) gives up what the connection held: take work just before use.
      const held: { attemptId: string }[] = [];
      const takeOne = async () => {
        const [a] = await (await fresh()).take(1, 3_000);
        if (a) held.push(a);
        return a;
      };
      const one = await takeOne();
      // Deep: frames nested past the frame limit are refused whole.
      await refused(result(one?.attemptId ?? 'a-x', nested(2_000)), 'deep');
      await refused(result(one?.attemptId ?? 'a-x', nested(100_000)), 'deep');
      await refused(`{"type":"heartbeat","running":${nested(5_000)}}`, 'deep');
      // Within the frame's limit but past a task output's: the attempt fails, "result too deep".
      const two = await takeOne();
      if (two) {
        const client = h;
        client.sendRaw(result(two.attemptId, nested(200)));
        counts.deep++;
        if ((await client.ack(two.attemptId)) === true) tooDeepResults.push(two.attemptId);
      }
      // Huge: a 5 MB string, 1.1 M items, and (once) a frame over the 64 MiB payload limit.
      await refused(result(one?.attemptId ?? 'a-x', JSON.stringify('x'.repeat(5_000_000))), 'huge');
      await refused(result(one?.attemptId ?? 'a-x', `[${'0,'.repeat(1_100_000)}0]`), 'huge');
      if (round === 0) {
        // On a connection of its own: the bad frames above may be closing this one.
        await h.close();
        h = await ProtocolClient.connect(target, who, { heartbeatMs: 2_000 });
        const client = h;
        client.sendRaw(result('a-x', JSON.stringify('y'.repeat(65 * 1024 * 1024))));
        counts.huge++;
        for (let i = 0; i < 500 && client.closeCode === undefined; i++) await sleep(20);
        expect(client.closeCode).toBe(1009); // ws: message too big
        alive();
      }
      // Malformed.
      for (const frame of [
        'not json',
        '{"type":"result"',
        '{"type":"nope"}',
        '[]',
        '{"type":"ready","slots":-1}',
        '{"type":"result","attemptId":"a b","state":"succeeded","wallMs":1,"cpuMs":1}',
        '{"__proto__":{"type":"ready"}}',
      ])
        await refused(frame, 'malformed');
      await refused(Buffer.from([0, 1, 2, 3]), 'malformed');
      // Replayed: a good result, then the same again; results for attempts it never held.
      const three = await takeOne();
      if (three) {
        const client = h;
        const output = JSON.stringify(double(three.input));
        client.sendRaw(result(three.attemptId, output));
        expect(await client.ack(three.attemptId)).toBe(true);
        client.sendRaw(result(three.attemptId, output));
        counts.replayed++;
        const acks = () =>
          client.messages.filter((m) => m.type === 'result-ack' && m.attemptId === three.attemptId);
        for (let i = 0; i < 100 && acks().length < 2; i++) await sleep(10);
        expect(acks().map((m) => m.type === 'result-ack' && m.accepted)).toEqual([true, false]);
        // Other contributors' attempt ids (they are short counters): fenced, never recorded.
        const [epoch, n] = three.attemptId.split('-') as [string, string];
        for (let k = 1; k <= 5; k++) {
          const other = `${epoch}-${(parseInt(n, 36) - k).toString(36)}`;
          if (held.some((x) => x.attemptId === other)) continue;
          client.sendRaw(result(other, '{"double":-1}'));
          client.sendJson({ type: 'vacate', attemptId: other, reason: 'hostile' });
          client.sendJson({
            type: 'probe-reply',
            attemptId: other,
            alive: false,
            cpuMs: 0,
            suspended: false,
          });
          counts.replayed += 3;
          const ack = await client.ack(other);
          expect(ack).toBe(false);
          fenced++;
        }
      }
      // Out of order: started/progress after the end, hello twice (closes), ready past any reason.
      if (one) {
        const client = await fresh();
        client.sendJson({ type: 'started', attemptId: three?.attemptId ?? one.attemptId });
        client.sendJson({ type: 'progress', attemptId: 'a-unknown', fraction: 0.5 });
        client.sendJson({ type: 'log', attemptId: 'a-unknown', lines: ['x'] });
        client.sendJson({ type: 'ready', slots: 4096 });
        counts.outOfOrder += 4;
        await sleep(100);
        alive();
      }
      await refused(
        JSON.stringify({
          type: 'hello',
          protocol: 1,
          contributorId: who.contributorId,
          name: 'again',
          caps: {
            cores: 1,
            memoryMb: 1,
            platform: 'linux',
            arch: 'x64',
            runtimes: ['node'],
            tags: [],
            slots: 1,
          },
          heartbeatMs: 2_000,
          running: [],
        }),
        'outOfOrder',
      );
      // Whatever it took and did not answer is re-queued when it goes (lease, or its reconnect).
      await h.close();
    }
    clearInterval(beat);
    await h.close();
    alive();
    // The honest contributor finishes everything; the job's results are each there once, right.
    const job = await c.waitJob(jobId, 120_000);
    expect(job.state).toBe('succeeded');
    const t = await tally(c, jobId, TASKS, double);
    expect([t.lost, t.duplicated, t.wrong]).toEqual([0, 0, 0]);
    const tasks = await allTasks(c, jobId);
    const attempts = tasks.flatMap((x) => x.attempts);
    for (const id of tooDeepResults) {
      const a = attempts.find((x) => x.attemptId === id);
      expect(a?.state).toBe('failed');
      expect(a?.error).toMatch(/^result too deep: output(\[0\])+.*: nested more than 128 levels$/);
    }
    expect(
      attempts.filter((a) => a.state === 'succeeded' && a.contributorId !== who.contributorId)
        .length,
    ).toBeGreaterThan(TASKS / 2);
    expect(refusedFrames).toBeGreaterThan(0);
    expect(tooDeepResults.length).toBeGreaterThan(0);
    // And a next job runs as usual.
    const next = await c.cli([
      'submit',
      await c.writeJob('next', busyJob('next', 10, 0)),
      '--wait',
      '--data',
      c.dataDir,
    ]);
    expect(next.code, next.stderr).toBe(0);
    alive();
    const note = `${refusedFrames} error frames, ${closes} closes, ${fenced} stray results fenced`;
    for (const [kind, n] of Object.entries(counts))
      report({
        kind: `hostile contributor: ${kind} frames`,
        faults: n,
        jobs: kind === 'deep' ? 2 : 0,
        tasks: kind === 'deep' ? TASKS + 10 : 0,
        lost: kind === 'deep' ? t.lost : 0,
        duplicated: kind === 'deep' ? t.duplicated : 0,
        wrong: kind === 'deep' ? t.wrong : 0,
        recoveryMs: [],
        note:
          kind === 'deep'
            ? `${note}; ${tooDeepResults.length} attempts failed "result too deep"`
            : 'refused; coordinator and honest contributor kept working',
      });
  });
});
