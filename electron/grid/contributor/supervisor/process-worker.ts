// One forked worker process: start-up handshake, validated messages, output lines, signals, exit.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import type { Logger } from 'pino';
import { FromWorkerMessage, type ToWorkerMessage } from '../../../../shared/worker-ipc.js';
import { ExecError } from '../../worker/errors.js';
import { EndMarkReader } from '../../worker/output-end.js';
import { noteChildReaped } from '../../worker/proc-stat.js';

export interface WorkerSpawnOptions {
  workerPath: string;
  execPath: string;
  execArgv: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  readyTimeoutMs: number;
  logger?: Logger;
  /** Programs the worker is started through (priority, limits, sandbox), each ending in an exec. */
  prefix?: string[];
  /** Signal the whole process tree under the first pid (a sandbox puts the worker below it). */
  treeSignals?: (pid: number, signal: NodeJS.Signals) => void;
}

export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const STDERR_KEEP = 2048;

export class WorkerProcess {
  readonly pid: number;
  /** The process that runs the task's code (below the sandbox's own), for CPU readings. */
  cpuPid: number;
  readonly ready: Promise<void>;
  readonly exited: Promise<WorkerExit>;
  /** Set by whoever runs an attempt on this worker; messages arriving without one are dropped. */
  onMessage: ((msg: FromWorkerMessage) => void) | undefined;
  onLine: ((line: string) => void) | undefined;
  /** The raw stdout / stderr text as the worker wrote it (for the attempt's kept logs). */
  onOutput: ((stream: 'stdout' | 'stderr', chunk: string) => void) | undefined;
  private exit: WorkerExit | undefined;
  private stderrTail = '';
  /** The last end mark seen on each pipe, and who waits for one. */
  private readonly lastMark = { stdout: '', stderr: '' };
  private markWaiters = new Set<() => void>();
  private readonly child: ChildProcess;

  constructor(private readonly opts: WorkerSpawnOptions) {
    const [launcher, ...launchArgs] = opts.prefix ?? [];
    this.child = launcher
      ? spawn(launcher, [...launchArgs, opts.execPath, ...opts.execArgv, opts.workerPath], {
          env: opts.env,
          cwd: opts.cwd,
          stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
          serialization: 'json',
        })
      : fork(opts.workerPath, [], {
          execPath: opts.execPath,
          execArgv: opts.execArgv,
          env: opts.env,
          cwd: opts.cwd,
          stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
          serialization: 'json',
        });
    this.pid = this.child.pid ?? -1;
    this.cpuPid = this.pid;
    // Without a launcher that did it already: the owner's own programs always come first.
    if (!launcher && this.pid > 0)
      try {
        os.setPriority(this.pid, os.constants.priority.PRIORITY_LOW);
      } catch {
        // not permitted here: the worker keeps normal priority
      }
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        noteChildReaped(); // a command running meanwhile cannot take its CPU from the total
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    this.child.on('error', (err) =>
      opts.logger?.warn({ err, pid: this.pid }, 'worker process error'),
    );
    this.readLines(this.child.stdout, false);
    this.readLines(this.child.stderr, true);
    this.ready = this.handshake();
    this.ready.catch(() => this.kill());
    this.child.on('message', (raw) => this.receive(raw));
  }

  get alive(): boolean {
    return this.exit === undefined && this.pid > 0;
  }

  /** The last lines the worker wrote to stderr: V8's out-of-memory report ends up here. */
  recentStderr(): string {
    return this.stderrTail.trim();
  }

  /** Forget earlier stderr so a crash report only shows what the current attempt caused. */
  clearStderr(): void {
    this.stderrTail = '';
  }

  send(msg: ToWorkerMessage): void {
    if (this.alive && this.child.connected) this.child.send(msg);
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.alive) return;
    try {
      if (this.opts.treeSignals) this.opts.treeSignals(this.pid, signal);
      else process.kill(this.pid, signal);
    } catch {
      // ESRCH: it exited between the check and the signal.
    }
  }

  kill(): void {
    this.signal('SIGKILL');
  }

  private handshake(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new ExecError(
            'WORKER_START_FAILED',
            `worker ${this.pid} sent no ready message in ${this.opts.readyTimeoutMs} ms`,
          ),
        );
      }, this.opts.readyTimeoutMs);
      const onReady = (raw: unknown): void => {
        if ((raw as { type?: unknown } | null)?.type !== 'ready') return;
        clearTimeout(timer);
        this.child.off('message', onReady);
        resolve();
      };
      this.child.on('message', onReady);
      void this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        const why = signal ? `signal ${signal}` : `code ${code}`;
        const tail = this.recentStderr();
        reject(
          new ExecError(
            'WORKER_START_FAILED',
            `worker exited during start-up with ${why}${tail ? `: ${tail}` : ''}`,
          ),
        );
      });
    });
  }

  private receive(raw: unknown): void {
    const parsed = FromWorkerMessage.safeParse(raw);
    if (!parsed.success) {
      this.opts.logger?.warn(
        { pid: this.pid, issues: parsed.error.issues },
        'malformed message from worker',
      );
      return;
    }
    if (parsed.data.type !== 'ready') this.onMessage?.(parsed.data);
  }

  /**
   * Resolves once the worker's end mark for `attemptId` came through both stdout and stderr (all
   * it wrote before its result has been read), or after `ms`, or when the worker is gone.
   */
  outputEnd(attemptId: string, ms: number): Promise<void> {
    const seen = () =>
      !this.alive || (this.lastMark.stdout === attemptId && this.lastMark.stderr === attemptId);
    if (seen()) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.markWaiters.delete(check);
        resolve();
      };
      const check = () => {
        if (seen()) done();
      };
      const timer = setTimeout(done, ms);
      this.markWaiters.add(check);
      void this.exited.then(done);
    });
  }

  private readLines(stream: NodeJS.ReadableStream | null, isStderr: boolean): void {
    const name = isStderr ? 'stderr' : 'stdout';
    let partial = '';
    const reader = new EndMarkReader(
      (chunk) => {
        if (isStderr) this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_KEEP);
        this.onOutput?.(name, chunk);
        const lines = (partial + chunk).split('\n');
        partial = (lines.pop() ?? '').slice(-4096);
        for (const line of lines) {
          if (this.onLine) this.onLine(line);
          else this.opts.logger?.debug({ pid: this.pid, line }, 'worker output');
        }
      },
      (attemptId) => {
        this.lastMark[name] = attemptId;
        for (const check of [...this.markWaiters]) check();
      },
    );
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => reader.push(chunk));
    stream?.on('end', () => reader.flush());
  }
}
