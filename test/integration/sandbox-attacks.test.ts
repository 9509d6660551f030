// Promise: a job cannot hijack the next job, poison the blob cache, kill its contributor, use the
// network, exhaust the machine, read other jobs' data or steal the contributor's files through its
// outputs. Real coordinator, real contributors, real bubblewrap; every attack is followed by a
// victim job that must get its own correct results on the same contributor.
import { createHash } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContributorInfo, JobSummary } from '../../shared/api.js';
import { probeSandbox } from '../../electron/grid/contributor/supervisor/sandbox.js';
import { Cluster, type Proc } from './helpers/cluster.js';

const sandbox = await probeSandbox(process.execPath, {}, '/tmp');
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** The contributor's own files (credential, identity, panel token) by content hash. */
function ownFiles(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir))
    // donated-cpu.json is the owner's running tally; it changes by design.
    if (statSync(join(dir, name)).isFile() && name !== 'donated-cpu.json')
      out[name] = sha(readFileSync(join(dir, name)));
  return out;
}

/** A tiny DNS server on loopback that answers every A question with 10.9.9.9. */
function dnsServer(): Promise<{ port: number; socket: Socket }> {
  const socket = createSocket('udp4');
  socket.on('message', (q, from) => {
    const qEnd = q.indexOf(0, 12) + 5;
    const header = Buffer.from(q.subarray(0, 12));
    header.writeUInt16BE(0x8180, 2); // response, recursion available, no error
    header.writeUInt16BE(1, 6); // one answer
    const answer = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 9, 9, 9]);
    socket.send(Buffer.concat([header, q.subarray(12, qEnd), answer]), from.port, from.address);
  });
  return new Promise((resolve) =>
    socket.bind(0, '127.0.0.1', () => resolve({ port: socket.address().port, socket })),
  );
}

