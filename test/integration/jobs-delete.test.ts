// Promise: a finished job can be deleted (by hand, or --keep-days after it ended) and takes with it
// the blob files only it used; another job's blobs stay; a bad id or a running job is refused with
// a clear error and nothing changes. Real coordinator, contributor and CLI processes.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobSummary } from '../../shared/api.js';
import { PinnedAgent, pinnedFetch } from '../../electron/grid/trust/pinned.js';
import { Cluster, startProc } from './helpers/cluster.js';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const SHARED = 'shared-staged-file\n';
const INPUTS_A = '{"n":1}\n{"n":2}\n';

function commandJob(name: string, tasks: string[], extra: Record<string, string> = {}) {
  return {
    'job.yaml': [
      `name: ${name}`,
      'runtime: command',
      `command: ["sh", "-c", "mkdir -p out && echo ${name}-{n} > out/${name}-{n}.txt && cat data/shared.txt"]`,
      'tasks:',
      ...tasks.map((t) => `  ${t}`),
      'files: ["data/*.txt"]',
      'outputs: ["out/*.txt"]',
      '',
    ].join('\n'),
    'data/shared.txt': SHARED,
    ...extra,
  };
}

describe('deleting jobs', () => {
  let cluster: Cluster;
  const blobFile = (s: string) => join(cluster.dataDir, 'blobs', s.slice(0, 2), s);
  const blobFiles = () =>
    readdirSync(join(cluster.dataDir, 'blobs'))
      .filter((d) => /^[0-9a-f]{2}$/.test(d))
      .flatMap((d) => readdirSync(join(cluster.dataDir, 'blobs', d)))
      .sort();
  const submit = async (name: string, files: Record<string, string>, wait = true) => {
    const res = await cluster.cli([
      'submit',
      await cluster.writeJob(name, files),
      ...(wait ? ['--wait'] : []),
      '--json',
      '--data',
      cluster.dataDir,
    ]);
    expect(res.code, res.stderr).toBe(0);
    return JSON.parse(res.stdout) as JobSummary;
  };
  const cli = (...args: string[]) => cluster.cli([...args, '--data', cluster.dataDir]);
  const outputShas = async (id: string) =>
    (await cluster.results(id)).flatMap((r) =>
      (r.output as { files: { sha256: string }[] }).files.map((f) => f.sha256),
    );

  beforeAll(async () => {
    cluster = await Cluster.create();
    await cluster.startCoordinator();
    await cluster.startContributor('m1', 2, ['--allow-commands']);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it(
    'deletes a finished job and its own blobs, keeps shared ones, refuses bad requests',
    { timeout: 120_000 },
    async () => {
      const a = await submit('a', {
        ...commandJob('a', ['inputsFile: inputs.ndjson']),
        'inputs.ndjson': INPUTS_A,
      });
      const b = await submit('b', commandJob('b', ['inputs: [{ n: 1 }]']));
      expect([a.state, b.state]).toEqual(['succeeded', 'succeeded']);
      const aOwn = [sha(INPUTS_A), ...(await outputShas(a.id))];
      const bOutputs = await outputShas(b.id);
      expect(aOwn).toHaveLength(3);
      for (const s of [...aOwn, ...bOutputs, sha(SHARED)])
        expect(existsSync(blobFile(s)), s).toBe(true);

      // A running job is refused (409), and so are unknown and malformed ids: nothing changes.
      const c = await submit(
        'c',
        {
          'job.yaml':
            'name: c\nruntime: command\ncommand: ["sleep", "60"]\ntasks:\n  inputs: [1]\n',
        },
        false,
      );
      const client = await cluster.client();
      const jobsBefore = JSON.stringify(
        (await client.json<JobSummary[]>('GET', '/jobs')).map((j) => j.id),
      );
      const blobsBefore = blobFiles();
      const running = await cli('jobs', 'delete', c.id);
      expect(running.code).not.toBe(0);
      expect(running.stderr).toMatch(
        new RegExp(`job ${c.id} is (queued|running): cancel it first`),
      );
      const unknown = await cli('jobs', 'delete', 'jnosuchjob');
      expect(unknown.code).not.toBe(0);
      expect(unknown.stderr).toMatch(/no such job/);
      await expect(client.request('DELETE', '/jobs/not%20an%20id!')).rejects.toMatchObject({
        code: 'BAD_INPUT',
      });
      expect(
        JSON.stringify((await client.json<JobSummary[]>('GET', '/jobs')).map((j) => j.id)),
      ).toBe(jobsBefore);
      expect(blobFiles()).toEqual(blobsBefore);

      // A finished job: gone from the API, its own blob files gone from disk, the shared one kept;
      // an open GUI hears of it on its event stream.
      const { fingerprint } = JSON.parse(
        readFileSync(join(cluster.dataDir, 'coordinator.json'), 'utf8'),
      ) as { fingerprint: string };
      const agent = new PinnedAgent(fingerprint);
      const events = await pinnedFetch(agent)(`${cluster.coordinator!.url}/api/v1/events`, {
        headers: { authorization: `Bearer ${(await cluster.identity()).adminToken}` },
      });
      const reader = (events.body as ReadableStream<Uint8Array>).getReader();
      await reader.read(); // ': connected'
      const deleted = await cli('jobs', 'delete', a.id);
      expect(deleted.code, deleted.stderr).toBe(0);
      expect(deleted.stdout).toMatch(new RegExp(`deleted ${a.id} \\(3 blob files`));
      const gone = await cli('job', a.id);
      expect(gone.code).not.toBe(0);
      expect(gone.stderr).toMatch(/no such job/);
      expect((await client.json<JobSummary[]>('GET', '/jobs')).map((j) => j.id)).not.toContain(
        a.id,
      );
      let stream = '';
      for (let i = 0; i < 100 && !stream.includes('event: job-deleted'); i++) {
        const { value, done } = await reader.read();
        if (done) break;
        stream += new TextDecoder().decode(value);
      }
      await reader.cancel();
      agent.destroy();
      expect(stream).toContain(
        `event: job-deleted\ndata: {"type":"job-deleted","jobId":"${a.id}"}`,
      );
      for (const s of aOwn) expect(existsSync(blobFile(s)), s).toBe(false);
      for (const s of [...bOutputs, sha(SHARED)]) expect(existsSync(blobFile(s)), s).toBe(true);
      expect((await cluster.results(b.id)).map((r) => r.task)).toEqual([0]);

      // Cancelled jobs can be deleted; every delete, refused or not, is in the audit log.
      expect((await cli('cancel', c.id)).code).toBe(0);
      expect((await cli('jobs', 'delete', c.id)).code).toBe(0);
      const audit = JSON.parse((await cli('audit', '--json')).stdout) as {
        action: string;
        target: string;
        status: number;
      }[];
      const deletes = audit
        .filter((e) => e.action === 'job.delete')
        .map((e) => `${e.target} ${e.status}`);
      for (const entry of [`${c.id} 409`, 'jnosuchjob 404', `${a.id} 200`, `${c.id} 200`])
        expect(deletes).toContain(entry);
    },
  );

  it('deletes finished jobs --keep-days after they ended, with their blobs, across a restart', async () => {
    const [b] = (await (await cluster.client()).json<JobSummary[]>('GET', '/jobs')).filter(
      (j) => j.name === 'b',
    );
    expect(b).toBeDefined();
    const bOutputs = await outputShas(b!.id);
    await cluster.kill(cluster.coordinator!, 'SIGTERM');
    // A tenth of a second's worth of days: job b ended longer ago than that.
    await cluster.startCoordinator([
      '--keep-days',
      String(0.1 / 86_400),
      '--retention-every',
      '100',
    ]);
    const client = await cluster.client();
    const blobsOfB = [...bOutputs, sha(SHARED)];
    // The job leaves the API once its delete is durable; its blob files go right after.
    let jobs = await client.json<JobSummary[]>('GET', '/jobs');
    for (
      let i = 0;
      i < 100 && (jobs.length > 0 || blobsOfB.some((s) => existsSync(blobFile(s))));
      i++
    ) {
      await new Promise((r) => setTimeout(r, 100));
      jobs = await client.json<JobSummary[]>('GET', '/jobs');
    }
    expect(jobs).toEqual([]);
    for (const s of blobsOfB) expect(existsSync(blobFile(s)), s).toBe(false);
  });

  it('refuses a --keep-days that is not a positive number, before starting', async () => {
    const res = await cluster.cli([
      'coordinator',
      '--data',
      join(cluster.dir, 'other'),
      '--no-mdns',
      '--keep-days',
      '-3',
    ]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/--keep-days: -3 is not a number of days above 0/);
    expect(existsSync(join(cluster.dir, 'other', 'store'))).toBe(false);
  });

  it('colony up --keep-days deletes a finished job once that long has passed; a bad value starts nothing', async () => {
    const dir = join(cluster.dir, 'up');
    for (const bad of ['0', 'soon', '40000']) {
      const res = await cluster.cli(['up', '--data', dir, '--port', '0', '--keep-days', bad]);
      expect(res.code, bad).not.toBe(0);
      expect(res.stderr).toMatch(new RegExp(`--keep-days: ${bad} is not a number of days above 0`));
      expect(existsSync(join(dir, 'store'))).toBe(false);
    }
    // One second's worth of days; the collector then looks every second.
    const up = await startProc(
      ['up', '--data', dir, '--port', '0', '--workers', '1', '--keep-days', String(1 / 86_400)],
      /Colony is up at (\S+)/,
    );
    cluster.procs.push(up);
    const job = await cluster.writeJob('kept-briefly', {
      'job.yaml': 'name: kept-briefly\nruntime: node\nmodule: ./m.mjs\ntasks:\n  inputs: [1, 2]\n',
      'm.mjs': 'export default async (n) => n * 2;\n',
    });
    const done = await cluster.cli(['submit', job, '--wait', '--json', '--data', dir]);
    expect(done.code, done.stderr).toBe(0);
    const { id, state } = JSON.parse(done.stdout) as JobSummary;
    expect(state).toBe('succeeded');
    let shown = await cluster.cli(['job', id, '--data', dir]);
    for (let i = 0; i < 60 && shown.code === 0; i++) {
      await new Promise((r) => setTimeout(r, 250));
      shown = await cluster.cli(['job', id, '--data', dir]);
    }
    expect(shown.code).not.toBe(0);
    expect(shown.stderr).toMatch(/no such job/);
  });
});
