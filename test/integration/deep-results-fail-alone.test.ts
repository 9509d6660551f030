// Promise: a task whose output is nested too deep (or too large) fails with a clear error; the
// coordinator and the contributor stay up and other tasks of the grid go on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobSummary, TaskRow } from '../../shared/api.js';
import { Cluster } from './helpers/cluster.js';

describe('a task output nested 2,000 deep', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.create();
    await cluster.startCoordinator();
    await cluster.startContributor('alice', 2);
  });
  afterAll(() => cluster.stop());

  it('fails its task with "result too deep", and the grid keeps working', async () => {
    const jobFile = await cluster.writeJob('deep', {
      'job.yaml': [
        'name: deep',
        'runtime: node',
        'module: ./deep.mjs',
        'tasks:',
        '  inputs: [{ depth: 2000 }, { depth: 100000 }, { depth: 3 }]',
        'limits: { timeoutSec: 20, maxAttempts: 2 }',
        '',
      ].join('\n'),
      'deep.mjs': [
        'export default async ({ depth }) => {',
        '  let v = [];',
        '  for (let i = 1; i < depth; i++) v = [v];',
        '  return v;',
        '};',
        '',
      ].join('\n'),
    });
    const submit = await cluster.cli([
      'submit',
      jobFile,
      '--wait',
      '--json',
      '--data',
      cluster.dataDir,
    ]);
    expect(submit.code, submit.stderr).toBe(1);
    const job = JSON.parse(submit.stdout) as JobSummary;
    expect(job.state).toBe('failed');
    expect(job.counts).toMatchObject({ succeeded: 1, failed: 2 });
    const client = await cluster.client();
    const { tasks } = await client.json<{ tasks: TaskRow[] }>('GET', `/jobs/${job.id}/tasks`);
    for (const idx of [0, 1]) {
      const task = tasks.find((t) => t.idx === idx)!;
      expect(task.state).toBe('failed');
      expect(task.error).toMatch(/too deep/);
      // Deterministic: every attempt failed the same way, and no more than maxAttempts were made.
      expect(task.attempts.map((a) => a.state)).toEqual(['failed', 'failed']);
    }
    // A task that skips the worker's own check and writes a deep result to the IPC channel itself
    // (1,000 deep: Node can still serialise it): the manager refuses it the same way.
    const bypass = await cluster.writeJob('bypass', {
      'job.yaml': [
        'name: bypass',
        'runtime: node',
        'module: ./bypass.mjs',
        'tasks:',
        '  inputs: [1]',
        'limits: { timeoutSec: 20, maxAttempts: 1 }',
        '',
      ].join('\n'),
      'bypass.mjs': [
        "import { basename } from 'node:path';",
        'export default async (_x, ctx) => {',
        '  let v = [];',
        '  for (let i = 1; i < 1000; i++) v = [v];',
        "  process.send({ type: 'done', attemptId: basename(ctx.workdir), output: v, cpuMs: 0 });",
        '  await new Promise((r) => setTimeout(r, 200));',
        '  return 1;',
        '};',
        '',
      ].join('\n'),
    });
    const sent = await cluster.cli([
      'submit',
      bypass,
      '--wait',
      '--json',
      '--data',
      cluster.dataDir,
    ]);
    expect(sent.code, sent.stderr).toBe(1);
    const bypassJob = JSON.parse(sent.stdout) as JobSummary;
    const bypassTasks = await client.json<{ tasks: TaskRow[] }>(
      'GET',
      `/jobs/${bypassJob.id}/tasks`,
    );
    expect(bypassTasks.tasks[0]?.error).toMatch(
      /^result too deep: output(\[0\])+.*nested more than 128 levels/,
    );
    // Both processes are still up, and a next job runs.
    expect(cluster.coordinator!.child.exitCode).toBeNull();
    expect(cluster.contributors[0]!.child.exitCode).toBeNull();
    const next = await cluster.writeJob('next', {
      'job.yaml': 'name: next\nruntime: node\nmodule: ./m.mjs\ntasks:\n  inputs: [1, 2, 3]\n',
      'm.mjs': 'export default async (x) => x * 2;\n',
    });
    const ok = await cluster.cli(['submit', next, '--wait', '--json', '--data', cluster.dataDir]);
    expect(ok.code, ok.stderr).toBe(0);
  });
});
