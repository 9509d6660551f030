// Promise: a coordinator and two contributor processes finish real jobs with correct results.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobSummary, TaskRow } from '../../shared/api.js';
import { Cluster } from './helpers/cluster.js';

describe('coordinator with two contributors on loopback', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.create();
    await cluster.startCoordinator();
    await cluster.startContributor('alice', 2, ['--allow-commands']);
    await cluster.startContributor('bob', 2, ['--allow-commands']);
  });
  afterAll(() => cluster.stop());

  it('finishes a 1,000-task node job with every result correct, shared by both machines', async () => {
    const jobFile = await cluster.writeJob('squares', {
      'job.yaml':
        'name: squares\nruntime: node\nmodule: ./square.mjs\ntasks:\n  sweep:\n    x: { range: [0, 1000] }\n',
      'square.mjs': 'export default async ({ x }) => ({ square: x * x });\n',
    });
    const submit = await cluster.cli(['submit', jobFile, '--data', cluster.dataDir]);
    expect(submit.code, submit.stderr).toBe(0);
    const id = submit.stdout.trim();
    const job = await cluster.waitJob(id);
    expect(job.state).toBe('succeeded');
    expect(job.counts).toMatchObject({ succeeded: 1000, failed: 0 });

    const results = await cluster.results(id);
    expect(results).toHaveLength(1000);
    results.forEach((r, i) => {
      expect(r.task).toBe(i);
      expect(r.output).toEqual({ square: i * i });
    });

    const client = await cluster.client();
    const tasks = await client.json<{ tasks: TaskRow[] }>('GET', `/jobs/${id}/tasks?limit=1000`);
    const machines = new Set(tasks.tasks.flatMap((t) => t.attempts.map((a) => a.contributorId)));
    expect(machines.size).toBe(2);
  });

  it('runs a command job and collects its output files', async () => {
    const jobFile = await cluster.writeJob('render', {
      'job.yaml': [
        'name: render',
        'runtime: command',
        'command: ["sh", "-c", "mkdir -p out && echo frame-{frame} > out/frame-{frame}.txt && cat data/base.txt"]',
        'tasks:',
        '  inputs: [{ frame: 1 }, { frame: 2 }, { frame: 3 }]',
        'files: ["data/*.txt"]',
        'outputs: ["out/*.txt"]',
        '',
      ].join('\n'),
      'data/base.txt': 'staged-input\n',
    });
    const submit = await cluster.cli([
      'submit',
      jobFile,
      '--wait',
      '--json',
      '--data',
      cluster.dataDir,
    ]);
    expect(submit.code, submit.stderr).toBe(0);
    const job = JSON.parse(submit.stdout) as JobSummary;
    expect(job.state).toBe('succeeded');
    const results = await cluster.results(job.id);
    expect(results).toHaveLength(3);
    const client = await cluster.client();
    for (const r of results) {
      const out = r.output as {
        exitCode: number;
        stdout: string;
        files: { name: string; sha256: string }[];
      };
      const frame = (r.input as { frame: number }).frame;
      expect(out.exitCode).toBe(0);
      expect(out.stdout).toBe('staged-input\n');
      expect(out.files.map((f) => f.name)).toEqual([`out/frame-${frame}.txt`]);
      const blob = await client.request('GET', `/blobs/${out.files[0]?.sha256}`);
      expect(await blob.text()).toBe(`frame-${frame}\n`);
    }
  });
});
