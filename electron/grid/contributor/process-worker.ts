// One forked worker process: start-up handshake, validated messages, output lines, signals, exit.
import { fork, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { FromWorkerMessage, type ToWorkerMessage } from '../../../shared/worker-ipc.js';
import { ExecError } from '../worker/errors.js';

export interface WorkerSpawnOptions {
  workerPath: string;
  execPath: string;
  execArgv: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  readyTimeoutMs: number;
  logger?: Logger;
}

export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const STDERR_KEEP = 2048;

export class WorkerProcess {
  readonly pid: number;
  readonly ready: Promise<void>;
  readonly exited: Promise<WorkerExit>;
  /** Set by whoever runs an attempt on this worker; messages arriving without one are dropped. */
  onMessage: ((msg: FromWorkerMessage) => void) | undefined;
  onLine: ((line: string) => void) | undefined;
  private exit: WorkerExit | undefined;
  private stderrTail = '';
  private readonly child: ChildProcess;

  constructor(private readonly opts: WorkerSpawnOptions) {
    this.child = fork(opts.workerPath, [], {
      execPath: opts.execPath,
      execArgv: opts.execArgv,
      env: opts.env,
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    this.pid = this.child.pid ?? -1;
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
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
      process.kill(this.pid, signal);
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

  private readLines(stream: NodeJS.ReadableStream | null, isStderr: boolean): void {
    let partial = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      if (isStderr) this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_KEEP);
      const lines = (partial + chunk).split('\n');
      partial = (lines.pop() ?? '').slice(-4096);
      for (const line of lines) {
        if (this.onLine) this.onLine(line);
        else this.opts.logger?.debug({ pid: this.pid, line }, 'worker output');
      }
    });
  }
}
