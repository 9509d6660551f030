// Promise (chaos: damaged inputs files): an inputs file runs one task per line whatever its line endings (LF, CRLF, lone CR,
// mixed, no newline at the end); a job whose inputs cannot be extracted fails alone, with its
// reason shown, and the coordinator neither crashes nor crash-loops on restart.
import { createHash } from 'node:crypto';
import { chmod, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobSummary } from '../../shared/api.js';
import { Cluster } from '../integration/helpers/cluster.js';
import { report } from './helpers/scale.js';

const MODULE = 'export default async ({ x }) => ({ double: x * 2 });\n';

function lines(n: number, from = 0): string[] {
  return Array.from({ length: n }, (_, i) => JSON.stringify({ x: from + i }));
}

describe('inputs files', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.create();
    await cluster.startCoordinator();
  });
  afterAll(() => cluster.stop());

  const jobWith = (name: string, inputs: string) =>
    cluster.writeJob(name, {
      'job.yaml': `name: ${name}\nruntime: node\nmodule: ./m.mjs\ntasks:\n  inputsFile: inputs.ndjson\n`,
      'm.mjs': MODULE,
      'inputs.ndjson': inputs,
    });
  const submit = async (file: string) => {
    const res = await cluster.cli(['submit', file, '--json', '--data', cluster.dataDir]);
    expect(res.code, res.stderr).toBe(0);
    return JSON.parse(res.stdout) as JobSummary;
  };

  it('count and run one task per line with LF, CRLF, lone CR, mixed and unterminated endings', async () => {
    const cases: Record<string, string> = {
      lf: lines(5).join('\n') + '\n',
      crlf: lines(5).join('\r\n') + '\r\n',
      cr: lines(5).join('\r') + '\r',
      mixed: `${lines(1)[0]}\r\n${lines(1, 1)[0]}\r${lines(1, 2)[0]}\n\r\n${lines(1, 3)[0]}\r\r${lines(1, 4)[0]}`,
      unterminated: lines(5).join('\n'),
      'unterminated-cr': lines(5).join('\r'),
    };
    await cluster.startContributor('w', 2);
    const ids: Record<string, string> = {};
    let resultCount = 0;
    for (const [name, text] of Object.entries(cases)) {
      const job = await submit(await jobWith(name, text));
      expect(job.taskCount, name).toBe(5);
      ids[name] = job.id;
    }
    for (const [name, id] of Object.entries(ids)) {
      const job = await cluster.waitJob(id);
      expect(job.state, name).toBe('succeeded');
      expect(job.counts.succeeded, name).toBe(5);
      const results = await cluster.results(id);
      resultCount += results.length;
      expect(
        results
          .map((r) => r.output)
          .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
        name,
      ).toEqual([0, 2, 4, 6, 8].map((d) => ({ double: d })));
    }
    report({
      kind: 'inputs file: CRLF / lone CR / mixed / unterminated',
      faults: Object.keys(cases).length,
      jobs: Object.keys(cases).length,
      tasks: resultCount,
      lost: Object.keys(cases).length * 5 - resultCount,
      duplicated: 0,
      wrong: 0,
      recoveryMs: [],
      note: 'one task per line, whatever the line endings',
    });
  });

  it('a job whose inputs cannot be extracted fails alone, with its reason; a restart is clean', async () => {
    // Stop the contributor: nothing is extracted until it comes back.
    for (const c of cluster.contributors.splice(0)) await cluster.kill(c, 'SIGTERM');
    const shortText = lines(6, 100).join('\n') + '\n';
    const badText = lines(6).join('\n') + '\n';
    const short = await submit(await jobWith('short', shortText));
    const bad = await submit(await jobWith('bad', badText));
    // A sweep job that must go on meanwhile.
    const goodFile = await cluster.writeJob('good', {
      'job.yaml':
        'name: good\nruntime: node\nmodule: ./m.mjs\ntasks:\n  sweep:\n    x: { range: [0, 20] }\n',
      'm.mjs': MODULE,
    });
    const good = await submit(goodFile);
    expect(bad.state).toBe('queued');
    // The blobs change on disk behind the coordinator's back (a damaged disk, a bad restore).
    const blob = (text: string) => {
      const sha = createHash('sha256').update(text).digest('hex');
      return join(cluster.dataDir, 'blobs', sha.slice(0, 2), sha);
    };
    await chmod(blob(shortText), 0o600);
    await truncate(blob(shortText), Buffer.byteLength(lines(3, 100).join('\n') + '\n'));
    await chmod(blob(badText), 0o600);
    await writeFile(blob(badText), badText.replace('{"x":2}', '{"x":2 '));
    expect(await readFile(blob(badText), 'utf8')).toContain('{"x":2 \n');
    await cluster.startContributor('w2', 2);
    const s = await cluster.waitJob(short.id);
    expect(s.state).toBe('failed');
    expect(s.error).toMatch(
      /inputs could not be extracted: the inputs file ends after 3 of 6 tasks/,
    );
    // Tasks already extracted ran or were cancelled with the job (one of the first three may still
    // have been running when the fourth was asked for); none counts as a task failure.
    expect(s.counts.failed).toBe(0);
    expect(s.counts.succeeded).toBeLessThanOrEqual(3);
    expect(s.counts.succeeded + s.counts.cancelled).toBe(6);
    const b = await cluster.waitJob(bad.id);
    expect(b.state).toBe('failed');
    expect(b.error).toMatch(/inputs could not be extracted: task 2: line 3 is not JSON/);
    expect((await cluster.waitJob(good.id)).state).toBe('succeeded');
    // What a user sees in `colony job`.
    const shown = await cluster.cli(['job', short.id, '--data', cluster.dataDir]);
    expect(shown.stdout).toMatch(/failed: inputs could not be extracted/);
    // Re-running its tasks cannot help: refused with a clear 409.
    const client = await cluster.client();
    const retry = await client.request('POST', `/jobs/${bad.id}/retry`).catch((e: Error) => e);
    expect(retry).toBeInstanceOf(Error);
    expect((retry as Error).message).toMatch(/failed as a whole/);
    // The coordinator never stopped, and a restart comes back with the jobs failed, not a crash loop.
    expect(cluster.coordinator!.child.exitCode).toBeNull();
    await cluster.kill(cluster.coordinator!, 'SIGTERM');
    await cluster.startCoordinator();
    const after = await (await cluster.client()).json<JobSummary>('GET', `/jobs/${short.id}`);
    expect(after).toMatchObject({ state: 'failed', error: s.error });
    const g = await cluster.waitJob(good.id);
    report({
      kind: 'inputs file damaged after submit',
      faults: 2,
      jobs: 3,
      tasks: 32,
      lost: 20 - g.counts.succeeded,
      duplicated: 0,
      wrong: 0,
      recoveryMs: [],
      note: 'both jobs fail alone with the reason; the other job succeeds; restart clean',
    });
  });

  it('refuses at submit an inputs file with a line that is not JSON or nested too deep, naming the line', async () => {
    const notJson = await cluster.cli([
      'submit',
      await jobWith('nj', `${lines(2).join('\r')}\r{oops\r`),
      '--data',
      cluster.dataDir,
    ]);
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toMatch(/tasks\.inputsFile: line 3 is not JSON/);
    const deep = await cluster.cli([
      'submit',
      await jobWith('deep', `${lines(1)[0]}\r\n${'['.repeat(5000)}${']'.repeat(5000)}\r\n`),
      '--data',
      cluster.dataDir,
    ]);
    expect(deep.code).toBe(2);
    expect(deep.stderr).toMatch(
      /tasks\.inputsFile: line 2 too deep: .*nested more than 128 levels/,
    );
  });
});
