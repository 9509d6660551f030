// The worker flags on the Node line running this test (CI runs it on the machine's Node and on
// Electron's): a real process under them may read only its code, write only its work root, spawn
// nothing, and reach the network only on lines whose permission model cannot deny it.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  permissionDeniesNetwork,
  permissionFlag,
  workerExecArgv,
} from '../../../../../electron/grid/contributor/supervisor/process-flags.js';

const PROBE = `
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
const [secret, outside, inside, port] = process.argv.slice(2);
const tryIt = (fn) => { try { fn(); return 'allowed'; } catch (e) { return e.code ?? String(e); } };
const result = {
  node: process.versions.node,
  readOutside: tryIt(() => readFileSync(secret)),
  writeOutside: tryIt(() => writeFileSync(outside, 'x')),
  writeInside: tryIt(() => writeFileSync(inside, 'x')),
  spawn: await import('node:child_process').then((cp) => tryIt(() => cp.spawnSync('true'))),
  net: await new Promise((resolve) => {
    try {
      const s = connect(Number(port), '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve('allowed')));
      s.once('error', (e) => resolve(e.code ?? String(e)));
    } catch (e) { resolve(e.code ?? String(e)); }
  }),
};
process.stdout.write(JSON.stringify(result));
`;

describe(`worker flags on this Node line (${process.versions.node})`, () => {
  let dir: string;
  let server: Server;
  let port: number;
  beforeAll(async () => {
    dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'colony-flags-')));
    for (const d of ['code', 'cache', 'work']) mkdirSync(path.join(dir, d));
    writeFileSync(path.join(dir, 'code', 'package.json'), '{"type":"module"}\n');
    writeFileSync(path.join(dir, 'code', 'probe.js'), PROBE);
    writeFileSync(path.join(dir, 'secret.txt'), 'not yours');
    server = createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('confines a real process as promised, with the spelling this line takes', async () => {
    const argv = workerExecArgv({
      nodeVersion: process.versions.node,
      workerDir: path.join(dir, 'code'),
      stagedDir: path.join(dir, 'cache'),
      workDir: path.join(dir, 'work'),
      maxOldSpaceMb: 128,
    });
    expect(argv[0]).toBe(permissionFlag(process.versions.node));
    const child = spawn(
      process.execPath,
      [
        ...argv,
        path.join(dir, 'code', 'probe.js'),
        path.join(dir, 'secret.txt'),
        path.join(dir, 'outside.txt'),
        path.join(dir, 'work', 'inside.txt'),
        String(port),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise((r) => child.once('exit', r));
    expect(code, err).toBe(0);
    expect(err).not.toMatch(/warning/i); // no ExperimentalWarning (or an unknown flag) in task logs
    const r = JSON.parse(out) as Record<string, string>;
    expect(r).toMatchObject({
      node: process.versions.node,
      readOutside: 'ERR_ACCESS_DENIED',
      writeOutside: 'ERR_ACCESS_DENIED',
      writeInside: 'allowed',
      spawn: 'ERR_ACCESS_DENIED',
    });
    expect(r.net).toBe(
      permissionDeniesNetwork(process.versions.node) ? 'ERR_ACCESS_DENIED' : 'allowed',
    );
  });

  it.each([
    ['20.20.2', false],
    ['22.13.0', false],
    ['24.21.0', false],
    ['25.0.0', true],
    ['26.1.0', true],
  ])('node %s: network denied by the permission model: %s', (version, denied) => {
    expect(permissionDeniesNetwork(version)).toBe(denied);
    const argv = workerExecArgv({
      nodeVersion: version,
      workerDir: '/w',
      stagedDir: '/c',
      workDir: '/r',
      maxOldSpaceMb: 64,
    });
    expect(argv.join(' ')).not.toMatch(/allow-net|allow-child-process|allow-worker|allow-addons/);
  });
});