describe.skipIf(sandbox.isolation !== 'sandbox')('tasks in the sandbox, as an attacker', () => {
  let cluster: Cluster;
  let host: Proc;
  let dns: { port: number; socket: Socket };
  let hostDir: string;
  let before: Record<string, string>;

  beforeAll(async () => {
    cluster = await Cluster.create();
    await cluster.startCoordinator();
    host = await cluster.startContributor('host', 2, ['--allow-commands']);
    hostDir = join(cluster.dir, 'host');
    before = ownFiles(hostDir);
    dns = await dnsServer();
  }, 60_000);
  afterAll(async () => {
    dns?.socket.close();
    await cluster?.stop();
  });

  async function submit(name: string, files: Record<string, string>): Promise<JobSummary> {
    const jobFile = await cluster.writeJob(name, files);
    const res = await cluster.cli(['submit', jobFile, '--data', cluster.dataDir, '--json']);
    expect(res.code, res.stderr).toBe(0);
    return JSON.parse(res.stdout) as JobSummary;
  }

  async function run(name: string, files: Record<string, string>) {
    const job = await cluster.waitJob((await submit(name, files)).id, 90_000);
    return { job, results: await cluster.results(job.id) };
  }

  /** The victim: a node job from someone else reading a staged file; must be exactly right. */
  async function victimRuns(tag: string): Promise<void> {
    const { job, results } = await run(`victim-${tag}`, {
      'job.yaml': [
        `name: victim-${tag}`,
        'runtime: node',
        'module: ./victim.mjs',
        'files: ["data/shared.txt"]',
        'tasks:',
        '  sweep:',
        '    x: { range: [0, 20] }',
        '',
      ].join('\n'),
      'victim.mjs': [
        "import { readFile } from 'node:fs/promises';",
        'export default async ({ x }, ctx) => ({',
        "  y: x * x, data: (await readFile(ctx.files['data/shared.txt'], 'utf8')).trim(),",
        '});',
        '',
      ].join('\n'),
      'data/shared.txt': 'the original\n',
    });
    expect(job.state, JSON.stringify(results.slice(0, 3))).toBe('succeeded');
    expect(results.map((r) => r.output)).toEqual(
      Array.from({ length: 20 }, (_, x) => ({ y: x * x, data: 'the original' })),
    );
  }

  function expectHostUnharmed(): void {
    expect(host.child.exitCode).toBeNull();
    expect(host.child.signalCode).toBeNull();
    expect(ownFiles(hostDir)).toEqual(before);
  }

  it('reports its isolation as sandbox in colony contributors --json', async () => {
    const res = await cluster.cli(['contributors', '--json', '--data', cluster.dataDir]);
    expect(res.code, res.stderr).toBe(0);
    const list = JSON.parse(res.stdout) as ContributorInfo[];
    expect(list.map((c) => [c.isolation, c.caps?.isolation])).toEqual([['sandbox', 'sandbox']]);
    const table = await cluster.cli(['contributors', '--data', cluster.dataDir]);
    expect(table.stdout).toMatch(/ISOLATION[\s\S]*sandbox/);
  });

  it('1. hooks left in a worker never reach another job', async () => {
    // The attacker's hooks catch every later message and rewrite every later result.
    const attacker = submit('hijack', {
      'job.yaml':
        'name: hijack\nruntime: node\nmodule: ./hijack.mjs\npriority: 10\ntasks:\n  sweep:\n    i: { range: [0, 10] }\n',
      'hijack.mjs': [
        'export default async () => {',
        '  if (!globalThis.hooked) {',
        '    globalThis.hooked = true;',
        "    process.on('message', (m) => { globalThis.seen = [...(globalThis.seen ?? []), m]; });",
        '    const send = process.send.bind(process);',
        "    process.send = (m, ...rest) => send(m?.type === 'done' ? { ...m, output: { ...m.output, owned: true } } : m, ...rest);",
        '  }',
        '  return { modulesSeen: new Set((globalThis.seen ?? []).map((m) => m.modulePath)).size };',
        '};',
        '',
      ].join('\n'),
    });
    await victimRuns('after-hijack');
    const job = await cluster.waitJob((await attacker).id);
    const results = await cluster.results(job.id);
    // Its own later tasks are its own business; no message of the victim ever reached it.
    const seen = results.flatMap((r) => {
      const out = r.output as { modulesSeen?: number } | undefined;
      return out?.modulesSeen !== undefined ? [out.modulesSeen] : [];
    });
    expect(seen.length).toBeGreaterThan(0);
    for (const n of seen) expect(n).toBeLessThanOrEqual(1);
    expectHostUnharmed();
  });

  it('2. a staged file cannot be written through, so the cache stays intact', async () => {
    const { results } = await run('poison', {
      'job.yaml':
        'name: poison\nruntime: node\nmodule: ./poison.mjs\nfiles: ["data/shared.txt"]\nlimits: { maxAttempts: 1 }\ntasks:\n  inputs: [{ how: write }, { how: append }, { how: truncate }, { how: unlink-then-write }, { how: chmod }, { how: hardlink }, { how: module }]\n',
      'poison.mjs': [
        "import fs from 'node:fs/promises';",
        "import path from 'node:path';",
        'export default async ({ how }, ctx) => {',
        "  const f = ctx.files['data/shared.txt'];",
        '  const real = await fs.realpath(f);',
        '  const tries = {',
        "    write: () => fs.writeFile(f, 'poisoned'),",
        "    append: () => fs.appendFile(real, 'poisoned'),",
        '    truncate: () => fs.truncate(real, 0),',
        "    'unlink-then-write': async () => { await fs.unlink(real); await fs.writeFile(real, 'poisoned'); },",
        '    chmod: () => fs.chmod(real, 0o777),',
        "    hardlink: async () => { const l = path.join(ctx.workdir, 'l'); await fs.link(real, l); await fs.writeFile(l, 'poisoned'); },",
        '    module: () => fs.writeFile(new URL(import.meta.url), \'export default () => "poisoned"\'),',
        '  };',
        "  try { await tries[how](); return 'WROTE'; } catch (e) { return e.code ?? e.message; }",
        '};',
        '',
      ].join('\n'),
      'data/shared.txt': 'the original\n',
    });
    expect(results).toHaveLength(7);
    for (const r of results) expect(r.output ?? r.error).not.toBe('WROTE');
    await victimRuns('after-poison');
    // Every blob in the contributor's cache still has the content its name says.
    const blobs = join(hostDir, 'blobs');
    const walk = (d: string): string[] =>
      readdirSync(d, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)],
      );
    const stored = walk(blobs).filter((p) => /^[0-9a-f]{64}$/.test(p.split('/').pop()!));
    expect(stored.length).toBeGreaterThan(0);
    for (const p of stored) expect(sha(readFileSync(p))).toBe(p.split('/').pop());
    expectHostUnharmed();
  });

  it('2b. a command cannot write through its staged file either', async () => {
    const { job, results } = await run('poison-cmd', {
      'job.yaml': [
        'name: poison-cmd',
        'runtime: command',
        'command: ["sh", "-c", "echo poisoned > data/shared.txt; echo poisoned >> $(readlink -f data/shared.txt); cat data/shared.txt"]',
        'files: ["data/shared.txt"]',
        'limits: { maxAttempts: 1 }',
        'tasks:',
        '  inputs: [{}]',
        '',
      ].join('\n'),
      'data/shared.txt': 'the original\n',
    });
    expect(job.state).toBe('succeeded');
    expect((results[0]?.output as { stdout: string }).stdout).toBe('the original\n');
    await victimRuns('after-poison-cmd');
    expectHostUnharmed();
  });

  it('3. a task cannot signal its contributor or see its processes', async () => {
    const { results } = await run('killer', {
      'job.yaml':
        'name: killer\nruntime: node\nmodule: ./kill.mjs\nlimits: { maxAttempts: 1 }\ntasks:\n  inputs: [{ how: ppid }, { how: one }, { how: proc }]\n',
      'kill.mjs': [
        "import { readdir } from 'node:fs/promises';",
        'export default async ({ how }) => {',
        "  if (how === 'proc') try { return (await readdir('/proc')).filter((n) => /^\\d+$/.test(n)).length; } catch (e) { return e.code; }",
        "  try { process.kill(how === 'ppid' ? process.ppid : 1, 'SIGKILL'); } catch (e) { return e.code; }",
        "  return 'sent';",
        '};',
        '',
      ].join('\n'),
    });
    // The permission model hides /proc from node tasks; a command sees only its own sandbox.
    const procCount = results.find((r) => (r.input as { how: string }).how === 'proc')?.output;
    expect(procCount, JSON.stringify(results)).toBe('ERR_ACCESS_DENIED');
    const cmd = await run('killer-cmd', {
      'job.yaml':
        'name: killer-cmd\nruntime: command\ncommand: ["sh", "-c", "kill -9 $PPID; kill -9 1; ls /proc | grep -c \'^[0-9]\'"]\nlimits: { maxAttempts: 1 }\ntasks:\n  inputs: [{}]\n',
    });
    const seen = Number((cmd.results[0]?.output as { stdout: string }).stdout.trim());
    expect(seen, JSON.stringify(cmd.results)).toBeGreaterThan(0);
    expect(seen).toBeLessThanOrEqual(5); // reaper, sh, ls, grep: nothing of the host
    await victimRuns('after-kill');
    expectHostUnharmed();
  });

  it('4. no network: not the coordinator, not a name server, not a listening port outside', async () => {
    const port = cluster.port;
    const { results } = await run('net', {
      'job.yaml': `name: net\nruntime: node\nmodule: ./net.mjs\nlimits: { maxAttempts: 1 }\ntasks:\n  inputs: [{ how: tcp }, { how: dns }, { how: udp }]\n`,
      'net.mjs': netModule(port, dns.port),
    });
    const by = Object.fromEntries(results.map((r) => [(r.input as { how: string }).how, r]));
    expect(by.tcp?.output).toMatch(/^blocked:/);
    expect(by.dns?.output).toMatch(/^blocked:/);
    expect(by.udp?.output).toBe('no answer');
    expectHostUnharmed();
  });

  it('4b. a job asking for the network waits for a contributor that allows it, then has it', async () => {
    const port = cluster.port;
    const files = {
      'job.yaml': `name: net-ok\nruntime: node\nmodule: ./net.mjs\nnetwork: true\nlimits: { maxAttempts: 1 }\ntasks:\n  inputs: [{ how: tcp }, { how: dns }]\n`,
      'net.mjs': netModule(port, dns.port),
    };
    const queued = await submit('net-ok', files);
    const client = await cluster.client();
    const waiting = await client.json<JobSummary & { why?: string }>('GET', `/jobs/${queued.id}`);
    expect(waiting.state).toBe('queued');
    expect(JSON.stringify(waiting)).toMatch(/network allowed \(--allow-network\)/);
    await cluster.startContributor('open', 1, ['--allow-network']);
    const job = await cluster.waitJob(queued.id);
    const results = await cluster.results(job.id);
    const by = Object.fromEntries(results.map((r) => [(r.input as { how: string }).how, r]));
    expect(by.tcp?.output).toBe('connected');
    expect(by.dns?.output).toEqual(['10.9.9.9']);
  });

  it('5. memory past the limit fails with "memory limit"; writes stay in its own folder', async () => {
    const { results } = await run('hog', {
      'job.yaml':
        'name: hog\nruntime: node\nmodule: ./hog.mjs\nlimits: { maxAttempts: 1 }\ntasks:\n  inputs: [{ how: buffers }, { how: beside }, { how: tmp }]\n',
      'hog.mjs': [
        "import fs from 'node:fs/promises';",
        "import path from 'node:path';",
        'export default async ({ how }, ctx) => {',
        "  if (how === 'buffers') { const keep = []; for (let i = 0; i < 12; i++) keep.push(Buffer.allocUnsafe(256 * 1024 * 1024)); return keep.length; }",
        '  const chunk = Buffer.alloc(1024 * 1024, 1);',
        "  const file = how === 'beside' ? path.join(ctx.workdir, '..', 'left-behind') : '/tmp/fill';",
        "  const fh = await fs.open(file, 'w');",
        "  try { for (let i = 0; i < (how === 'tmp' ? 100 : 20); i++) await fh.write(chunk); } catch (e) { return e.code; } finally { await fh.close(); }",
        "  return 'wrote';",
        '};',
        '',
      ].join('\n'),
    });
    const by = Object.fromEntries(results.map((r) => [(r.input as { how: string }).how, r]));
    expect(by.buffers?.error).toMatch(/memory limit/);
    expect(by.tmp?.error, JSON.stringify(results)).toMatch(/ERR_ACCESS_DENIED/); // not for node
    // For a command, /tmp is a small private tmpfs.
    const fill = await run('hog-tmp', {
      'job.yaml':
        'name: hog-tmp\nruntime: command\ncommand: ["sh", "-c", "dd if=/dev/zero of=/tmp/fill bs=1M count=100 2>&1; true"]\nlimits: { maxAttempts: 1 }\ntasks:\n  inputs: [{}]\n',
    });
    expect((fill.results[0]?.output as { stdout: string }).stdout).toMatch(/No space left/);
    // Whatever it wrote beside its workdir goes with its worker, once that worker has ended (an
    // idle worker waits a moment for its job's next task): poll, bounded.
    const work = join(hostDir, 'work');
    const leftovers = () =>
      readdirSync(work, { recursive: true })
        .map(String)
        .filter((n) => n.includes('left-behind'));
    for (let i = 0; i < 150 && leftovers().length > 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(leftovers()).toEqual([]);
    await victimRuns('after-hog');
    expectHostUnharmed();
  });

  it("6. a task sees neither the blob cache nor other attempts' folders", async () => {
    // A victim job runs alongside on the other slot, with staged data of its own.
    const victim = victimRuns('beside-snoop');
    const { results } = await run('snoop', {
      'job.yaml':
        'name: snoop\nruntime: node\nmodule: ./snoop.mjs\nlimits: { maxAttempts: 1 }\ntasks:\n  sweep:\n    i: { range: [0, 5] }\n',
      'snoop.mjs': [
        "import fs from 'node:fs/promises';",
        "import path from 'node:path';",
        'const list = async (d) => { try { return await fs.readdir(d); } catch (e) { return e.code; } };',
        'export default async (_, ctx) => ({',
        `  cache: await list(${JSON.stringify(join(cluster.dir, 'host', 'blobs'))}),`,
        `  dataDir: await list(${JSON.stringify(join(cluster.dir, 'host'))}),`,
        "  siblings: await list(path.join(ctx.workdir, '..', '..')),",
        "  mine: await list(path.join(ctx.workdir, '..')),",
        '});',
        '',
      ].join('\n'),
    });
    await victim;
    // A command (no permission model) looks at the same places: they are simply not there.
    const cmd = await run('snoop-cmd', {
      'job.yaml': [
        'name: snoop-cmd',
        'runtime: command',
        `command: ["sh", "-c", ${JSON.stringify(`ls ${join(cluster.dir, 'host', 'blobs')} 2>&1; ls ${join(cluster.dir, 'host')}; echo ==; ls ../..`)}]`,
        'limits: { maxAttempts: 1 }',
        'tasks:',
        '  inputs: [{}]',
        '',
      ].join('\n'),
    });
    const seen = (cmd.results[0]?.output as { stdout: string }).stdout;
    expect(seen).toMatch(/No such file or directory/);
    expect(seen).not.toMatch(/trust\.json|contributor\.json/);
    // Other attempts' folders (the victim's, running beside it) are not there: only its own.
    expect(seen.split('==\n')[1]?.trim().split('\n')).toHaveLength(1);
    for (const r of results) {
      const out = r.output as Record<string, unknown>;
      expect(out.cache).toMatch(/^(ENOENT|ERR_ACCESS_DENIED)$/);
      expect(JSON.stringify(out.dataDir)).not.toMatch(/trust|contributor\.json|blobs/);
      // The permission model refuses; where it lets a listing through, only its own folder shows.
      if (out.siblings !== 'ERR_ACCESS_DENIED') expect(out.siblings).toHaveLength(1);
      expect((out.mine as string[]).length).toBe(1); // its own attempt's workdir only
    }
    expectHostUnharmed();
  });

  it('7. outputs through symlinks or with bad names fail at once and take nothing', async () => {
    const attacks = [
      ['ln -s ../.. out', 'out/trust.json'],
      ['ln -s ../.. out', 'out/*.json'],
      ['ln -s / root', 'root/etc/hostname'],
      ['ln -s ../../../trust.json leak.json', 'leak.json'],
      ["touch 'x\\..\\..\\trust.json'", '*.json'],
    ];
    for (const [i, [script, pattern]] of attacks.entries()) {
      const started = Date.now();
      const { job, results } = await run(`steal-${i}`, {
        'job.yaml': [
          `name: steal-${i}`,
          'runtime: command',
          `command: ["sh", "-c", ${JSON.stringify(script)}]`,
          `outputs: [${JSON.stringify(pattern)}]`,
          'limits: { maxAttempts: 1 }',
          'tasks:',
          '  inputs: [{}]',
          '',
        ].join('\n'),
      });
      expect(job.state, `${script} / ${pattern}`).toBe('failed');
      expect(results[0]?.error, `${script} / ${pattern}`).toMatch(
        /symbolic link|cannot be sent|outside the workdir/,
      );
      expect(Date.now() - started).toBeLessThan(30_000); // failed, not hung until a timeout
      expectHostUnharmed();
    }
    await victimRuns('after-steal');
    expectHostUnharmed();
  });

  it('caps the number of output files from the job file', async () => {
    const { job, results } = await run('many-outputs', {
      'job.yaml': [
        'name: many-outputs',
        'runtime: command',
        'command: ["sh", "-c", "for i in 1 2 3 4 5; do echo $i > f$i.txt; done"]',
        'outputs: ["*.txt"]',
        'limits: { maxAttempts: 1, maxOutputFiles: 3 }',
        'tasks:',
        '  inputs: [{}]',
        '',
      ].join('\n'),
    });
    expect(job.state).toBe('failed');
    expect(results[0]?.error).toMatch(/more than 3 output files \(limits\.maxOutputFiles\)/);
  });
});

