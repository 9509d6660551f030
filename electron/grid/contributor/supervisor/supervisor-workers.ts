// Worker processes by job: each job gets fresh ones, reused only for its own tasks, ended when it
// has nothing more for them. Each worker has its own writable folder and its own staged folder.
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { WorkerProcess, type WorkerSpawnOptions } from './process-worker.js';
import { descendants } from './sandbox.js';
import { stageFile } from './supervisor-workdir.js';

/** One job's private corner: a worker process (node tasks) or nothing (one command). */
export class JobBox {
  worker: WorkerProcess | undefined;
  busy = false;
  idleTimer: NodeJS.Timeout | undefined;
  private readonly staged = new Map<string, Promise<string>>();

  constructor(
    readonly serial: number,
    /** Undefined for a spare (a worker that has never run anything) until a job takes it. */
    public jobId: string | undefined,
    readonly network: boolean,
    /** Writable: attempt workdirs live inside. */
    readonly home: string,
    /** Read-only to the task: this job's staged files and module. */
    readonly stagedDir: string,
  ) {}

  async create(): Promise<void> {
    await Promise.all([this.home, this.stagedDir].map((d) => mkdir(d, { recursive: true })));
  }

  /** The blob's path in this box's staged folder (staged once per box). */
  stage(blobPath: string, link: boolean): Promise<string> {
    let p = this.staged.get(blobPath);
    if (!p) {
      p = stageFile(this.stagedDir, blobPath, link);
      p.catch(() => this.staged.delete(blobPath));
      this.staged.set(blobPath, p);
    }
    return p;
  }

  /** Kills the worker (if any), waits for it and removes both folders. */
  async destroy(): Promise<void> {
    clearTimeout(this.idleTimer);
    const worker = this.worker;
    if (worker) {
      worker.kill();
      await worker.exited;
    }
    await Promise.all(
      [this.home, this.stagedDir].map((d) =>
        rm(d, { recursive: true, force: true, maxRetries: 3 }),
      ),
    );
  }
}

export interface WorkerPoolOptions {
  /** Read at each new box: the supervisor resolves them at start. */
  roots(): { workRoot: string; stagedRoot: string };
  spawnOptions(box: JobBox): WorkerSpawnOptions;
  /** Whether the manager still holds tasks of this job (then its idle worker stays). */
  keepWorker(jobId: string): boolean;
  /** How many spare workers to keep started (fresh, never used, bound to a job on first use). */
  spares(): number;
  onStart(serial: number, pid: number): void;
  onExit(serial: number, pid: number, code: number | null, signal: NodeJS.Signals | null): void;
  logger?: Logger;
}

// An idle worker waits this long for its job's next task (the next assignment usually arrives
// a round trip after the result went out); longer while the manager already holds one.
const IDLE_MS = 2_000;
const IDLE_HELD_MS = 10_000;

export class WorkerPool {
  private readonly boxes = new Set<JobBox>();
  private nextSerial = 1;
  private opening = 0;
  private stopped = false;

  constructor(private readonly opts: WorkerPoolOptions) {}

  /** Pids of live workers: the first of each, and the one running tasks when a sandbox is between. */
  pids(): number[] {
    return [...this.boxes].flatMap((b) => {
      const w = b.worker;
      if (!w?.alive) return [];
      return w.cpuPid === w.pid ? [w.pid] : [w.pid, w.cpuPid];
    });
  }

  /** A new box with its folders; `withWorker` starts its worker process too. */
  async open(jobId: string | undefined, network: boolean, withWorker: boolean): Promise<JobBox> {
    const serial = this.nextSerial++;
    const name = `w${serial}`;
    const { workRoot, stagedRoot } = this.opts.roots();
    const box = new JobBox(
      serial,
      jobId,
      network,
      path.join(workRoot, name),
      path.join(stagedRoot, name),
    );
    this.boxes.add(box);
    await box.create();
    if (withWorker) this.spawn(box);
    return box;
  }

