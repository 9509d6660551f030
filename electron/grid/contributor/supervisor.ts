// Keeps N long-lived worker processes and runs task attempts on them (node) or beside them (command).
import { EventEmitter } from 'node:events';
import { mkdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { ExecError } from '../worker/errors.js';
import { isAlive } from '../worker/proc-stat.js';
import { detectNodeVersion, workerExecArgv } from './process-flags.js';
import { SlotPool, type Slot } from './supervisor-slots.js';
import { Attempt, type RunHooks, type RunOutcome, type RunRequest } from './supervisor-attempt.js';
import { commandEnv, runCommand } from './supervisor-command.js';
import { commonOutcome, runOnWorker } from './supervisor-node.js';
import {
  checkAttemptId,
  prepareWorkdir,
  removeOutputs,
  removeWorkdir,
} from './supervisor-workdir.js';

export type { FailureReason, RunHooks, RunOutcome, RunRequest } from './supervisor-attempt.js';
export type { OutputFile } from './supervisor-workdir.js';

export interface SupervisorOptions {
  /** Worker processes to keep (≥ 0). */
  slots: number;
  /** Attempts get `<workRoot>/<attemptId>/`; the only place workers may write. */
  workRoot: string;
  /** Read-only for workers: task modules (`modules/<sha>.mjs`) and staged files live here. */
  blobCacheDir: string;
  /** Run `command` tasks at all (the owner's `--allow-commands`). */
  allowCommands: boolean;
  /** Binary that runs workers. @defaultValue process.execPath (Electron: its binary + ELECTRON_RUN_AS_NODE in `env`) */
  execPath?: string;
  /** Extra environment for workers, on top of a minimal PATH/locale/temp set. */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Where collected output files are moved, outside the workers' write access. @defaultValue `<workRoot>-outputs` */
  outputRoot?: string;
  /** V8 heap limit of each worker, so a greedy task dies alone. @defaultValue 1024 */
  maxOldSpaceMb?: number;
  /** Compiled worker entry. @defaultValue `../worker/worker-main.js` beside this module */
  workerPath?: string;
  /** How long a new worker may take to say ready. @defaultValue 20000 */
  readyTimeoutMs?: number;
}

export interface SupervisorEvents {
  'worker-start': (e: { slot: number; pid: number }) => void;
  'worker-exit': (e: {
    slot: number;
    pid: number;
    code: number | null;
    signal: NodeJS.Signals | null;
  }) => void;
  outcome: (outcome: RunOutcome) => void;
}

export interface ProbeResult {
  alive: boolean;
  /** Worker pid (node) or process-group leader (command), once started. */
  pid?: number;
  cpuMs: number;
  progress?: number;
  suspended: boolean;
}

const WORKER_ENV_KEYS = ['PATH', 'LANG', 'LC_ALL', 'TZ', 'SYSTEMROOT', 'TMPDIR', 'TEMP', 'TMP'];

export class Supervisor {
  private readonly opts: Required<Omit<SupervisorOptions, 'logger' | 'env'>> &
    Pick<SupervisorOptions, 'logger' | 'env'>;
  private readonly events = new EventEmitter();
  private readonly pool: SlotPool;
  private readonly attempts = new Map<string, Attempt>();
  private execArgv: string[] = [];
  private started = false;
  private stopped = false;

  constructor(opts: SupervisorOptions) {
    if (!Number.isInteger(opts.slots) || opts.slots < 0)
      throw new RangeError(`slots must be an integer ≥ 0, got ${opts.slots}`);
    const maxOldSpaceMb = opts.maxOldSpaceMb ?? 1024;
    if (!Number.isInteger(maxOldSpaceMb) || maxOldSpaceMb < 16)
      throw new RangeError('maxOldSpaceMb must be an integer ≥ 16');
    this.opts = {
      execPath: process.execPath,
      outputRoot: `${opts.workRoot.replace(/[\\/]+$/, '')}-outputs`,
      workerPath: fileURLToPath(new URL('../worker/worker-main.js', import.meta.url)),
      readyTimeoutMs: 20_000,
      ...opts,
      maxOldSpaceMb,
    };
    this.pool = new SlotPool(
      () => ({
        workerPath: this.opts.workerPath,
        execPath: this.opts.execPath,
        execArgv: this.execArgv,
        env: this.workerEnv(),
        cwd: this.opts.workRoot,
        readyTimeoutMs: this.opts.readyTimeoutMs,
        ...(this.opts.logger ? { logger: this.opts.logger } : {}),
      }),
      {
        onStart: (slot, pid) => this.emit('worker-start', { slot, pid }),
        onExit: (slot, pid, code, signal) => this.emit('worker-exit', { slot, pid, code, signal }),
      },
      opts.logger,
    );
  }

  on<E extends keyof SupervisorEvents>(event: E, listener: SupervisorEvents[E]): this {
    this.events.on(event, listener);
    return this;
  }

  off<E extends keyof SupervisorEvents>(event: E, listener: SupervisorEvents[E]): this {
    this.events.off(event, listener);
    return this;
  }

  private emit<E extends keyof SupervisorEvents>(
    event: E,
    ...args: Parameters<SupervisorEvents[E]>
  ): void {
    this.events.emit(event, ...args);
  }

  /** Creates the folders, works out the permission flags and waits until every worker is ready. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { workRoot, blobCacheDir, outputRoot } = this.opts;
    await Promise.all(
      [workRoot, blobCacheDir, outputRoot].map((dir) => mkdir(dir, { recursive: true })),
    );
    // The permission model compares resolved paths; a symlinked /tmp (macOS) would otherwise deny.
    this.opts.workRoot = await realpath(workRoot);
    this.opts.blobCacheDir = await realpath(blobCacheDir);
    this.opts.outputRoot = await realpath(outputRoot);
    const nodeVersion = await detectNodeVersion(this.opts.execPath, this.workerEnv());
    this.execArgv = workerExecArgv({
      nodeVersion,
      workerDir: path.dirname(path.resolve(this.opts.workerPath)),
      blobCacheDir: this.opts.blobCacheDir,
      workRoot: this.opts.workRoot,
      maxOldSpaceMb: this.opts.maxOldSpaceMb,
    });
    for (let i = 0; i < this.opts.slots; i++) this.pool.add();
    try {
      await Promise.all(
        this.pool.slots.flatMap((slot) => (slot.worker ? [slot.worker.ready] : [])),
      );
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  get freeSlots(): number {
    return this.pool.slots.filter((s) => !s.retiring && !s.attempt).length;
  }

  /** Grows at once; shrinking stops idle workers now and busy ones when their attempt ends. */
  setSlots(n: number): void {
    if (!Number.isInteger(n) || n < 0)
      throw new RangeError(`slots must be an integer ≥ 0, got ${n}`);
    this.opts.slots = n;
    if (!this.started || this.stopped) return;
    this.pool.resize(n);
  }

  /** Runs one attempt on a free slot; throws (ExecError) only on misuse: no free slot, duplicate id, stopped. */
  async run(req: RunRequest, hooks: RunHooks = {}): Promise<RunOutcome> {
    if (!this.started || this.stopped)
      throw new ExecError('SUPERVISOR_STOPPED', 'supervisor is not running');
    checkAttemptId(req.attemptId);
    if (this.attempts.has(req.attemptId)) {
      throw new ExecError('DUPLICATE_ATTEMPT', `attempt ${req.attemptId} is already running`);
    }
    const slot = this.pool.free();
    if (!slot) throw new ExecError('NO_FREE_SLOT', `no free slot for attempt ${req.attemptId}`);
    const attempt = new Attempt(req, hooks);
    slot.attempt = attempt;
    this.attempts.set(req.attemptId, attempt);
    let outcome: RunOutcome;
    try {
      outcome = await this.execute(slot, attempt);
    } catch (err) {
      outcome = this.failureOutcome(attempt, err);
    }
    attempt.end({ kind: 'cancel' }); // stops the timer whatever happened
    await removeWorkdir(this.opts.workRoot, req.attemptId).catch((err: unknown) =>
      this.opts.logger?.warn({ err, attemptId: req.attemptId }, 'could not remove workdir'),
    );
    this.attempts.delete(req.attemptId);
    slot.attempt = undefined;
    this.pool.release(slot);
    this.emit('outcome', outcome);
    attempt.resolveFinished(outcome);
    return outcome;
  }

  /** Terminates the attempt (ctx.signal first, SIGKILL after a short grace) and waits for its outcome. */
  async cancel(attemptId: string): Promise<void> {
    const attempt = this.attempts.get(attemptId);
    if (!attempt) return;
    attempt.requestCancel();
    await attempt.finished;
  }

  /** SIGSTOP of the worker or the command's process group; its time limit pauses too. */
  suspend(attemptId: string): void {
    this.attempts.get(attemptId)?.setSuspended(true);
  }

  resume(attemptId: string): void {
    this.attempts.get(attemptId)?.setSuspended(false);
  }

  probe(attemptId: string): ProbeResult | undefined {
    const attempt = this.attempts.get(attemptId);
    if (!attempt) return undefined;
    const pid = attempt.control?.pid;
    return {
      alive: pid !== undefined && pid > 0 ? isAlive(pid) : !attempt.ended,
      ...(pid !== undefined && pid > 0 ? { pid } : {}),
      cpuMs: attempt.cpuMs(),
      ...(attempt.progress !== undefined ? { progress: attempt.progress } : {}),
      suspended: attempt.suspended,
    };
  }

  running(): string[] {
    return [...this.attempts.keys()];
  }

  /** Worker pids by slot, for diagnostics and tests. */
  workerPids(): number[] {
    return this.pool.pids();
  }

  /** Removes the collected output files of an attempt once the caller has uploaded them. */
  removeOutputs(attemptId: string): Promise<void> {
    return removeOutputs(this.opts.outputRoot, attemptId);
  }

  /** Kills every attempt and worker and waits until they have exited. */
  async stop(): Promise<void> {
    this.stopped = true;
    const attempts = [...this.attempts.values()];
    for (const attempt of attempts) attempt.abortNow();
    await Promise.all(attempts.map((a) => a.finished));
    await this.pool.stop();
  }

  private async execute(slot: Slot, attempt: Attempt): Promise<RunOutcome> {
    const { req } = attempt;
    if (req.runtime === 'command' && !this.opts.allowCommands) {
      const error =
        'command tasks are not allowed on this contributor (its owner did not pass --allow-commands)';
      return {
        attemptId: req.attemptId,
        state: 'failed',
        reason: 'not-allowed',
        error,
        wallMs: 0,
        cpuMs: 0,
      };
    }
    if (!(req.timeoutMs > 0)) throw new RangeError(`timeoutMs must be > 0, got ${req.timeoutMs}`);
    const { workdir, files } = await prepareWorkdir(this.opts.workRoot, req.attemptId, req.files);
    attempt.startTimer();
    if (req.runtime === 'command') {
      return runCommand(attempt, workdir, this.opts.outputRoot, commandEnv(process.env));
    }
    if (!req.modulePath) throw new TypeError('a node task needs modulePath');
    const worker = await Promise.race([
      this.pool.readyWorker(slot),
      attempt.ending.then(() => undefined),
    ]);
    if (!worker) return commonOutcome(attempt, await attempt.ending, 0);
    return runOnWorker(attempt, worker, {
      modulePath: req.modulePath,
      input: req.input,
      files,
      workdir,
    });
  }

  private failureOutcome(attempt: Attempt, err: unknown): RunOutcome {
    const base = { attemptId: attempt.id, wallMs: attempt.wallMs(), cpuMs: attempt.cpuMs() };
    if (attempt.cancelRequested) return { ...base, state: 'cancelled' };
    const crashed = err instanceof ExecError && err.code === 'WORKER_START_FAILED';
    const error = err instanceof Error ? err.message : String(err);
    return { ...base, state: 'failed', reason: crashed ? 'crash' : 'error', error };
  }

  private workerEnv(): NodeJS.ProcessEnv {
    const base = Object.fromEntries(
      WORKER_ENV_KEYS.flatMap((k) => (process.env[k] ? [[k, process.env[k]]] : [])),
    );
    return { ...base, ...this.opts.env };
  }
}
