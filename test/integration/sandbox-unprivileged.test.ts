// Promise: the sandbox also works when the contributor runs as an ordinary user (no root): a node
// task and a command run in it as that user, in their own pid and network namespaces.
import { execFile } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cluster.js';

const NOBODY = 65534;
const canTry =
  process.platform === 'linux' &&
  process.getuid?.() === 0 &&
  existsSync('/usr/sbin/runuser') &&
  existsSync('/usr/bin/bwrap');

// Runs a Supervisor from the build (dist/) with one node task and one command, prints the outcomes.
const SCRIPT = `
const [distRoot, dir] = process.argv.slice(2);
const { Supervisor } = await import(distRoot + '/electron/grid/contributor/supervisor/supervisor.js');
const { mkdirSync, writeFileSync } = await import('node:fs');
mkdirSync(dir + '/cache/modules', { recursive: true });
const mod = dir + '/cache/modules/m.mjs';
writeFileSync(mod, "import net from 'node:net'; export default async () => ({ uid: process.getuid(), pid: process.pid, net: await new Promise((r) => { const s = net.connect(1, '127.0.0.1'); s.on('connect', () => { s.destroy(); r('connected'); }); s.on('error', (e) => r(e.code)); }) });");
const sup = new Supervisor({ slots: 1, workRoot: dir + '/work', blobCacheDir: dir + '/cache', allowCommands: true, maxOldSpaceMb: 128 });
await sup.start();
const base = { input: {}, files: [], outputs: [], timeoutMs: 20000, jobId: 'j' };
const node = await sup.run({ ...base, attemptId: 'a1', runtime: 'node', modulePath: mod });
const cmd = await sup.run({ ...base, attemptId: 'a2', runtime: 'command', command: ['sh', '-c', 'id -u; ls /proc | grep -c "^[0-9]"'] });
console.log(JSON.stringify({ isolation: sup.isolation, node, cmd }));
await sup.stop();
`;

describe.skipIf(!canTry)('the sandbox as an unprivileged user', () => {
  const dir = mkdtempSync(join(tmpdir(), 'colony-unpriv-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs node and command tasks isolated, as that user', async () => {
    chmodSync(dir, 0o755);
    const script = join(dir, 'run.mjs');
    writeFileSync(script, SCRIPT);
    const data = join(dir, 'data');
    mkdirSync(data);
    chownSync(data, NOBODY, NOBODY);
    // This test's Node, where that user can run it: a Node from the npm registry lives in root's home.
    let node = realpathSync(process.execPath);
    if (!/^\/(usr|bin)\//.test(node)) {
      mkdirSync(join(dir, 'node'), { mode: 0o755 });
      copyFileSync(node, join(dir, 'node', 'node'));
      node = join(dir, 'node', 'node');
      chmodSync(node, 0o755);
    }
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        'runuser',
        ['-u', 'nobody', '--', node, script, join(ROOT, 'dist'), data],
        { timeout: 60_000 },
        (err, stdout, stderr) =>
          err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    const r = JSON.parse(out.trim().split('\n').at(-1)!) as {
      isolation: string;
      node: { state: string; output: { uid: number; pid: number; net: string } };
      cmd: { state: string; output: { stdout: string } };
    };
    expect(r.isolation).toBe('sandbox');
    expect(r.node).toMatchObject({
      state: 'succeeded',
      output: { uid: NOBODY, pid: 2, net: 'ECONNREFUSED' },
    });
    const [uid, procs] = r.cmd.output.stdout.trim().split('\n').map(Number);
    expect(r.cmd.state).toBe('succeeded');
    expect(uid).toBe(NOBODY);
    expect(procs).toBeLessThanOrEqual(5);
  });
});
