// Runs one node task inside the worker process: imports the module once, builds `ctx`, checks the output.
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';
import type { FromWorkerMessage, WorkerRunMessage } from '../../../shared/worker-ipc.js';
import { BadOutputError, TaskCancelledError, TaskModuleError } from './errors.js';
import { outputProblem } from './json-check.js';

export interface TaskContext {
  progress(fraction: number, message?: string): void;
  readonly signal: AbortSignal;
  log(...args: unknown[]): void;
  readonly workdir: string;
  readonly files: Readonly<Record<string, string>>;
}

type TaskFn = (input: unknown, ctx: TaskContext) => unknown;
type Send = (msg: FromWorkerMessage, then?: () => void) => void;

// Progress is coalesced so a task reporting in a tight loop cannot flood the IPC channel.
const PROGRESS_INTERVAL_MS = 100;

const modules = new Map<string, Promise<TaskFn>>();

/** Imports a task module once per path; a failed import is forgotten so a later attempt can retry. */
export function loadTask(modulePath: string): Promise<TaskFn> {
  let loaded = modules.get(modulePath);
  if (!loaded) {
    loaded = import(pathToFileURL(modulePath).href).then((mod: { default?: unknown }) => {
      if (typeof mod.default !== 'function') {
        throw new TaskModuleError(`task module ${modulePath} has no default-exported function`);
      }
      return mod.default as TaskFn;
    });
    modules.set(modulePath, loaded);
    loaded.catch(() => modules.delete(modulePath));
  }
  return loaded;
}

/** One attempt in flight; `finish` sends exactly one done/error whatever happens afterwards. */
export class RunningTask {
  readonly controller = new AbortController();
  private settled = false;
  private readonly cpuStart = process.cpuUsage();
  private lastProgress = 0;
  private pending: { fraction: number; message?: string } | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly msg: WorkerRunMessage,
    private readonly send: Send,
  ) {}

  get attemptId(): string {
    return this.msg.attemptId;
  }

  get isSettled(): boolean {
    return this.settled;
  }

  cancel(): void {
    this.controller.abort(new TaskCancelledError(this.attemptId));
  }

  async run(): Promise<void> {
    try {
      const fn = await loadTask(this.msg.modulePath);
      const output = await fn(this.msg.input, this.context());
      const bad = outputProblem(output, this.msg.maxOutputDepth);
      if (bad) throw new BadOutputError(bad);
      this.finish({ type: 'done', attemptId: this.attemptId, output, cpuMs: this.cpuMs() });
    } catch (err) {
      this.fail(err);
    }
  }

  /** Reports `err` unless the attempt already settled; `then` runs once the message is sent. */
  fail(err: unknown, then?: () => void): void {
    const msg = errorMessage(this.attemptId, err, this.cpuMs());
    this.finish(then && msg.type === 'error' ? { ...msg, fatal: true } : msg, then);
  }

  private finish(msg: FromWorkerMessage, then?: () => void): void {
    if (this.settled) return;
    this.flushProgress();
    this.settled = true;
    this.send(msg, then);
  }

  private cpuMs(): number {
    const used = process.cpuUsage(this.cpuStart);
    return Math.round((used.user + used.system) / 1000);
  }

  private context(): TaskContext {
    const { workdir, files } = this.msg;
    return {
      progress: (fraction, message) => this.progress(fraction, message),
      signal: this.controller.signal,
      log: (...args) => {
        if (!this.settled)
          this.send({ type: 'log', attemptId: this.attemptId, line: format(...args) });
      },
      workdir,
      files: Object.freeze({ ...files }),
    };
  }

  private progress(fraction: unknown, message: unknown): void {
    if (typeof fraction !== 'number' || !Number.isFinite(fraction)) {
      throw new TypeError(
        'ctx.progress(fraction, message?): fraction must be a number between 0 and 1',
      );
    }
    if (this.settled) return;
    const clamped = Math.min(1, Math.max(0, fraction));
    this.pending =
      message === undefined
        ? { fraction: clamped }
        : { fraction: clamped, message: typeof message === 'string' ? message : format(message) };
    const wait = this.lastProgress + PROGRESS_INTERVAL_MS - Date.now();
    if (wait <= 0) this.flushProgress();
    else this.timer ??= setTimeout(() => this.flushProgress(), wait);
  }

  private flushProgress(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.pending || this.settled) return;
    this.lastProgress = Date.now();
    this.send({ type: 'progress', attemptId: this.attemptId, ...this.pending });
    this.pending = undefined;
  }
}

/** Node marks permission-model denials with ERR_ACCESS_DENIED; tasks may wrap them, so follow `cause`. */
function findAccessDenied(
  err: unknown,
): (Error & { permission?: string; resource?: string }) | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if ((e as { code?: unknown }).code === 'ERR_ACCESS_DENIED') return e;
  }
  return undefined;
}

export function errorMessage(attemptId: string, err: unknown, cpuMs: number): FromWorkerMessage {
  const base = { type: 'error' as const, attemptId, cpuMs };
  const denied = findAccessDenied(err);
  if (denied) {
    const what = [denied.permission, denied.resource].filter(Boolean).join(' ');
    const message = `permission denied (ERR_ACCESS_DENIED)${what ? `: ${what}` : ''}: ${denied.message}`;
    return { ...base, kind: 'permission', code: 'ERR_ACCESS_DENIED', message, stack: stackOf(err) };
  }
  if (!(err instanceof Error))
    return { ...base, kind: 'error', message: `task threw a non-error: ${format(err)}` };
  const code = (err as { code?: unknown }).code;
  return {
    ...base,
    kind: err instanceof BadOutputError ? 'bad-output' : 'error',
    message: err.message || err.name,
    stack: stackOf(err),
    ...(typeof code === 'string' ? { code } : {}),
  };
}

function stackOf(err: unknown): string | undefined {
  return err instanceof Error && typeof err.stack === 'string' ? err.stack : undefined;
}
