// The operating-system sandbox around every task: bubblewrap namespaces on Linux, resource limits
// and the lowest scheduling priority everywhere the machine offers them.
import { execFile } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  realpathSync,
} from 'node:fs';
import path from 'node:path';

export type IsolationLevel = 'sandbox' | 'permission-model';

export interface SandboxLimits {
  /** Writable private memory (RLIMIT_DATA) of each task's processes beyond the runtime's own reservation, MiB. */
  memoryMb: number;
  /** Processes and threads a task may add on top of what the contributor's user already runs. */
  maxProcesses: number;
  /** Largest single file a task may write (RLIMIT_FSIZE), MiB. */
  maxFileMb: number;
}

export const DEFAULT_LIMITS: SandboxLimits = { memoryMb: 2048, maxProcesses: 256, maxFileMb: 1024 };

/** What one sandboxed process may see. Paths are the same inside as outside. */
export interface SandboxMounts {
  /** Writable: the worker's (or command's) own folder; attempts' workdirs live inside it. */
  writable: string;
  /** Read-only: the staged files and module of this job only. */
  staged: string;
  /** Further read-only paths: the worker code, its package.json, the Node/Electron binary's folder. */
  readOnly: string[];
  /** Share the host's network (the job asked for it and the owner allowed it). */
  network: boolean;
  cwd: string;
}

/** Host folders a program needs to start (the loader, libc, /usr/bin); symlinks kept as symlinks. */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];
/** Small read-only bits of /etc every program may expect; no passwords, no host names. */
const ETC_ALWAYS = ['/etc/ld.so.cache', '/etc/alternatives', '/etc/localtime'];
/** Name resolution and TLS roots, only for jobs that may use the network. */
const ETC_NETWORK = [
  '/etc/resolv.conf',
  '/etc/hosts',
  '/etc/nsswitch.conf',
  '/etc/gai.conf',
  '/etc/ssl',
  '/etc/ca-certificates',
];
const TMP_BYTES = 64 * 1024 * 1024;

/** bubblewrap's arguments for `mounts`, up to (not including) the `--` before the program. */
export function bwrapArgs(mounts: SandboxMounts): string[] {
  // /tmp first: the binds below may live under the host's /tmp and must land on top of it.
  const args = ['--proc', '/proc', '--dev', '/dev', '--size', String(TMP_BYTES), '--tmpfs', '/tmp'];
  for (const dir of SYSTEM_DIRS) {
    let info;
    try {
      info = lstatSync(dir);
    } catch {
      continue;
    }
    if (info.isSymbolicLink()) args.push('--symlink', readlinkSync(dir), dir);
    else if (info.isDirectory()) args.push('--ro-bind', dir, dir);
  }
  for (const p of [...ETC_ALWAYS, ...(mounts.network ? ETC_NETWORK : [])])
    args.push('--ro-bind-try', p, p);
  for (const p of mounts.readOnly) args.push('--ro-bind', p, p);
  args.push('--ro-bind', mounts.staged, mounts.staged);
  args.push('--bind', mounts.writable, mounts.writable);
  args.push('--unshare-all', ...(mounts.network ? ['--share-net'] : []));
  args.push('--die-with-parent', '--new-session', '--chdir', mounts.cwd);
  return args;
}

/**
 * The programs that start a task: lowest priority (nice 19, SCHED_IDLE), resource limits, then
 * bubblewrap when `bwrap` is given. Each is a plain exec, so the first pid is the whole chain's.
 */
export function launchPrefix(
  tools: LaunchTools,
  limits: SandboxLimits,
  mounts: SandboxMounts | undefined,
  /** Writable memory the program reserves for itself before any task code runs (a Node runtime's), MiB. */
  reservedMb = 0,
): string[] {
  const prefix: string[] = [];
  if (tools.chrt) prefix.push(tools.chrt, '--idle', '0');
  if (tools.nice) prefix.push(tools.nice, '-n', '19');
  if (tools.prlimit) {
    const mb = 1024 * 1024;
    prefix.push(
      tools.prlimit,
      `--data=${(limits.memoryMb + reservedMb) * mb}`,
      `--fsize=${limits.maxFileMb * mb}`,
      `--nproc=${userProcessCount() + limits.maxProcesses}`,
      '--',
    );
  }
  if (tools.bwrap && mounts) prefix.push(tools.bwrap, ...bwrapArgs(mounts), '--');
  return prefix;
}

