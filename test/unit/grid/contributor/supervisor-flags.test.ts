// Worker flags: the right permission switch per Node line, one allow flag per path, nothing extra allowed.
import { describe, expect, it } from 'vitest';
import {
  permissionFlag,
  workerExecArgv,
} from '../../../../electron/grid/contributor/process-flags.js';
import {
  checkAttemptId,
  checkRelativeName,
} from '../../../../electron/grid/contributor/supervisor-workdir.js';

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

  it('allows reading code, cache and work root, writing only the work root', () => {
    const argv = workerExecArgv({
      nodeVersion: '20.20.2',
      workerDir: '/app/dist/electron/grid/worker',
      blobCacheDir: '/data/cache',
      workRoot: '/data/work',
      maxOldSpaceMb: 512,
    });
    expect(argv).toEqual(
      expect.arrayContaining([
        '--experimental-permission',
        '--allow-fs-read=/app/dist/electron/grid/worker',
        '--allow-fs-read=/data/cache',
        '--allow-fs-read=/data/work',
        '--allow-fs-write=/data/work',
        '--no-addons',
        '--max-old-space-size=512',
      ]),
    );
    expect(argv.join(' ')).not.toMatch(/allow-child-process|allow-worker/);
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
