// Promise (docs/promises.md) under storage faults: a torn last journal record, a corrupt newest snapshot and a
// full disk while journaling lose no acknowledged job or result; a full disk refuses new work (503).
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { appendFile, mkdir, open, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobSummary } from '../../shared/api.js';
import { Cluster } from '../integration/helpers/cluster.js';
import { busyJob } from '../integration/helpers/jobs.js';
import { double, tally } from './helpers/check.js';
import { rawApi } from './helpers/raw.js';
import { report, sleep } from './helpers/scale.js';

const clusters: Cluster[] = [];
afterEach(async () => {
  for (const c of clusters.splice(0)) await c.stop();
});

async function grid(coordinatorArgs: string[] = []): Promise<Cluster> {
  const c = await Cluster.create();
  clusters.push(c);
  await c.startCoordinator(coordinatorArgs);
  await c.startContributor('w', 2);
  return c;
}

async function submit(c: Cluster, name: string, count: number, ms = 0): Promise<string> {
  const res = await c.cli([
    'submit',
    await c.writeJob(name, busyJob(name, count, ms)),
    '--data',
    c.dataDir,
  ]);
  expect(res.code, res.stderr).toBe(0);
  return res.stdout.trim();
}

/** Jobs and their results, as the API shows them: what a restart must give back unchanged. */
async function state(c: Cluster) {
  const jobs = await (await c.client()).json<JobSummary[]>('GET', '/jobs');
  const results: Record<string, unknown[]> = {};
  for (const j of jobs) results[j.id] = await c.results(j.id);
  return { jobs: jobs.map((j) => ({ id: j.id, state: j.state, counts: j.counts })), results };
}

async function restart(c: Cluster, args: string[] = []): Promise<number> {
  const at = Date.now();
  await c.startCoordinator(args);
  return Date.now() - at;
}