export interface LaunchTools {
  bwrap?: string;
  prlimit?: string;
  nice?: string;
  chrt?: string;
}

export interface SandboxProbe {
  isolation: IsolationLevel;
  tools: LaunchTools;
  /** Why the level is `permission-model`, for the log and the owner. */
  reason?: string;
}

function findTool(name: string): string | undefined {
  for (const dir of ['/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
    const p = path.join(dir, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

function run(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 15_000, env }, (err, stdout, stderr) =>
      resolve({ ok: !err, out: `${stdout}${stderr}`.trim() }),
    );
  });
}

/**
 * Checks at start-up what this machine can give: bubblewrap that really starts `execPath` in
 * fresh namespaces (user namespaces may be refused), prlimit, nice and SCHED_IDLE.
 */
export async function probeSandbox(
  execPath: string,
  env: NodeJS.ProcessEnv,
  scratch: string,
  want: 'auto' | 'off' = 'auto',
): Promise<SandboxProbe> {
  if (process.platform !== 'linux')
    return {
      isolation: 'permission-model',
      tools: {},
      reason: `no sandbox on ${process.platform}`,
    };
  const tools: LaunchTools = {};
  const prlimit = findTool('prlimit');
  if (prlimit && (await run(prlimit, ['--nofile', '--', '/bin/true'])).ok) tools.prlimit = prlimit;
  const nice = findTool('nice');
  if (nice) tools.nice = nice;
  const chrt = findTool('chrt');
  if (chrt && (await run(chrt, ['--idle', '0', '/bin/true'])).ok) tools.chrt = chrt;
  if (want === 'off')
    return { isolation: 'permission-model', tools, reason: 'sandbox turned off by the owner' };
  const bwrap = findTool('bwrap');
  if (!bwrap)
    return {
      isolation: 'permission-model',
      tools,
      reason: 'bubblewrap is not installed (apt-get install bubblewrap)',
    };
  const mounts: SandboxMounts = {
    writable: scratch,
    staged: scratch,
    readOnly: [nodeHome(execPath)],
    network: false,
    cwd: scratch,
  };
  const probe = await run(bwrap, [...bwrapArgs(mounts), '--', execPath, '-e', '0'], env);
  if (!probe.ok)
    return {
      isolation: 'permission-model',
      tools,
      reason: `bubblewrap cannot start a sandbox here: ${probe.out.slice(0, 300)}`,
    };
  tools.bwrap = bwrap;
  return { isolation: 'sandbox', tools };
}

/** The folder a Node or Electron binary needs beside it (Electron: its .pak, .so and ICU files). */
export function nodeHome(execPath: string): string {
  return path.dirname(realpathSync(execPath));
}

let procCount: { at: number; n: number } | undefined;

/**
 * RLIMIT_NPROC counts every process of the user, not of the task: the limit is what the user
 * runs now plus the task's share (cached for a few seconds; it is a brake for fork bombs).
 */
function userProcessCount(): number {
  const now = Date.now();
  if (procCount && now - procCount.at < 5000) return procCount.n;
  const uid = process.getuid?.() ?? 0;
  let n = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const m = /^Uid:\s+(\d+)/m.exec(status);
      const threads = /^Threads:\s+(\d+)/m.exec(status);
      if (m && Number(m[1]) === uid) n += Number(threads?.[1] ?? 1);
    } catch {
      // gone meanwhile
    }
  }
  procCount = { at: now, n };
  return n;
}

/** Pids below `root` (children, grandchildren…), from /proc; empty off Linux. */
export function descendants(root: number): number[] {
  if (process.platform !== 'linux') return [];
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0 && out.length < 100_000) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

/** Sends `signal` to `root` and everything below it; stops top-down so nothing forks meanwhile. */
export function signalTree(root: number, signal: NodeJS.Signals): void {
  for (const pid of [root, ...descendants(root)]) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}
