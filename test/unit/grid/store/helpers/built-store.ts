// Makes sure dist/ holds a build of the store no older than its sources, for child processes.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '../../../../..');
const srcDir = join(repo, 'electron/grid/store');
const outDir = join(repo, 'dist/electron/grid/store');

function stale(): string[] {
  return readdirSync(srcDir)
    .filter((f) => f.endsWith('.ts'))
    .filter((f) => {
      const out = join(outDir, f.replace(/\.ts$/, '.js'));
      return !existsSync(out) || statSync(out).mtimeMs < statSync(join(srcDir, f)).mtimeMs;
    });
}

/** Path of the compiled durable-db module; builds with tsconfig.build.json if needed. */
export function builtDurableDb(): string {
  if (stale().length > 0) {
    // Other parts of the tree may not type-check yet; tsc still emits, so judge by the output.
    const tsc = spawnSync(
      process.execPath,
      [join(repo, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
      {
        cwd: repo,
        encoding: 'utf8',
      },
    );
    const left = stale();
    if (left.length > 0) {
      throw new Error(
        `build of the store failed (${left.join(', ')}):\n${tsc.stdout}${tsc.stderr}`,
      );
    }
  }
  return join(outDir, 'durable-db.js');
}
