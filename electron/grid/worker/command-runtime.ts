// Runs a `command` task as its own process group in the attempt's workdir (spawned by the manager,
// since workers may not start processes), capturing stdout/stderr to files and their tails in memory.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import {
  childrenReaped,
  noteChildReaped,
  readCpuMs,
  readWaitedChildrenCpuMs,
} from './proc-stat.js';

export const STDOUT_FILE = '.stdout.log';
export const STDERR_FILE = '.stderr.log';
const STDOUT_TAIL = 64 * 1024;
const STDERR_TAIL = 4 * 1024;
const MAX_LOG_LINE = 4096;
const CPU_SAMPLE_MS = 250;

export interface CommandResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdoutTail: string;
  stderrTail: string;
  /** The command's rusage (Linux: this process's waited-children CPU across its life, else the last /proc sample); 0 elsewhere. */
  cpuMs: number;
  /** Set when the command could not be started at all (e.g. ENOENT). */
  spawnError?: Error;
}

/** Keeps the last `limit` bytes written to it. */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - (this.chunks[0]?.length ?? 0) >= this.limit)
      this.size -= this.chunks.shift()?.length ?? 0;
  }
  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }
}

/** Splits a byte stream into lines for the log hook, bounding line length. */
function lineSplitter(onLine: (line: string) => void): (chunk: Buffer) => void {
  let partial = '';
  return (chunk) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = (lines.pop() ?? '').slice(-MAX_LOG_LINE);
    for (const line of lines) onLine(line.slice(0, MAX_LOG_LINE));
  };
}

export class CommandProcess {
  private child: ChildProcess | undefined;
  private lastCpuMs = 0;

  constructor(
    private readonly argv: readonly string[],
    private readonly workdir: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly onLog?: (line: string) => void,
    private readonly onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** CPU used so far (sampled from /proc while it runs). */
  cpuMs(): number {
    const pid = this.child?.pid;
    const now = pid === undefined ? undefined : readCpuMs(pid, true);
    if (now !== undefined) this.lastCpuMs = now;
    return this.lastCpuMs;
  }

  /** Spawns and resolves once the leader has exited and its streams are flushed to the log files. */
  run(): Promise<CommandResult> {
    const [file, ...args] = this.argv;
    const out = createWriteStream(path.join(this.workdir, STDOUT_FILE));
    const err = createWriteStream(path.join(this.workdir, STDERR_FILE));
    const stdoutTail = new Tail(STDOUT_TAIL);
    const stderrTail = new Tail(STDERR_TAIL);
    const child = spawn(file ?? '', args, {
      cwd: this.workdir,
      env: this.env,
      detached: true, // its own process group, so cancel and timeout can kill everything it started
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    });
    this.child = child;
    // A command's CPU is the change of this process's waited-children total across its life, when
    // no other child (command or worker) was reaped meanwhile; else the last /proc sample.
    const reapedAtStart = childrenReaped();
    const waitedAtStart = readWaitedChildrenCpuMs();
    this.pipe(child.stdout, out, stdoutTail, 'stdout');
    this.pipe(child.stderr, err, stderrTail, 'stderr');
    const sampler = setInterval(() => this.cpuMs(), CPU_SAMPLE_MS);
    return new Promise((resolve) => {
      let spawnError: Error | undefined;
      child.once('error', (e) => (spawnError = e));
      // 'close' waits for the pipes; the group is killed on the leader's exit so no straggler holds them.
      child.once('exit', () => {
        const waited = readWaitedChildrenCpuMs();
        noteChildReaped();
        const mine = childrenReaped();
        // Children reaped in the same batch as this one have had their exit events by then.
        setImmediate(() => {
          const alone = reapedAtStart + 1 === mine && childrenReaped() === mine;
          if (alone && waited !== undefined && waitedAtStart !== undefined)
            this.lastCpuMs = Math.max(this.lastCpuMs, waited - waitedAtStart);
        });
        this.killGroup('SIGKILL');
      });
      child.once('close', (exitCode: number | null, signal: NodeJS.Signals | null) => {
        clearInterval(sampler);
        void Promise.all([closeStream(out), closeStream(err), nextTurn()]).then(() =>
          resolve({
            exitCode,
            signal,
            stdoutTail: stdoutTail.text(),
            stderrTail: stderrTail.text(),
            cpuMs: this.lastCpuMs,
            ...(spawnError ? { spawnError } : {}),
          }),
        );
      });
    });
  }

  private pipe(
    stream: NodeJS.ReadableStream | null,
    file: WriteStream,
    tail: Tail,
    name: 'stdout' | 'stderr',
  ): void {
    const split = this.onLog ? lineSplitter(this.onLog) : undefined;
    stream?.on('data', (chunk: Buffer) => {
      file.write(chunk);
      tail.push(chunk);
      this.onOutput?.(name, chunk);
      split?.(chunk);
    });
  }

  /** Signals the whole process group (POSIX); on Windows only the leader can be reached this way. */
  killGroup(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      if (process.platform === 'win32') this.child?.kill(signal);
      else process.kill(-pid, signal);
    } catch {
      // ESRCH: the group is already gone, which is what we wanted.
    }
  }
}

/** After the exit handler's setImmediate (queued first), so the CPU figure is settled. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function closeStream(stream: WriteStream): Promise<void> {
  return new Promise((resolve) => stream.end(() => resolve()));
}
