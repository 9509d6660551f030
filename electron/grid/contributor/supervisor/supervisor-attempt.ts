// State of one attempt in flight: how it ended (first ending wins), its timeout clock, suspension, CPU.
import type { CommandResult } from '../../worker/command-runtime.js';

export type FailureReason =
  'error' | 'crash' | 'timeout' | 'permission' | 'not-allowed' | 'bad-output';

export interface RunRequest {
  attemptId: string;
  /** Attempts of the same job may share a worker; without a job id each gets a fresh one. */
  jobId?: string;
  /** The job asked for the network (runs only where the owner allows it). */
  network?: boolean;
  /** The job's own output limits (command runtime). */
  maxOutputFiles?: number;
  maxOutputBytes?: number;
  runtime: 'node' | 'command';
  modulePath?: string;
  command?: string[];
  input: unknown;
  /** Staged read-only files; `name` is the path relative to the job folder, e.g. data/a.csv. */
  files: { name: string; path: string }[];
  /** Globs (command runtime) of files to collect from the workdir. */
  outputs: string[];
  timeoutMs: number;
}

export interface RunHooks {
  onProgress?(fraction: number, message?: string): void;
  onLog?(line: string): void;
  /** The task's output as written: stdout and stderr chunks, and each ctx.log line. */
  onOutput?(stream: 'stdout' | 'stderr' | 'log', data: string | Buffer): void;
}

export type RunOutcome =
  | {
      attemptId: string;
      state: 'succeeded';
      output: unknown;
      outputFiles: { name: string; path: string; size: number }[];
      /** A command's exit code (0). */
      exitCode?: number;
      wallMs: number;
      cpuMs: number;
    }
  | {
      attemptId: string;
      state: 'failed';
      error: string;
      reason: FailureReason;
      exitCode?: number;
      wallMs: number;
      cpuMs: number;
    }
  | { attemptId: string; state: 'cancelled'; wallMs: number; cpuMs: number };

export type Ending =
  | { kind: 'done'; output: unknown; cpuMs: number }
  | {
      kind: 'error';
      message: string;
      reason: 'error' | 'permission' | 'bad-output';
      cpuMs: number;
      fatal: boolean;
    }
  | { kind: 'exit'; code: number | null; signal: string | null; detail: string }
  | { kind: 'command'; result: CommandResult }
  | { kind: 'timeout' }
  | { kind: 'cancel' };

/** What the runtime running the attempt lets the supervisor do to it. */
export interface AttemptControl {
  pid: number;
  cpuMs(): number;
  hardKill(): void;
  /** Ask nicely first (aborts ctx.signal); undefined when the runtime has no such channel. */
  softCancel?: () => void;
  setStopped(stopped: boolean): void;
}

// Time a node task gets to honour ctx.signal before its worker is killed; well inside the 1 s promise.
export const CANCEL_GRACE_MS = 250;

export class Attempt {
  readonly startedAt = performance.now();
  readonly ending: Promise<Ending>;
  progress: number | undefined;
  suspended = false;
  cancelRequested = false;
  ended = false;
  control: AttemptControl | undefined;
  /** Resolves with the outcome once the workdir is cleaned and the slot released. */
  readonly finished: Promise<RunOutcome>;
  resolveFinished!: (outcome: RunOutcome) => void;
  private resolveEnding!: (ending: Ending) => void;
  private timer: NodeJS.Timeout | undefined;
  private remainingMs: number;
  private timerStartedAt = 0;
  private lastCpuMs = 0;

  constructor(
    readonly req: RunRequest,
    readonly hooks: RunHooks,
  ) {
    this.ending = new Promise((resolve) => (this.resolveEnding = resolve));
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
    this.remainingMs = req.timeoutMs;
  }

  get id(): string {
    return this.req.attemptId;
  }

  end(ending: Ending): void {
    if (this.ended) return;
    this.ended = true;
    this.pauseTimer();
    this.resolveEnding(ending);
  }

  /** Starts (or restarts after a resume) the hard time limit; suspended time does not count. */
  startTimer(): void {
    if (this.ended || this.suspended || this.timer) return;
    this.timerStartedAt = performance.now();
    this.timer = setTimeout(() => this.end({ kind: 'timeout' }), Math.max(0, this.remainingMs));
  }

  private pauseTimer(): void {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.remainingMs -= performance.now() - this.timerStartedAt;
  }

  bind(control: AttemptControl): void {
    this.control = control;
    if (this.suspended) control.setStopped(true);
  }

  setSuspended(suspended: boolean): void {
    if (this.ended || this.suspended === suspended) return;
    this.suspended = suspended;
    this.control?.setStopped(suspended);
    if (suspended) this.pauseTimer();
    else this.startTimer();
  }

  requestCancel(): void {
    if (this.ended || this.cancelRequested) return;
    this.cancelRequested = true;
    const soft = this.control?.softCancel;
    // A stopped process cannot react to a message: go straight to the kill.
    if (!soft || this.suspended) {
      this.end({ kind: 'cancel' });
      return;
    }
    soft();
    setTimeout(() => this.end({ kind: 'cancel' }), CANCEL_GRACE_MS).unref();
  }

  /** Immediate hard cancel, for shutdown: no grace for ctx.signal. */
  abortNow(): void {
    this.cancelRequested = true;
    this.end({ kind: 'cancel' });
  }

  /** CPU used by this attempt so far; keeps the last good reading once the process is gone. */
  cpuMs(): number {
    const now = this.control?.cpuMs();
    if (now !== undefined && Number.isFinite(now) && now >= this.lastCpuMs) this.lastCpuMs = now;
    return this.lastCpuMs;
  }

  wallMs(): number {
    return Math.round(performance.now() - this.startedAt);
  }
}