/** A node task that tries TCP to the coordinator, DNS via a loopback name server and UDP. */
function netModule(coordinatorPort: number, dnsPort: number): string {
  return [
    "import net from 'node:net';",
    "import dgram from 'node:dgram';",
    "import { promises as dns } from 'node:dns';",
    'export default async ({ how }) => {',
    "  if (how === 'tcp') return await new Promise((resolve) => {",
    `    const s = net.connect(${coordinatorPort}, '127.0.0.1');`,
    "    s.once('connect', () => { s.destroy(); resolve('connected'); });",
    "    s.once('error', (e) => resolve('blocked: ' + e.code));",
    '  });',
    "  if (how === 'dns') {",
    '    const r = new dns.Resolver({ timeout: 1000, tries: 1 });',
    `    r.setServers(['127.0.0.1:${dnsPort}']);`,
    "    try { return await r.resolve4('coordinator.example'); } catch (e) { return 'blocked: ' + e.code; }",
    '  }',
    "  const s = dgram.createSocket('udp4');",
    '  return await new Promise((resolve) => {',
    "    s.on('message', () => { s.close(); resolve('answered'); });",
    "    s.on('error', () => { s.close(); resolve('no answer'); });",
    `    s.send(Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 97, 0, 0, 1, 0, 1]), ${dnsPort}, '127.0.0.1');`,
    "    setTimeout(() => { s.close(); resolve('no answer'); }, 1000);",
    '  });',
    '};',
    '',
  ].join('\n');
}

