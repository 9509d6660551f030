// Promise: results come back as people use them — output files byte for byte (resumably), each
// attempt's stdout / stderr / ctx.log after it ended, a failing job's errors and exit code — and
// mistakes are refused at submit with a sentence naming the field.
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobSummary, TaskRow } from '../../shared/api.js';
import { Cluster } from './helpers/cluster.js';
import { nodeForCommands } from './helpers/jobs.js';

const NODE = JSON.stringify(nodeForCommands());

/** What task `n` writes: a 300 kB binary file and a small text file in a sub-folder. */
function binary(n: number): Buffer {
  const b = Buffer.alloc(300_000);
  for (let i = 0; i < b.length; i++) b[i] = (i * (n + 3) + 7) % 256;
  return b;
}
const small = (n: number) => `frame ${n}\n\tdone "ok" ✓\n`;

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) out.push(join(e.parentPath, e.name).slice(dir.length + 1));
  return out.sort();
}

const allBadId = (stdout: string) => /^submitted job (j\w+)/.exec(stdout)?.[1] as string;

describe('results people can use', () => {
  let cluster: Cluster;
  let data: string[];
  beforeAll(async () => {
    cluster = await Cluster.create();
    await cluster.startCoordinator();
    await cluster.startContributor('alice', 2, ['--allow-commands']);
    data = ['--data', cluster.dataDir];
  });
  afterAll(() => cluster.stop());

  const submit = async (folder: string, files: Record<string, string>, extra: string[] = []) => {
    const jobFile = await cluster.writeJob(folder, files);
    return cluster.cli(['submit', jobFile, ...extra, ...data]);
  };

  it('colony outputs writes every output file byte for byte, and resumes', async () => {
    const script = [
      "const fs = require('fs'); const n = Number(process.argv[1]);",
      "fs.mkdirSync('out/sub', { recursive: true });",
      'const b = Buffer.alloc(300000); for (let i = 0; i < b.length; i++) b[i] = (i * (n + 3) + 7) % 256;',
      "fs.writeFileSync('out/frame' + n + '.bin', b);",
      // (string concatenation: a `{n}` in the script would be filled as a placeholder)
      "fs.writeFileSync('out/sub/note.txt', 'frame ' + n + '\\n\\tdone \"ok\" ✓\\n');",
    ].join(' ');
    const res = await submit(
      'frames',
      {
        'job.yaml': [
          'name: frames',
          'runtime: command',
          `command: [${NODE}, "-e", ${JSON.stringify(script)}, "{n}"]`,
          'tasks:',
          '  sweep: { n: { range: [0, 6] } }',
          "outputs: ['out/**']",
          '',
        ].join('\n'),
      },
      ['--wait', '--json'],
    );
    expect(res.stderr).toMatch(/^submitted job j\w+/);
    expect(res.code).toBe(0);
    const job = JSON.parse(res.stdout) as JobSummary;

    const out = join(cluster.dir, 'frames-out');
    const first = await cluster.cli(['outputs', job.id, '--out', out, ...data]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('12 files written');
    const expected = Array.from({ length: 6 }, (_, n) => [
      `${n}/out/frame${n}.bin`,
      `${n}/out/sub/note.txt`,
    ])
      .flat()
      .sort();
    expect(await filesUnder(out)).toEqual(expected);
    for (let n = 0; n < 6; n++) {
      expect((await readFile(join(out, `${n}/out/frame${n}.bin`))).equals(binary(n))).toBe(true);
      expect(await readFile(join(out, `${n}/out/sub/note.txt`), 'utf8')).toBe(small(n));
    }

    // Resume: what is there with the right hash is kept; a damaged and a missing file come back.
    await writeFile(join(out, '2/out/frame2.bin'), 'damaged');
    await rm(join(out, '4/out/sub/note.txt'));
    const again = await cluster.cli(['outputs', job.id, '--out', out, ...data]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('2 files written');
    expect(again.stdout).toContain('10 already there');
    expect(sha(await readFile(join(out, '2/out/frame2.bin')))).toBe(sha(binary(2)));
    expect(await readFile(join(out, '4/out/sub/note.txt'), 'utf8')).toBe(small(4));
    expect(await filesUnder(out)).toEqual(expected); // no temp files left behind

    const one = await cluster.cli(['outputs', job.id, '--task', '3', '--out', `${out}-3`, ...data]);
    expect(one.code).toBe(0);
    expect(await filesUnder(`${out}-3`)).toEqual(['3/out/frame3.bin', '3/out/sub/note.txt']);
  });

  it("colony logs prints a finished task's stdout as printed, stderr and ctx.log lines", async () => {
    const long = 'x'.repeat(10_000);
    const cmd = await submit(
      'talk',
      {
        'job.yaml': [
          'name: talk',
          'runtime: command',
          `command: [${NODE}, "-e", ${JSON.stringify(`process.stdout.write('tab\\there "quoted" ✓\\n${long}\\nno newline at the end'); console.error('to stderr'); process.exit(Number(process.argv[1]))`)}, "{code}"]`,
          'tasks:',
          '  inputs: [{ code: 0 }, { code: 3 }]',
          'limits: { maxAttempts: 1 }',
          '',
        ].join('\n'),
      },
      ['--wait', '--json'],
    );
    const cmdJob = JSON.parse(cmd.stdout) as JobSummary;
    const printed = `tab\there "quoted" ✓\n${long}\nno newline at the end`;
    for (const task of ['0', '1']) {
      // The failed task's stdout is kept too.
      const out = await cluster.cli(['logs', cmdJob.id, task, '--stream', 'stdout', ...data]);
      expect(out.code).toBe(0);
      expect(out.stdout).toBe(`${printed}\n`);
    }
    const all = await cluster.cli(['logs', cmdJob.id, '1', ...data]);
    expect(all.stdout).toContain('--- stdout (attempt 1, failed) ---');
    expect(all.stdout).toContain('--- stderr (attempt 1, failed) ---\nto stderr\n');

    const node = await submit(
      'chatty',
      {
        'job.yaml':
          'name: chatty\nruntime: node\nmodule: ./chatty.mjs\ntasks:\n  inputs: [{ x: 1 }]\n',
        'chatty.mjs': [
          'export default async ({ x }, ctx) => {',
          "  ctx.log('reading', x, { deep: [1, 2] });",
          "  console.log('plain stdout line');",
          "  ctx.log('done');",
          '  return x;',
          '};',
          '',
        ].join('\n'),
      },
      ['--wait', '--json'],
    );
    const nodeJob = JSON.parse(node.stdout) as JobSummary;
    const logs = await cluster.cli(['logs', nodeJob.id, '0', ...data]);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain('--- stdout (attempt 1, succeeded) ---\nplain stdout line\n');
    expect(logs.stdout).toMatch(
      /--- ctx\.log \(attempt 1, succeeded\) ---\nreading 1 \{ deep: \[ 1, 2 \] \}\ndone\n/,
    );

    // The API the GUI reads: the same text, and the attempt row says where it is kept.
    const client = await cluster.client();
    const { task } = await client.json<{ task: TaskRow }>('GET', `/jobs/${cmdJob.id}/tasks/1`);
    expect(task.attempts[0]?.exitCode).toBe(3);
    expect(task.attempts[0]?.logs?.stdout?.size).toBe(Buffer.byteLength(printed));
    const ok = await client.json<{ task: TaskRow }>('GET', `/jobs/${cmdJob.id}/tasks/0`);
    expect(ok.task.attempts[0]?.exitCode).toBe(0); // exit 0 is reported, not left blank

    // --follow waits for the task to start, prints its lines while it runs, and ends with it.
    const ticking = await submit('ticking', {
      'job.yaml': 'name: ticking\nruntime: node\nmodule: ./t.mjs\ntasks:\n  inputs: [12]\n',
      't.mjs':
        "export default async (n, ctx) => { for (let i = 0; i < n; i++) { ctx.log('tick ' + i); await new Promise((r) => setTimeout(r, 150)); } return n; };\n",
    });
    const follow = await cluster.cli(['logs', ticking.stdout.trim(), '0', '--follow', ...data]);
    expect(follow.code).toBe(0);
    // Every line once, in order: the live ones, then those written after the last poll.
    expect(follow.stdout.split('\n').filter((l) => l.startsWith('tick '))).toEqual(
      Array.from({ length: 12 }, (_, i) => `tick ${i}`),
    );
    expect(follow.stdout).toMatch(/ended: succeeded|--- ctx\.log/);

    // Bad requests to the logs route: a sentence and a 4xx, never a crash.
    for (const [path, status] of [
      [`/jobs/${nodeJob.id}/tasks/abc/logs`, 400],
      [`/jobs/${nodeJob.id}/tasks/-1/logs`, 400],
      [`/jobs/${nodeJob.id}/tasks/0/logs?attempt=0`, 400],
      [`/jobs/${nodeJob.id}/tasks/0/logs?attempt=x`, 400],
      [`/jobs/${nodeJob.id}/tasks/0/logs?colour=red`, 400],
      [`/jobs/${nodeJob.id}/tasks/0/logs?attempt=2`, 404],
      [`/jobs/${nodeJob.id}/tasks/99999999999/logs`, 404],
      ['/jobs/jnope0000/tasks/0/logs', 404],
      ['/jobs/..%2F..%2Fetc/tasks/0/logs', 400],
    ] as const) {
      const res = await client.request('GET', path).catch((e: unknown) => e as Error);
      expect(res, path).toBeInstanceOf(Error);
      expect((res as Error).message, path).not.toMatch(/internal|Too small|Invalid input/i);
      const code = (res as unknown as { code: string }).code;
      expect(code, path).toBe(status === 400 ? 'BAD_INPUT' : 'NOT_FOUND');
    }

    const missing = await cluster.cli(['logs', nodeJob.id, '7', ...data]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('has no task 7');
  });

  it('submit --wait on a failing job prints the id first, counts failed apart, ends with the errors and exits 1', async () => {
    const res = await submit(
      'half-bad',
      {
        'job.yaml':
          'name: half-bad\nruntime: node\nmodule: ./m.mjs\ntasks:\n  sweep: { x: { range: [0, 4] } }\nlimits: { maxAttempts: 1 }\n',
        'm.mjs': [
          'export default async ({ x }) => {',
          "  if (x % 2) throw new Error('frame ' + x + ' has no camera');",
          '  return x;',
          '};',
          '',
        ].join('\n'),
      },
      ['--wait'],
    );
    expect(res.code).toBe(1);
    const lines = res.stdout.split('\n');
    const id = /^submitted job (j\w+)/.exec(lines[0] ?? '')?.[1];
    expect(id).toBeDefined();
    expect(res.stdout).toContain('tasks: 2 done, 2 failed of 4');
    expect(res.stdout).toMatch(
      /first errors:\n {2}task 1: frame 1 has no camera \(at \.\/m\.mjs:2:\d+\)\n {2}task 3: frame 3/,
    );
    expect(res.stdout).not.toMatch(/modules\/|[0-9a-f]{64}/); // no blob-cache paths

    const job = await cluster.cli(['job', id as string, ...data]);
    expect(job.code).toBe(1);
    expect(job.stdout).toContain('task 1: frame 1 has no camera');

    const tasks = await cluster.cli(['tasks', id as string, '--state', 'failed', ...data]);
    expect(tasks.code).toBe(0);
    expect(tasks.stdout.trim().split('\n')).toHaveLength(3); // header + 2 tasks
    expect(tasks.stdout).toMatch(/\n\s+1\s+failed\s+1\s+\S+\s+\S+\s+frame 1 has no camera/);

    const allBad = await submit(
      'all-bad',
      {
        'job.yaml':
          'name: all-bad\nruntime: node\nmodule: ./m.mjs\ntasks:\n  inputs: [1, 2]\nlimits: { maxAttempts: 1 }\n',
        'm.mjs': "export default async () => { throw new Error('nope'); };\n",
      },
      ['--wait'],
    );
    expect(allBad.code).toBe(1);
    expect(allBad.stdout).toContain('0 done, 2 failed of 2');
    expect(allBad.stdout).not.toMatch(/tasks? (done)?\/s/); // no throughput claimed for failures

    const retry = await cluster.cli(['retry', id as string, ...data]);
    expect(retry.code).toBe(0);
    expect(retry.stdout).toContain('re-running 2 failed tasks');
    const finished = await cluster.cli(['priority', allBadId(allBad.stdout), '7', ...data]);
    expect(finished.code).toBe(1);
    expect(finished.stderr).toContain('is not queued or running');

    const slow = await submit('slow', {
      'job.yaml': 'name: slow\nruntime: node\nmodule: ./m.mjs\ntasks:\n  inputs: [1]\n',
      'm.mjs':
        'export default (x, ctx) => new Promise((resolve) => { const t = setTimeout(resolve, 60000, x); ctx.signal.addEventListener("abort", () => { clearTimeout(t); resolve(x); }); });\n',
    });
    const slowId = slow.stdout.trim();
    const prio = await cluster.cli(['priority', slowId, '7', ...data]);
    expect(prio.stdout).toContain('now has priority 7');
    const badPrio = await cluster.cli(['priority', slowId, 'high', ...data]);
    expect(badPrio.stderr).toContain('not a whole number from -1000 to 1000');
    await cluster.cli(['cancel', slowId, ...data]);
    expect(badPrio.code).toBe(2);
  });

  it('refuses a placeholder typo at submit with exit 2 naming it, and stores nothing', async () => {
    const before = await cluster.cli(['jobs', '--json', ...data]);
    const count = (JSON.parse(before.stdout) as unknown[]).length;
    const typo = await submit('typo', {
      'job.yaml':
        'name: typo\nruntime: command\ncommand: ["echo", "{fram}"]\ntasks:\n  sweep: { frame: [1, 2], scene: [a] }\n',
    });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain(
      'command: {fram} is not a field of the task inputs (known fields: frame, scene)',
    );

    const fromFile = await submit('typo-file', {
      'job.yaml':
        'name: typo\nruntime: command\ncommand: ["echo", "{frame}"]\ntasks:\n  inputsFile: in.ndjson\n',
      'in.ndjson': '{"frame": 1}\r\n{"frame": 2}\r\n{"fram": 3}', // CRLF, no last line end
    });
    expect(fromFile.code).toBe(2);
    expect(fromFile.stderr).toContain('tasks.inputsFile line 3 has no field "frame"');

    // The coordinator checks too (a client that skips the CLI's check).
    const client = await cluster.client();
    const err = await client
      .json('POST', '/jobs', {
        name: 'raw',
        runtime: 'command',
        command: ['echo', '{frame}'],
        tasks: { inputs: [{ frame: 1 }, { scene: 'a' }] },
      })
      .catch((e: unknown) => e as Error & { code: string });
    expect((err as { code: string }).code).toBe('BAD_INPUT');
    expect((err as Error).message).toContain('tasks.inputs.1 has no field "frame"');

    const syntax = await submit('syntax', {
      'job.yaml': 'name: syntax\nruntime: node\nmodule: ./broken.mjs\ntasks:\n  inputs: [1]\n',
      'broken.mjs': 'export default async (x) => {\n  const y = ;\n  return y;\n};\n',
    });
    expect(syntax.code).toBe(2);
    expect(syntax.stderr).toContain('module: ./broken.mjs line 2, column 13: Unexpected token');

    const after = await cluster.cli(['jobs', '--json', ...data]);
    expect((JSON.parse(after.stdout) as unknown[]).length).toBe(count);
  });

  it('says what is wrong, and how to fix it, in sentences', async () => {
    const empty = await submit('empty-name', {
      'job.yaml': "name: ''\nruntime: node\nmodule: ./m.mjs\ntasks:\n  inputs: [1]\ncolour: red\n",
      'm.mjs': 'export default async (x) => x;\n',
    });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('name: must not be empty');
    expect(empty.stderr).toContain('colour: is not a known field');
    expect(empty.stderr).not.toMatch(/Too small|\(root\)|Unrecognized/);

    const busy = await cluster.cli([
      'coordinator',
      '--data',
      join(cluster.dir, 'second'),
      '--port',
      String(cluster.port),
      '--no-mdns',
    ]);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toContain(`port ${cluster.port} is in use`);
    expect(busy.stderr).toContain('pass --port');
    expect(busy.stderr).not.toMatch(/\n\s+at /); // no stack trace

    const url = cluster.coordinator?.url as string;
    const http = await cluster.cli([
      'jobs',
      '--coordinator',
      url.replace('https:', 'http:'),
      ...data,
    ]);
    expect(http.code).toBe(3);
    expect(http.stderr).toContain(`use https://127.0.0.1:${cluster.port}`);
    expect(http.stderr).not.toContain('socket hang up');

    const wrong = 'ab'.repeat(32);
    const flag = await cluster.cli(['jobs', '--fingerprint', wrong, ...data]);
    expect(flag.code).toBe(3);
    expect(flag.stderr).toContain('that --fingerprint gives');
    const env = await cluster.cli(['jobs', ...data], { COLONY_FINGERPRINT: wrong });
    expect(env.stderr).toContain('that COLONY_FINGERPRINT gives');
    for (const res of [flag, env]) expect(res.stderr).not.toContain('join token');

    // A data directory whose coordinator.json names another certificate.
    const stale = join(cluster.dir, 'stale');
    await cluster.writeJob('../stale', {
      'coordinator.json': JSON.stringify({ url, fingerprint: wrong }),
      'identity.json': await readFile(join(cluster.dataDir, 'identity.json'), 'utf8'),
    });
    const dir = await cluster.cli(['jobs', '--data', join(cluster.dir, 'jobs', '..', 'stale')]);
    expect(dir.code).toBe(3);
    expect(dir.stderr).toContain(`recorded in ${join(stale, 'coordinator.json')}`);
    expect(dir.stderr).toContain('pass --data');
  });
});