  /**
   * An idle box of the same job with a live worker, or else a spare that has never run anything
   * (it becomes this job's), taken (marked busy).
   */
  takeIdle(jobId: string | undefined, network: boolean): JobBox | undefined {
    if (jobId === undefined) return undefined;
    const live = [...this.boxes].filter((b) => !b.busy && b.worker?.alive);
    const own = live.find((b) => b.jobId === jobId && b.network === network);
    const spare = network ? undefined : live.find((b) => b.jobId === undefined);
    const box = own ?? spare;
    if (!box) return undefined;
    clearTimeout(box.idleTimer);
    box.busy = true;
    box.jobId = jobId;
    if (box === spare) this.topUp();
    return box;
  }

  /** Starts spare workers until there are as many as wanted (never beyond the slots). */
  topUp(): void {
    if (this.stopped) return;
    const spares = [...this.boxes].filter(
      (b) => b.jobId === undefined && b.worker !== undefined && b.worker.alive && !b.busy,
    );
    const want = this.opts.spares() - spares.length - this.opening;
    for (let i = 0; i < want; i++) {
      this.opening++;
      void this.open(undefined, false, true)
        .catch((err: unknown) => this.opts.logger?.warn({ err }, 'could not start a spare worker'))
        .finally(() => this.opening--);
    }
  }

  /**
   * After an attempt: the box waits a moment for its job's next task (only that job's), or ends.
   * A new job that needs room ends idle boxes of other jobs at once (see closeIdle).
   */
  async release(box: JobBox): Promise<void> {
    box.busy = false;
    const jobId = box.jobId;
    if (this.stopped || box.worker?.alive !== true || jobId === undefined) {
      await this.close(box);
      return;
    }
    const wait = this.opts.keepWorker(jobId) ? IDLE_HELD_MS : IDLE_MS;
    box.idleTimer = setTimeout(() => void this.close(box), wait);
    box.idleTimer.unref();
  }

  /** Ends idle boxes of other jobs than `except` (spares too when asked), oldest first, up to `n`. */
  async closeIdle(n = Infinity, except?: string, spares = false): Promise<void> {
    const idle = [...this.boxes]
      .filter((b) => !b.busy && b.jobId !== except && (spares || b.jobId !== undefined))
      .slice(0, n);
    await Promise.all(idle.map((b) => this.close(b)));
  }

  /** Live workers that belong to a job (busy or idle), spares not counted. */
  get ownedWorkers(): number {
    return [...this.boxes].filter((b) => b.jobId !== undefined && b.worker?.alive).length;
  }

  /** Ends the idle boxes of `jobId` (the manager has nothing more for it). */
  async closeJob(jobId: string): Promise<void> {
    await Promise.all(
      [...this.boxes].filter((b) => !b.busy && b.jobId === jobId).map((b) => this.close(b)),
    );
  }

  get liveWorkers(): number {
    return [...this.boxes].filter((b) => b.worker?.alive).length;
  }

  async close(box: JobBox): Promise<void> {
    if (!this.boxes.delete(box)) return;
    await box
      .destroy()
      .catch((err: unknown) =>
        this.opts.logger?.warn({ err, worker: box.serial }, 'could not clean up a worker'),
      );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.boxes].map((b) => this.close(b)));
  }

  private spawn(box: JobBox): void {
    const options = this.opts.spawnOptions(box);
    const worker = new WorkerProcess(options);
    box.worker = worker;
    this.opts.onStart(box.serial, worker.pid);
    if (options.treeSignals)
      worker.ready.then(
        // bwrap → its pid-1 reaper → node: the task's CPU is the deepest process's.
        () => (worker.cpuPid = descendants(worker.pid).at(-1) ?? worker.pid),
        () => undefined,
      );
    void worker.exited.then(({ code, signal }) =>
      this.opts.onExit(box.serial, worker.pid, code, signal),
    );
  }
}
