// Output collection: copied never moved, no symlink anywhere in a path, names the protocol can
// carry, limits on count and size; every refusal names the file.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  collectOutputs,
  OutputError,
} from '../../../../../electron/grid/contributor/supervisor/supervisor-workdir.js';

describe('collectOutputs', () => {
  let root: string;
  let work: string;
  let outRoot: string;
  let secret: string;
  const limits = { maxFiles: 100, maxBytes: 1024 * 1024 };
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'colony-out-'));
    work = path.join(root, 'data', 'work', 'w1', 'a1');
    outRoot = path.join(root, 'outputs');
    mkdirSync(work, { recursive: true });
    mkdirSync(outRoot);
    secret = path.join(root, 'data', 'trust.json');
    writeFileSync(secret, '{"credential":"secret"}');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const collect = (patterns: string[], l = limits, staged = new Set<string>()) =>
    collectOutputs(work, patterns, outRoot, 'a1', l, staged);

  it('copies matching files and leaves the originals in place', async () => {
    mkdirSync(path.join(work, 'out'));
    writeFileSync(path.join(work, 'out', 'a.txt'), 'A');
    writeFileSync(path.join(work, 'out', 'b.txt'), 'BB');
    const got = await collect(['out/*.txt']);
    expect(got.map((f) => [f.name, f.size])).toEqual([
      ['out/a.txt', 1],
      ['out/b.txt', 2],
    ]);
    expect(readFileSync(got[0]!.path, 'utf8')).toBe('A');
    expect(existsSync(path.join(work, 'out', 'a.txt'))).toBe(true);
  });

  it.each([
    ['a symlinked folder named literally', '../../..', 'out', ['out/trust.json']],
    ['a symlinked folder before a glob', '../../..', 'out', ['out/*.json']],
    ['a final symlink', '../../../trust.json', 'leak.json', ['leak.json']],
    ['a final symlink matched by a glob', '../../../trust.json', 'leak.json', ['*.json']],
    ['a symlink to /', '/', 'root', ['root/etc/hostname']],
  ])('refuses %s and takes nothing', async (_what, target, link, patterns) => {
    symlinkSync(target, path.join(work, link));
    await expect(collect(patterns)).rejects.toThrow(OutputError);
    await expect(collect(patterns)).rejects.toThrow(new RegExp(`symbolic link \\(${link}\\)`));
    expect(readFileSync(secret, 'utf8')).toBe('{"credential":"secret"}');
    expect(existsSync(path.join(outRoot, 'a1', 'out', 'trust.json'))).toBe(false);
  });

  it('skips the staged inputs it linked in itself', async () => {
    symlinkSync(secret, path.join(work, 'input.json'));
    writeFileSync(path.join(work, 'result.json'), '{}');
    const got = await collect(['*.json'], limits, new Set(['input.json']));
    expect(got.map((f) => f.name)).toEqual(['result.json']);
  });

  it.each(['x\\..\\..\\trust.json', 'tab\there.json', 'nl\nx.json'])(
    'fails at once on a name the protocol cannot carry: %j',
    async (name) => {
      writeFileSync(path.join(work, name), 'x');
      await expect(collect(['*.json'])).rejects.toThrow(/cannot be sent/);
    },
  );

  it('enforces the count and size limits, naming the limit', async () => {
    for (const n of [1, 2, 3]) writeFileSync(path.join(work, `f${n}.txt`), 'x'.repeat(600));
    await expect(collect(['*.txt'], { maxFiles: 2, maxBytes: 1e6 })).rejects.toThrow(
      /more than 2 output files \(limits\.maxOutputFiles\)/,
    );
    await expect(collect(['*.txt'], { maxFiles: 10, maxBytes: 1000 })).rejects.toThrow(
      /size limit \(limits\.maxOutputBytes\) at "f2\.txt"/,
    );
  });
});
