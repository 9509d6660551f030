// Promise: a contributor started with a bad option says which and why, exits 2, and writes nothing.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cluster.js';

describe('colony contributor options', () => {
  const dir = mkdtempSync(join(tmpdir(), 'colony-options-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cases: [string, string, RegExp][] = [
    ['--task-memory', 'abc', /--task-memory: abc is not a number of MiB \(64 to 1048576\)/],
    ['--task-memory', '12', /--task-memory: 12 is not/],
    ['--task-memory', '1.5', /--task-memory: 1.5 is not/],
    ['--task-memory', '-3', /--task-memory: -3 is not/],
    ['--task-memory', '99999999', /--task-memory: 99999999 is not/],
    ['--task-memory', '', /--task-memory: {2}is not/],
    ['--workers', '0', /--workers: 0 is not a number of workers/],
    ['--workers', '2x', /--workers: 2x is not/],
    ['--heartbeat', '10', /--heartbeat: 10 is not a number of milliseconds/],
    ['--log-bytes', '-1', /--log-bytes: -1 is not a number of bytes/],
  ];
  it.each(cases)(
    '%s %j is refused with a sentence, and nothing is written',
    async (flag, value, said) => {
      const data = join(dir, `${flag.slice(2)}-${cases.findIndex((c) => c[1] === value)}`);
      const r = await runCli([
        'contributor',
        flag,
        value,
        '--data',
        data,
        '--no-mdns',
        '--no-panel',
      ]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(said);
      expect(existsSync(data)).toBe(false);
    },
  );
});
