// Command-line flags that put a worker process under Node's permission model and a heap limit.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export interface WorkerFlagOptions {
  /** Node version of the binary that will run the worker, e.g. "20.20.2". */
  nodeVersion: string;
  /** Folder of the compiled worker-main.js (and the modules it imports). */
  workerDir: string;
  blobCacheDir: string;
  workRoot: string;
  maxOldSpaceMb: number;
}

function versionAtLeast(version: string, major: number, minor: number): boolean {
  const [maj = 0, min = 0] = version.split('.').map(Number);
  return maj > major || (maj === major && min >= minor);
}

/** `--permission` is the stable spelling from 23.5 and 22.13; older lines only know the experimental one. */
export function permissionFlag(nodeVersion: string): string {
  const [major = 0] = nodeVersion.split('.').map(Number);
  const stable =
    major >= 24 ||
    (major === 23 && versionAtLeast(nodeVersion, 23, 5)) ||
    (major === 22 && versionAtLeast(nodeVersion, 22, 13));
  return stable ? '--permission' : '--experimental-permission';
}

/**
 * The nearest package.json above the worker code: it tells Node the compiled .js files are ES
 * modules, so the worker must be allowed to read it (newer Node checks that read too).
 */
function nearestPackageJson(dir: string): string | undefined {
  for (let d = dir; ; d = path.dirname(d)) {
    const candidate = path.join(d, 'package.json');
    if (existsSync(candidate)) return candidate;
    if (path.dirname(d) === d) return undefined;
  }
}

/**
 * One `--allow-fs-*` flag per path (comma lists were dropped in later Node lines, and a path may
 * contain a comma). No `--allow-child-process`, no `--allow-worker`: both stay denied.
 */
export function workerExecArgv(opts: WorkerFlagOptions): string[] {
  const readable = [
    opts.workerDir,
    opts.blobCacheDir,
    opts.workRoot,
    nearestPackageJson(opts.workerDir),
  ];
  const flags = [
    permissionFlag(opts.nodeVersion),
    ...readable
      .filter((p): p is string => p !== undefined)
      .map((p) => `--allow-fs-read=${path.resolve(p)}`),
    `--allow-fs-write=${path.resolve(opts.workRoot)}`,
    '--no-addons',
    `--max-old-space-size=${opts.maxOldSpaceMb}`,
  ];
  // The experimental warning would land in every task's log; the flag exists from 20.11 on.
  if (versionAtLeast(opts.nodeVersion, 20, 11)) flags.push('--disable-warning=ExperimentalWarning');
  return flags;
}

/** Asks `execPath` for its Node version (Electron's node differs from the one running us). */
export function detectNodeVersion(execPath: string, env: NodeJS.ProcessEnv): Promise<string> {
  if (execPath === process.execPath) return Promise.resolve(process.versions.node);
  return new Promise((resolve, reject) => {
    execFile(execPath, ['-p', 'process.versions.node'], { env, timeout: 15_000 }, (err, stdout) => {
      if (err)
        reject(
          new Error(`cannot ask ${execPath} for its Node version: ${err.message}`, { cause: err }),
        );
      else resolve(stdout.trim());
    });
  });
}