describe('isolation levels and requirements', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.create();
    await cluster.startCoordinator();
    await cluster.startContributor('plain', 1, ['--no-sandbox']);
  }, 60_000);
  afterAll(() => cluster?.stop());

  it('a job requiring a sandbox waits with a clear reason, then runs where there is one', async () => {
    const list = await cluster.cli(['contributors', '--json', '--data', cluster.dataDir]);
    expect((JSON.parse(list.stdout) as ContributorInfo[]).map((c) => c.isolation)).toEqual([
      'permission-model',
    ]);
    const jobFile = await cluster.writeJob('needs-sandbox', {
      'job.yaml':
        'name: needs-sandbox\nruntime: node\nmodule: ./sq.mjs\nrequirements: { isolation: sandbox }\ntasks:\n  inputs: [{ x: 3 }]\n',
      'sq.mjs': 'export default async ({ x }) => x * x;\n',
    });
    const res = await cluster.cli(['submit', jobFile, '--data', cluster.dataDir, '--json']);
    expect(res.code, res.stderr).toBe(0);
    const id = (JSON.parse(res.stdout) as JobSummary).id;
    const client = await cluster.client();
    const waiting = await client.json<JobSummary>('GET', `/jobs/${id}`);
    expect(waiting.state).toBe('queued');
    expect(JSON.stringify(waiting)).toMatch(
      /no contributor with isolation=sandbox \(an operating-system sandbox\)/,
    );
    if (sandbox.isolation !== 'sandbox') return; // nothing here can offer one
    await cluster.startContributor('boxed', 1);
    const job = await cluster.waitJob(id);
    expect(job.state).toBe('succeeded');
    expect((await cluster.results(id)).map((r) => r.output)).toEqual([9]);
  });

  it('an owner who requires the sandbox gets a contributor that refuses to start without one', async () => {
    const token = await cluster.joinToken();
    const res = await cluster.cli([
      'contributor',
      '--join',
      token,
      '--data',
      join(cluster.dir, 'strict'),
      '--no-mdns',
      '--no-panel',
      '--no-sandbox',
      '--require-sandbox',
    ]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/requires the operating-system sandbox/);
  });
});
