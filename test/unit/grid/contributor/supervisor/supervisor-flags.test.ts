// Worker flags: the right permission switch per Node line, one allow flag per path, nothing extra allowed.
import { describe, expect, it } from 'vitest';
import { launchPrefix } from '../../../../../electron/grid/contributor/supervisor/sandbox.js';
import {
  inspectRuntime,
  permissionFlag,
  workerExecArgv,
} from '../../../../../electron/grid/contributor/supervisor/process-flags.js';
import {
  checkAttemptId,
  checkRelativeName,
} from '../../../../../electron/grid/contributor/supervisor/supervisor-workdir.js';

describe('worker flags', () => {
  it.each([
    ['20.20.2', '--experimental-permission'],
    ['22.12.0', '--experimental-permission'],
    ['22.13.0', '--permission'],
    ['23.4.0', '--experimental-permission'],
    ['23.5.0', '--permission'],
    ['24.1.0', '--permission'],
  ])('node %s uses %s', (version, flag) => {
    expect(permissionFlag(version)).toBe(flag);
  });

  it("allows reading code, the job's staged files and its own folder, writing only that folder", () => {
    const argv = workerExecArgv({
      nodeVersion: '20.20.2',
      workerDir: '/app/dist/electron/grid/worker',
      stagedDir: '/data/work-staged/w1',
      workDir: '/data/work/w1',
      maxOldSpaceMb: 512,
    });
    expect(argv).toEqual(
      expect.arrayContaining([
        '--experimental-permission',
        '--allow-fs-read=/app/dist/electron/grid/worker',
        '--allow-fs-read=/data/work-staged/w1',
        '--allow-fs-read=/data/work/w1',
        '--allow-fs-write=/data/work/w1',
        '--no-addons',
        '--max-old-space-size=512',
      ]),
    );
    expect(argv.join(' ')).not.toMatch(/allow-child-process|allow-worker|cache/);
    expect(argv.filter((a) => a.startsWith('--allow-fs-write'))).toHaveLength(1);
  });
});

describe('workdir names', () => {
  it('rejects attempt ids and file names that leave the work root', () => {
    expect(() => checkAttemptId('job1-task2-a3')).not.toThrow();
    for (const bad of ['', '..', 'a/b', '../x', '.hidden', 'a..b'])
      expect(() => checkAttemptId(bad)).toThrow();
    expect(checkRelativeName('data/./a.csv', 'file')).toBe('data/a.csv');
    for (const bad of ['/etc/passwd', '../a', 'data/../../a', 'C:/x', '']) {
      expect(() => checkRelativeName(bad, 'file')).toThrow(/relative path/);
    }
  });
});

describe("the worker runtime's own memory", () => {
  it('is read from the binary: its Node version and the writable memory it reserves', async () => {
    const facts = await inspectRuntime(process.execPath, {});
    expect(facts.nodeVersion).toBe(process.versions.node);
    if (process.platform === 'linux') expect(facts.baseDataMb).toBeGreaterThan(0);
  });

  it('is added to the data limit, so the task keeps all of its own', () => {
    const data = (reserved: number) =>
      launchPrefix(
        { prlimit: '/usr/bin/prlimit' },
        { memoryMb: 256, maxProcesses: 1, maxFileMb: 1 },
        undefined,
        reserved,
      ).find((a) => a.startsWith('--data='));
    expect(data(0)).toBe(`--data=${256 * 1024 * 1024}`);
    expect(data(573)).toBe(`--data=${(256 + 573) * 1024 * 1024}`);
  });

  it('a binary that is not a Node runtime is refused with its name', async () => {
    await expect(inspectRuntime('/bin/false', {})).rejects.toThrow(
      /cannot ask \/bin\/false for its Node version/,
    );
    await expect(inspectRuntime('/bin/echo', {})).rejects.toThrow(
      /cannot ask \/bin\/echo .*printed/,
    );
  });
});
