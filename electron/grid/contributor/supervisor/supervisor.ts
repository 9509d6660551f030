// Runs task attempts in fresh worker processes per job (node) or one process each (command), inside
// the operating-system sandbox where the machine has one, at the lowest priority, with limits.
import { EventEmitter } from 'node:events';
import { mkdir, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { JSON_LIMITS } from '../../../../shared/bounded-json.js';
import { ExecError } from '../../worker/errors.js';
import { isAlive } from '../../worker/proc-stat.js';
import { inspectRuntime, workerExecArgv, type RuntimeFacts } from './process-flags.js';
import { Attempt, type RunHooks, type RunOutcome, type RunRequest } from './supervisor-attempt.js';
import { commandEnv, runCommand } from './supervisor-command.js';
import { commonOutcome, runOnWorker } from './supervisor-node.js';
import {
  checkAttemptId,
  dirUsage,
  prepareWorkdir,
  removeOutputs,
  removeWorkdir,
  type OutputLimits,
} from './supervisor-workdir.js';
import { JobBox, WorkerPool } from './supervisor-workers.js';
import {
  DEFAULT_LIMITS,
  launchPrefix,
  nodeHome,
  probeSandbox,
  signalTree,
  type IsolationLevel,
  type SandboxLimits,
  type SandboxProbe,
} from './sandbox.js';
import type { WorkerSpawnOptions } from './process-worker.js';

export type { FailureReason, RunHooks, RunOutcome, RunRequest } from './supervisor-attempt.js';
export type { OutputFile } from './supervisor-workdir.js';
export type { IsolationLevel, SandboxLimits } from './sandbox.js';

export interface SupervisorOptions {
  /** Attempts that may run at once (≥ 0). */
  slots: number;
  /** Each worker gets `<workRoot>/w<n>/`, attempts `<workRoot>/w<n>/<attemptId>/`. */
  workRoot: string;
  /** The manager's blob cache: never visible to tasks (their files are staged per worker). */
  blobCacheDir: string;
  /** Run `command` tasks at all (the owner's `--allow-commands`). */
  allowCommands: boolean;
  /** Let tasks of jobs that ask for `network: true` use the network (the owner's `--allow-network`). */
  allowNetwork?: boolean;
  /** `off` runs without bubblewrap even where it works (tests, benchmarks). @defaultValue 'auto' */
  sandbox?: 'auto' | 'off';
  /** Refuse to start without the operating-system sandbox (the owner's `--require-sandbox`). */
  requireSandbox?: boolean;
  /** Memory, process and file-size limits of each task. */
  limits?: Partial<SandboxLimits>;
  /** Largest an attempt's workdir may grow, MiB. @defaultValue 4096 */
  maxWorkdirMb?: number;
  /** Output limits when the job gives none. @defaultValue 1000 files, 4 GiB */
  outputLimits?: OutputLimits;
  /**
   * Keep one fresh worker started per free slot (never used; bound to a job at its first task,
   * then that job's alone), so a new job does not wait for a worker to start. Idle spares are
   * processes only: with them up to twice `slots` workers exist, never more than `slots` busy.
   * @defaultValue true
   */
  spareWorkers?: boolean;
  /** Whether the manager already holds more tasks of a job: its idle worker then waits longer. */
  keepWorker?: (jobId: string) => boolean;
  /** Binary that runs workers. @defaultValue process.execPath (Electron: its binary + ELECTRON_RUN_AS_NODE in `env`) */
  execPath?: string;
  /** Extra environment for workers, on top of a minimal PATH/locale/temp set. */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Where collected output files are copied, outside the workers' reach. @defaultValue `<workRoot>-outputs` */
  outputRoot?: string;
  /** Where each worker's staged files are linked, read-only to it. @defaultValue `<workRoot>-staged` */
  stagedRoot?: string;
  /** V8 heap limit of each worker, so a greedy task dies alone. @defaultValue 1024 */
  maxOldSpaceMb?: number;
  /** Compiled worker entry. @defaultValue `../../worker/worker-main.js` beside this module */
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

function homeDir(): string {
  try {
    return os.homedir();
  } catch {
    return '/nonexistent';
  }
}

const WORKER_ENV_KEYS = ['PATH', 'LANG', 'LC_ALL', 'TZ', 'SYSTEMROOT', 'TMPDIR', 'TEMP', 'TMP'];
const WORKDIR_CHECK_MS = 1000;
const DEFAULT_OUTPUT_LIMITS: OutputLimits = { maxFiles: 1000, maxBytes: 4 * 1024 ** 3 };
const MEMORY_ERROR =
  /allocation failed|failed to allocate|out of memory|heap limit|cannot allocate memory|ENOMEM/i;

type Resolved = Required<
  Omit<SupervisorOptions, 'logger' | 'env' | 'limits' | 'keepWorker' | 'outputLimits'>
> &
  Pick<SupervisorOptions, 'logger' | 'env' | 'keepWorker'> & {
    limits: SandboxLimits;
    outputLimits: OutputLimits;
  };

export class Supervisor {
  private readonly opts: Resolved;
  private readonly events = new EventEmitter();
  private readonly pool: WorkerPool;
  private readonly attempts = new Map<string, Attempt>();
  private runtime: RuntimeFacts = { nodeVersion: process.versions.node, baseDataMb: 0 };
  private probe_: SandboxProbe = { isolation: 'permission-model', tools: {} };
  private started = false;
  private stopped = false;

  constructor(opts: SupervisorOptions) {
    if (!Number.isInteger(opts.slots) || opts.slots < 0)
      throw new RangeError(`slots must be an integer ≥ 0, got ${opts.slots}`);
    const maxOldSpaceMb = opts.maxOldSpaceMb ?? 1024;
    if (!Number.isInteger(maxOldSpaceMb) || maxOldSpaceMb < 16)
      throw new RangeError('maxOldSpaceMb must be an integer ≥ 16');
    const limits = { ...DEFAULT_LIMITS, ...opts.limits };
    for (const [k, v] of Object.entries(limits))
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`limits.${k} must be an integer ≥ 1`);
    const root = opts.workRoot.replace(/[\\/]+$/, '');
    this.opts = {
      execPath: process.execPath,
      outputRoot: `${root}-outputs`,
      stagedRoot: `${root}-staged`,
      workerPath: fileURLToPath(new URL('../../worker/worker-main.js', import.meta.url)),
      readyTimeoutMs: 20_000,
      sandbox: 'auto',
      requireSandbox: false,
      allowNetwork: false,
      spareWorkers: true,
      maxWorkdirMb: 4096,
      ...opts,
      limits,
      outputLimits: opts.outputLimits ?? DEFAULT_OUTPUT_LIMITS,
      maxOldSpaceMb,
    };
    this.pool = new WorkerPool({
      roots: () => ({ workRoot: this.opts.workRoot, stagedRoot: this.opts.stagedRoot }),
      spawnOptions: (box) => this.spawnOptions(box),
      keepWorker: (jobId) => this.opts.keepWorker?.(jobId) ?? false,
      spares: () => (this.opts.spareWorkers ? this.freeSlots : 0),
      onStart: (slot, pid) => this.emit('worker-start', { slot, pid }),
      onExit: (slot, pid, code, signal) => this.emit('worker-exit', { slot, pid, code, signal }),
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
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

  /** Creates the folders, finds out how well this machine can isolate tasks and checks it. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { workRoot, blobCacheDir, outputRoot, stagedRoot } = this.opts;
    await Promise.all(
      [workRoot, blobCacheDir, outputRoot, stagedRoot].map((dir) =>
        mkdir(dir, { recursive: true, mode: 0o700 }),
      ),
    );
    // The permission model compares resolved paths; a symlinked /tmp (macOS) would otherwise deny.
    this.opts.workRoot = await realpath(workRoot);
    this.opts.blobCacheDir = await realpath(blobCacheDir);
    this.opts.outputRoot = await realpath(outputRoot);
    this.opts.stagedRoot = await realpath(stagedRoot);
    // Leftovers of a crash: no worker of an earlier run is alive, so nobody needs them.
    await Promise.all(
      [this.opts.workRoot, this.opts.stagedRoot].map(async (dir) => {
        await rm(dir, { recursive: true, force: true });
        await mkdir(dir, { recursive: true, mode: 0o700 });
      }),
    );
    this.runtime = await inspectRuntime(this.opts.execPath, this.workerEnv());
    const scratch = path.join(this.opts.workRoot, '.probe');
    await mkdir(scratch, { recursive: true });
    this.probe_ = await probeSandbox(
      this.opts.execPath,
      this.workerEnv(),
      scratch,
      this.opts.sandbox,
    ).finally(() => rm(scratch, { recursive: true, force: true }));
    if (this.probe_.reason)
      this.opts.logger?.warn(
        { reason: this.probe_.reason },
        'tasks run under the permission model only',
      );
    if (this.opts.requireSandbox && this.probe_.isolation !== 'sandbox') {
      this.stopped = true;
      throw new ExecError(
        'WORKER_START_FAILED',
        `the owner requires the operating-system sandbox, but ${this.probe_.reason ?? 'it is not available'}`,
      );
    }
    this.pool.topUp();
  }

  /** How well tasks are kept apart from this machine and each other (known after start). */
  get isolation(): IsolationLevel {
    return this.probe_.isolation;
  }

  /** Why the isolation is only the permission model, when it is. */
  get isolationReason(): string | undefined {
    return this.probe_.reason;
  }

  get allowNetwork(): boolean {
    return this.opts.allowNetwork;
  }

  get freeSlots(): number {
    return Math.max(0, this.opts.slots - this.attempts.size);
  }

  /** Changes how many attempts may run at once; idle workers beyond that end now. */
  setSlots(n: number): void {
    if (!Number.isInteger(n) || n < 0)
      throw new RangeError(`slots must be an integer ≥ 0, got ${n}`);
    this.opts.slots = n;
    if (!this.started || this.stopped) return;
    const extra = this.pool.liveWorkers - n;
    if (extra > 0) void this.pool.closeIdle(extra, undefined, true).then(() => this.pool.topUp());
    else this.pool.topUp();
  }

  /** The manager has nothing more for `jobId`: its idle workers end now. */
  endJob(jobId: string): Promise<void> {
    return this.pool.closeJob(jobId);
  }

  /** Runs one attempt; throws (ExecError) only on misuse: no free slot, duplicate id, stopped. */
  async run(req: RunRequest, hooks: RunHooks = {}): Promise<RunOutcome> {
    if (!this.started || this.stopped)
      throw new ExecError('SUPERVISOR_STOPPED', 'supervisor is not running');
    checkAttemptId(req.attemptId);
    if (this.attempts.has(req.attemptId)) {
      throw new ExecError('DUPLICATE_ATTEMPT', `attempt ${req.attemptId} is already running`);
    }
    if (this.attempts.size >= this.opts.slots)
      throw new ExecError('NO_FREE_SLOT', `no free slot for attempt ${req.attemptId}`);
    const attempt = new Attempt(req, hooks);
    this.attempts.set(req.attemptId, attempt);
    let box: JobBox | undefined;
    let outcome: RunOutcome;
    try {
      outcome = await this.execute(attempt, (b) => (box = b));
    } catch (err) {
      outcome = this.failureOutcome(attempt, err);
    }
    attempt.end({ kind: 'cancel' }); // stops the timer whatever happened
    outcome = this.explainMemory(outcome);
    if (box) {
      const home = box.home;
      await removeWorkdir(home, req.attemptId).catch((err: unknown) =>
        this.opts.logger?.warn({ err, attemptId: req.attemptId }, 'could not remove workdir'),
      );
      await this.pool.release(box);
    }
    this.attempts.delete(req.attemptId);
    if (!this.stopped) this.pool.topUp(); // the slot is free: the next new job finds a spare
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

  /** SIGSTOP of the worker or the command's processes; its time limit pauses too. */
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

  /** Worker pids (the first process of each, and the one running the task), for diagnostics. */
  workerPids(): number[] {
    return this.pool.pids();
  }

  /** Worker processes alive now (busy or kept idle for their job). */
  get liveWorkers(): number {
    return this.pool.liveWorkers;
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

  private async execute(attempt: Attempt, opened: (box: JobBox) => void): Promise<RunOutcome> {
    const { req } = attempt;
    const refuse = (error: string): RunOutcome => ({
      attemptId: req.attemptId,
      state: 'failed',
      reason: 'not-allowed',
      error,
      wallMs: 0,
      cpuMs: 0,
    });
    if (req.runtime === 'command' && !this.opts.allowCommands)
      return refuse(
        'command tasks are not allowed on this contributor (its owner did not pass --allow-commands)',
      );
    const network = req.network === true;
    if (network && !this.opts.allowNetwork)
      return refuse(
        'this job needs the network, which this contributor does not allow (its owner did not pass --allow-network)',
      );
    if (!(req.timeoutMs > 0)) throw new RangeError(`timeoutMs must be > 0, got ${req.timeoutMs}`);
    if (req.runtime === 'node' && !req.modulePath)
      throw new TypeError('a node task needs modulePath');
    let box = req.runtime === 'node' ? this.pool.takeIdle(req.jobId, network) : undefined;
    if (!box) {
      // Idle workers of other jobs make room: never more job workers than slots.
      const over = this.pool.ownedWorkers - this.opts.slots + 1;
      if (over > 0) await this.pool.closeIdle(over, req.jobId);
      box = await this.pool.open(req.jobId, network, req.runtime === 'node');
      box.busy = true;
    }
    opened(box);
    const link = this.probe_.isolation === 'sandbox';
    const files = await Promise.all(
      req.files.map(async (f) => ({ name: f.name, path: await box.stage(f.path, link) })),
    );
    const modulePath = req.modulePath ? await box.stage(req.modulePath, link) : undefined;
    const { workdir, files: staged } = await prepareWorkdir(box.home, req.attemptId, files);
    const watchdog = this.watchWorkdir(attempt, workdir);
    try {
      if (req.runtime === 'command') {
        attempt.startTimer();
        const sandboxed = this.probe_.tools.bwrap !== undefined;
        return await runCommand(attempt, {
          workdir,
          outputRoot: this.opts.outputRoot,
          env: commandEnv(process.env, workdir),
          prefix: launchPrefix(this.probe_.tools, this.opts.limits, {
            writable: box.home,
            staged: box.stagedDir,
            readOnly: [],
            network,
            cwd: workdir,
          }),
          ...(sandboxed ? { treeSignals: signalTree } : {}),
          outputLimits: {
            maxFiles: req.maxOutputFiles ?? this.opts.outputLimits.maxFiles,
            maxBytes: req.maxOutputBytes ?? this.opts.outputLimits.maxBytes,
          },
          stagedNames: new Set(Object.keys(staged)),
        });
      }
      const worker = box.worker;
      if (!worker) throw new ExecError('WORKER_START_FAILED', 'worker could not be started');
      const ready = await Promise.race([
        worker.ready.then(() => true),
        attempt.ending.then(() => false),
      ]);
      if (!ready) return commonOutcome(attempt, await attempt.ending, 0);
      // The time limit is the task's: a worker's start (at idle priority, on a busy machine,
      // bounded by readyTimeoutMs) does not count against it.
      attempt.startTimer();
      return await runOnWorker(attempt, worker, {
        modulePath: modulePath!,
        input: req.input,
        files: staged,
        workdir,
        maxOutputDepth: JSON_LIMITS.output.maxDepth,
      });
    } finally {
      clearInterval(watchdog);
    }
  }

  /** Ends an attempt whose workdir outgrows its limit (the sandbox bounds single files only). */
  private watchWorkdir(attempt: Attempt, workdir: string): NodeJS.Timeout {
    const max = this.opts.maxWorkdirMb * 1024 * 1024;
    let checking = false;
    const timer = setInterval(() => {
      if (checking || attempt.ended) return;
      checking = true;
      void dirUsage(workdir)
        .then(({ bytes, entries }) => {
          if (bytes <= max && entries < 20_000) return;
          attempt.end({
            kind: 'error',
            reason: 'error',
            message: `workdir over its size limit (${this.opts.maxWorkdirMb} MiB or 20000 entries)`,
            cpuMs: attempt.cpuMs(),
            fatal: false,
          });
          attempt.control?.hardKill(); // the task would go on writing; its worker goes with it
        })
        .finally(() => (checking = false));
    }, WORKDIR_CHECK_MS);
    timer.unref();
    return timer;
  }

  /** Says "memory limit" or "file size limit" when a task died of, or gave up on, one. */
  private explainMemory(outcome: RunOutcome): RunOutcome {
    if (outcome.state !== 'failed') return outcome;
    const { memoryMb, maxFileMb } = this.opts.limits;
    // A shell reports a tool killed by SIGXFSZ as exit code 128 + 25.
    if (/SIGXFSZ/.test(outcome.error) || outcome.exitCode === 153)
      return {
        ...outcome,
        error: `file size limit (${maxFileMb} MiB per file) reached: ${outcome.error}`,
      };
    if (!MEMORY_ERROR.test(outcome.error)) return outcome;
    return {
      ...outcome,
      error: `memory limit reached (${memoryMb} MiB per task, JavaScript heap ${this.opts.maxOldSpaceMb} MiB): ${outcome.error}`,
    };
  }

  private spawnOptions(box: JobBox): WorkerSpawnOptions {
    const workerDir = path.dirname(path.resolve(this.opts.workerPath));
    const execArgv = workerExecArgv({
      nodeVersion: this.runtime.nodeVersion,
      workerDir,
      stagedDir: box.stagedDir,
      workDir: box.home,
      maxOldSpaceMb: this.opts.maxOldSpaceMb,
    });
    const readOnly = [
      workerDir,
      ...execArgv.flatMap((a) =>
        a.startsWith('--allow-fs-read=') && a.endsWith('package.json')
          ? [a.slice('--allow-fs-read='.length)]
          : [],
      ),
      nodeHome(this.opts.execPath),
    ];
    const sandboxed = this.probe_.tools.bwrap !== undefined;
    return {
      workerPath: this.opts.workerPath,
      execPath: this.opts.execPath,
      execArgv,
      env: this.workerEnv(),
      cwd: box.home,
      readyTimeoutMs: this.opts.readyTimeoutMs,
      prefix: launchPrefix(
        this.probe_.tools,
        this.opts.limits,
        {
          writable: box.home,
          staged: box.stagedDir,
          readOnly,
          network: box.network,
          cwd: box.home,
        },
        this.runtime.baseDataMb,
      ),
      ...(sandboxed ? { treeSignals: signalTree } : {}),
      ...(this.opts.logger ? { logger: this.opts.logger } : {}),
    };
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
    // The owner's home by name only (the sandbox has no passwd file to look it up): a task that
    // goes there meets the permission model, and in the sandbox finds nothing.
    return { HOME: homeDir(), ...base, ...this.opts.env };
  }
}
