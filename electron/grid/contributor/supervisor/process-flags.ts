// Command-line flags that put a worker process under Node's permission model and a heap limit.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export interface WorkerFlagOptions {
  /** Node version of the binary that will run the worker, e.g. "20.20.2". */
  nodeVersion: string;
  /** Folder of the compiled worker-main.js (and the modules it imports). */
  workerDir: string;
  /** Read-only for the task: this job's staged files and module. */
  stagedDir: string;
  /** The worker's own folder (attempt workdirs inside): the only place it may write. */
  workDir: string;
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
 * From Node 25 the permission model guards the network too (`--allow-net`, never passed here), so
 * node tasks there cannot open sockets; earlier lines have no network permission to withhold.
 * The worker's channel to its supervisor is the fork's IPC pipe, which is not network.
 */
export function permissionDeniesNetwork(nodeVersion: string): boolean {
  const [major = 0] = nodeVersion.split('.').map(Number);
  return major >= 25;
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
    opts.stagedDir,
    opts.workDir,
    nearestPackageJson(opts.workerDir),
  ];
  const flags = [
    permissionFlag(opts.nodeVersion),
    ...readable
      .filter((p): p is string => p !== undefined)
      .map((p) => `--allow-fs-read=${path.resolve(p)}`),
    `--allow-fs-write=${path.resolve(opts.workDir)}`,
    '--no-addons',
    `--max-old-space-size=${opts.maxOldSpaceMb}`,
  ];
  // No --allow-net: where the line knows it (permissionDeniesNetwork), the network stays denied.
  // The experimental warning would land in every task's log; the flag exists from 20.11 on.
  if (versionAtLeast(opts.nodeVersion, 20, 11)) flags.push('--disable-warning=ExperimentalWarning');
  return flags;
}

/** What a worker's runtime is, read from the binary itself (Electron's Node differs from ours). */
export interface RuntimeFacts {
  /** Its Node version, e.g. `24.11.0`. */
  nodeVersion: string;
  /**
   * Writable private memory (VmData) the runtime reserves before running any task code, MiB; 0
   * where the OS does not tell. Node 24's V8 reserves its code range writable (about 500 MiB of
   * address space, hardly any of it used), and RLIMIT_DATA counts reservations: a task's memory
   * limit is this plus what the task itself may take.
   */
  baseDataMb: number;
}

const FACTS_SCRIPT = `let d=0;try{const m=/^VmData:\\s+(\\d+) kB/m.exec(require('fs').readFileSync('/proc/self/status','utf8'));if(m)d=Math.ceil(Number(m[1])/1024)}catch{}process.stdout.write(JSON.stringify({v:process.versions.node,d}))`;

/** Starts `execPath` once to learn its Node version and its own memory reservation. */
export function inspectRuntime(execPath: string, env: NodeJS.ProcessEnv): Promise<RuntimeFacts> {
  return new Promise((resolve, reject) => {
    execFile(execPath, ['-e', FACTS_SCRIPT], { env, timeout: 15_000 }, (err, stdout) => {
      let facts: { v?: unknown; d?: unknown } = {};
      try {
        facts = JSON.parse(stdout) as typeof facts;
      } catch {
        // reported below
      }
      if (err || typeof facts.v !== 'string' || typeof facts.d !== 'number')
        reject(
          new Error(
            `cannot ask ${execPath} for its Node version: ${err?.message ?? `it printed ${JSON.stringify(stdout.slice(0, 200))}`}`,
            { cause: err },
          ),
        );
      else resolve({ nodeVersion: facts.v, baseDataMb: facts.d });
    });
  });
}
