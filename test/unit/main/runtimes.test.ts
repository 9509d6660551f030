// The runtimes Colony promises: engines true for every dependency, CI testing the Node line inside
// the Electron it ships, an install that never needs Electron's binary, and the README's two
// commands run by CI exactly as written.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../grid/worker/harness.js';

const read = (file: string) => readFileSync(path.join(repoRoot, file), 'utf8');
const pkg = JSON.parse(read('package.json')) as {
  engines: { node: string };
  allowScripts?: Record<string, boolean>;
  devDependencies: Record<string, string>;
};
const lock = JSON.parse(read('package-lock.json')) as {
  packages: Record<string, { engines?: { node?: string } | string[]; dev?: boolean }>;
};
const electronPkg = JSON.parse(read('node_modules/electron/package.json')) as {
  version: string;
  engines?: { node?: string };
  dependencies: Record<string, string>;
};
const ci = read('.ci/run');
/** Electron's Node line: its package types itself with that line's @types/node. */
const electronNodeMajor = semver.minVersion(electronPkg.dependencies['@types/node']!)!.major;

describe('runtimes', () => {
  it('engines.node admits no Node that a dependency refuses', () => {
    const floor = semver.minVersion(pkg.engines.node)!;
    const refusing = Object.entries(lock.packages)
      .filter(([name, p]) => name && p.engines && !Array.isArray(p.engines) && p.engines.node)
      .map(([name, p]) => [name, (p.engines as { node: string }).node] as const)
      .filter(([, range]) => semver.validRange(range) && !semver.satisfies(floor, range));
    expect(refusing).toEqual([]);
  });

  it("Electron's own Node line is within engines, and it is the line CI tests", () => {
    expect(semver.satisfies(`${electronNodeMajor}.0.0`, pkg.engines.node)).toBe(true);
    expect(ci).toContain(`ELECTRON_NODE_MAJOR=${electronNodeMajor}\n`);
    expect(ci).toMatch(
      /electron_node node node_modules\/vitest\/vitest\.mjs run test\/unit test\/integration/,
    );
    expect(electronPkg.version).toBe(semver.minVersion(pkg.devDependencies.electron!)!.version);
  });

  it("installs never download Electron's binary, and CI does not hide that with an env var", () => {
    expect(pkg.allowScripts?.electron).toBe(false);
    expect(ci).not.toMatch(/ELECTRON_SKIP_BINARY_DOWNLOAD=/);
  });

  it('the headless CLI never loads Electron: nothing outside electron/main imports it', () => {
    const grep = (dirs: string[]) =>
      spawnSync('grep', ['-rlE', "from 'electron'|require\\('electron'\\)", ...dirs], {
        cwd: repoRoot,
        encoding: 'utf8',
      }).stdout;
    expect(grep(['electron/main'])).toMatch(/electron-adapter\.ts/); // the search finds imports
    const offenders = grep(['electron/cli', 'electron/grid', 'shared', 'bin']);
    expect(offenders).toBe('');
  });

  it("CI runs the README's two commands exactly as written", () => {
    const block = /## The two commands\n\n```sh\n([\s\S]*?)```/.exec(read('README.md'))?.[1];
    const commands = (block ?? '')
      .split('\n')
      .map((l) => l.replace(/\s+#.*$/, '').trim())
      .filter(Boolean);
    expect(commands).toEqual(['npm ci && npx colony demo', 'npm test']);
    for (const c of commands)
      expect(ci).toMatch(new RegExp(`^${c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}( |$)`, 'm'));
  });
});