describe('storage faults at the coordinator', () => {
  it('a torn last journal record: restart gives back the same state', async () => {
    const c = await grid();
    const id = await submit(c, 'torn', 200);
    await c.waitJob(id);
    const before = await state(c);
    await c.kill(c.coordinator!);
    const store = join(c.dataDir, 'store');
    const segments = (await readdir(store)).filter((f) => f.startsWith('journal-')).sort();
    const last = join(store, segments[segments.length - 1] as string);
    const size = (await stat(last)).size;
    await appendFile(last, '1a2b3c4d {"seq":999999,"data":{"t":"job.sub');
    const ms = await restart(c);
    expect(await state(c)).toEqual(before);
    // The torn tail was cut off (new records follow the good ones), and new work goes on.
    const text = await readFile(last, 'utf8');
    expect(text.length).toBeGreaterThanOrEqual(size);
    expect(text).not.toContain('999999');
    const next = await submit(c, 'after', 20);
    expect((await c.waitJob(next)).state).toBe('succeeded');
    const t = await tally(c, id, 200, double);
    report({
      kind: 'torn last journal record',
      faults: 1,
      jobs: 2,
      tasks: 220,
      lost: t.lost,
      duplicated: t.duplicated,
      wrong: t.wrong,
      recoveryMs: [ms],
      note: 'restart → serving',
    });
    expect([t.lost, t.duplicated, t.wrong]).toEqual([0, 0, 0]);
  });

  it('a corrupt newest snapshot: falls back to the previous one plus the journal', async () => {
    const c = await grid(['--snapshot-every', '100']);
    const id = await submit(c, 'snap', 300);
    await c.waitJob(id);
    const before = await state(c);
    await c.kill(c.coordinator!);
    const store = join(c.dataDir, 'store');
    const snaps = (await readdir(store)).filter((f) => /^snapshot-\d+\.db$/.test(f)).sort();
    expect(snaps.length).toBeGreaterThanOrEqual(2);
    const newest = join(store, snaps[snaps.length - 1] as string);
    const fh = await open(newest, 'r+');
    const { size } = await fh.stat();
    await fh.write(Buffer.from('garbage!'.repeat(64)), 0, 512, Math.floor(size / 2));
    await fh.close();
    const ms = await restart(c, ['--snapshot-every', '100']);
    expect(await state(c)).toEqual(before);
    const t = await tally(c, id, 300, double);
    report({
      kind: 'corrupt newest snapshot',
      faults: 1,
      jobs: 1,
      tasks: 300,
      lost: t.lost,
      duplicated: t.duplicated,
      wrong: t.wrong,
      recoveryMs: [ms],
      note: 'restart → serving (previous snapshot + journal)',
    });
    expect([t.lost, t.duplicated, t.wrong]).toEqual([0, 0, 0]);
  });

  it('disk full while journaling: new work gets a clear 503, nothing is corrupted', async (ctx) => {
    const c = await Cluster.create();
    clusters.push(c);
    await mkdir(c.dataDir, { recursive: true });
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', c.dataDir], {
        stdio: 'pipe',
      });
    } catch {
      console.warn(
        'skipping disk-full test: cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN)',
      );
      ctx.skip();
      return;
    }
    try {
      // Once the journal fails it serves reads for 4 s (so the refusals below can be seen), then stops.
      await c.startCoordinator(['--fail-stop-after', '4000']);
      await c.startContributor('w', 2);
      const first = await submit(c, 'first', 100, 20);
      const api = await rawApi(c);
      // The module is already uploaded, so the next POST /jobs only needs the journal.
      const moduleText = busyJob('x', 1, 0)['busy.mjs'] as string;
      const module = {
        name: 'busy.mjs',
        sha256: createHash('sha256').update(moduleText).digest('hex'),
        size: Buffer.byteLength(moduleText),
      };
      // Results shown now were durable (given a moment for the group commit): they must survive.
      for (let i = 0; i < 100 && (await c.results(first)).length < 10; i++) await sleep(50);
      const acked = await c.results(first);
      await sleep(200);
      // Fill the disk, leaving no page for the journal.
      const filler = join(c.dataDir, 'filler');
      const chunk = Buffer.alloc(64 * 1024, 1);
      const fh = await open(filler, 'w');
      try {
        for (let i = 0; i < 1000; i++) await fh.write(chunk);
      } catch (err) {
        expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
      } finally {
        await fh.close();
      }
      const jobsBefore = await (await c.client()).json<JobSummary[]>('GET', '/jobs');
      const spec = (i: number) =>
        JSON.stringify({
          name: `refused-${i}`,
          runtime: 'node',
          module,
          tasks: {
            inputs: Array.from({ length: 2000 }, (_, x) => ({ x, ms: 0, pad: 'p'.repeat(20) })),
          },
        });
      const refusals: { status: number; body: unknown }[] = [];
      for (let i = 0; i < 3; i++) refusals.push(await api('POST', '/jobs', spec(i)));
      for (const r of refusals) {
        expect(r.status).toBe(503);
        expect(r.body).toMatchObject({ error: { code: 'STORE_UNAVAILABLE' } });
        expect((r.body as { error: { message: string } }).error.message).toMatch(
          /disk|store|space/i,
        );
      }
      // Nothing the client was refused shows up, and the coordinator still answers reads.
      const jobsAfter = await (await c.client()).json<JobSummary[]>('GET', '/jobs');
      expect(jobsAfter.map((j) => j.id)).toEqual(jobsBefore.map((j) => j.id));
      expect((await api('GET', '/health', undefined, 'application/json', null)).status).toBe(200);

      // It cannot go on: it stops by itself, non-zero, with one line saying why.
      const coordinator = c.coordinator!;
      expect(await coordinator.exited).toBe(1);
      expect(coordinator.output()).toMatch(
        /colony coordinator: stopping: the job store failed \(journal write failed: ENOSPC[^\n]*\)[^\n]*restart the coordinator/,
      );
      const lastLine = coordinator.output().trim().split('\n').pop();
      expect(lastLine).toMatch(/^colony coordinator: stopping: the job store failed/);
      expect(coordinator.output()).not.toMatch(/uncaught|RangeError/);
      // Free the space and restart: every acknowledged job and result is intact, and work goes on.
      await writeFile(filler, '');
      const ms = await restart(c);
      const jobs = await (await c.client()).json<JobSummary[]>('GET', '/jobs');
      expect(jobs.map((j) => j.id)).toEqual([first]);
      const now = await c.results(first);
      for (const r of acked) expect(now).toContainEqual(r);
      expect((await c.waitJob(first)).state).toBe('succeeded');
      const t = await tally(c, first, 100, double);
      report({
        kind: 'disk full while journaling',
        faults: 1,
        jobs: 1,
        tasks: 100,
        lost: t.lost,
        duplicated: t.duplicated,
        wrong: t.wrong,
        recoveryMs: [ms],
        note: `${refusals.length} submits refused 503 with the reason; fail-stop exit 1; restart → serving`,
      });
      expect([t.lost, t.duplicated, t.wrong]).toEqual([0, 0, 0]);
    } finally {
      for (const p of c.procs) await c.kill(p);
      await sleep(100);
      execFileSync('umount', [c.dataDir], { stdio: 'pipe' });
    }
  });
});
