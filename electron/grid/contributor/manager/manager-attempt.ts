// One assigned attempt on this machine: fetch its blobs, run it on the supervisor, forward progress
// (throttled) and log lines (batched), upload its output files and turn the outcome into a result.
import type { Logger } from 'pino';
import { JSON_LIMITS, checkJson } from '../../../../shared/bounded-json.js';
import type { Assignment, ContributorMessage, ResultMessage } from '../../../../shared/protocol.js';
import type { BlobCache } from '../link/blob-cache.js';
import { AttemptOutput } from './manager-logs.js';
import { userFacingError } from '../supervisor/task-errors.js';
import type { SlotGate } from './manager-gate.js';
import type { RunOutcome, RunRequest, Supervisor } from '../supervisor/supervisor.js';

export interface AttemptDeps {
  cache: BlobCache;
  supervisor: Supervisor;
  /** Where a staged attempt waits for a free worker slot. */
  gate: SlotGate;
  /** The supervisor's blob cache dir (resolved), where `modules/<sha>.mjs` go. */
  cacheDir: string;
  logger: Logger;
  send(msg: ContributorMessage): boolean;
  /** The attempt is on a worker now. */
  started(attemptId: string): void;
  now(): number;
  progressIntervalMs: number;
  logFlushMs: number;
  /** Bytes of each of stdout, stderr and ctx.log kept for the result. */
  logBytes: number;
}

export type AttemptPhase = 'fetching' | 'waiting' | 'running' | 'reporting';

const MAX_ERROR = 64 * 1024 - 100;
const UPLOAD_TRIES = 3;

export class ActiveAttempt {
  phase: AttemptPhase = 'fetching';
  progress: number | undefined;
  message: string | undefined;
  cancelRequested = false;
  readonly log: Logger;
  private readonly cancelled: Promise<undefined>;
  private resolveCancelled!: (v: undefined) => void;
  private lastProgressAt = -Infinity;
  private progressTimer: NodeJS.Timeout | undefined;
  private logLines: string[] = [];
  private logTimer: NodeJS.Timeout | undefined;
  private output: AttemptOutput | undefined;
  private modulePath: string | undefined;

  constructor(
    readonly a: Assignment,
    private readonly deps: AttemptDeps,
  ) {
    this.log = deps.logger.child({ attemptId: a.attemptId, jobId: a.jobId, idx: a.idx });
    this.cancelled = new Promise((resolve) => (this.resolveCancelled = resolve));
  }

  get id(): string {
    return this.a.attemptId;
  }

  /** Runs to the end; never throws: every failure becomes a result. */
  async run(): Promise<ResultMessage> {
    const t0 = this.deps.now();
    const prep = this.prepare();
    prep.catch(() => undefined); // the cancel may win the race; the error is then moot
    let req: RunRequest | undefined;
    try {
      req = await Promise.race([prep, this.cancelled]);
    } catch (err) {
      this.log.warn({ err: errText(err) }, 'could not stage the attempt');
      return this.failed(t0, 'blob-fetch', errText(err));
    }
    if (!req || this.cancelRequested) return this.cancelledResult(t0);
    this.modulePath = req.modulePath;
    // Staged: wait for a free worker slot (at once unless this is a prefetched attempt).
    this.phase = 'waiting';
    const { gate } = this.deps;
    if (!(await gate.wait(this.id))) return this.cancelledResult(t0);
    // No await between this check and run(): a cancel now finds the attempt in the supervisor.
    if (this.cancelRequested) {
      gate.done();
      return this.cancelledResult(t0);
    }
    // A bound of 0 keeps nothing: no output is gathered and no blob uploaded.
    const output = (this.output =
      this.deps.logBytes > 0 ? new AttemptOutput(this.deps.logBytes) : undefined);
    const running = this.deps.supervisor.run(req, {
      onProgress: (f, m) => this.onProgress(f, m),
      onLog: (line) => this.onLog(line),
      ...(output ? { onOutput: (stream, data) => output.write(stream, data) } : {}),
    });
    // Running before the gate admits the next: a throttle counts this attempt as on a worker.
    this.phase = 'running';
    gate.done();
    this.deps.send({ type: 'started', attemptId: this.id });
    this.log.info('attempt started');
    this.deps.started(this.id);
    let outcome: RunOutcome;
    try {
      outcome = await running;
    } catch (err) {
      outcome = {
        attemptId: this.id,
        state: 'failed',
        reason: 'error',
        error: errText(err),
        wallMs: this.deps.now() - t0,
        cpuMs: 0,
      };
    }
    this.phase = 'reporting';
    gate.admit(); // the slot is free again: a prefetched attempt starts before we report
    this.endStreams();
    return this.toResult(outcome);
  }

  /** Stops it: before it starts it never will; once running the supervisor terminates it. */
  async cancel(): Promise<void> {
    this.cancelRequested = true;
    this.resolveCancelled(undefined);
    this.deps.gate.withdraw(this.id);
    if (this.phase === 'running') await this.deps.supervisor.cancel(this.id);
  }

  heartbeat(): { attemptId: string; progress?: number; message?: string; suspended?: boolean } {
    const suspended = this.deps.supervisor.probe(this.id)?.suspended;
    return {
      attemptId: this.id,
      ...(this.progress !== undefined ? { progress: this.progress } : {}),
      ...(this.message !== undefined ? { message: this.message } : {}),
      ...(suspended ? { suspended } : {}),
    };
  }

  private async prepare(): Promise<RunRequest> {
    const { cache, cacheDir } = this.deps;
    const { a } = this;
    const [modulePath, files] = await Promise.all([
      a.module
        ? cache.moduleFile(a.module.sha256, a.module.size, cacheDir)
        : Promise.resolve(undefined),
      Promise.all(
        a.files.map(async (f) => ({ name: f.name, path: await cache.ensure(f.sha256, f.size) })),
      ),
    ]);
    return {
      attemptId: a.attemptId,
      jobId: a.jobId,
      ...(a.network ? { network: true } : {}),
      ...(a.maxOutputFiles !== undefined ? { maxOutputFiles: a.maxOutputFiles } : {}),
      ...(a.maxOutputBytes !== undefined ? { maxOutputBytes: a.maxOutputBytes } : {}),
      runtime: a.runtime,
      ...(modulePath ? { modulePath } : {}),
      ...(a.command ? { command: a.command } : {}),
      input: a.input,
      files,
      outputs: a.outputs,
      timeoutMs: a.timeoutMs,
    };
  }

  private onProgress(fraction: number, message?: string): void {
    this.progress = Math.min(1, Math.max(0, fraction));
    this.message = message?.slice(0, 1000);
    if (this.progressTimer) return; // the pending send will carry the latest value
    const wait = this.lastProgressAt + this.deps.progressIntervalMs - this.deps.now();
    if (wait <= 0) return this.sendProgress();
    this.progressTimer = setTimeout(() => {
      this.progressTimer = undefined;
      this.sendProgress();
    }, wait);
  }

  private sendProgress(): void {
    if (this.progress === undefined) return;
    this.lastProgressAt = this.deps.now();
    this.deps.send({
      type: 'progress',
      attemptId: this.id,
      fraction: this.progress,
      ...(this.message !== undefined ? { message: this.message } : {}),
    });
  }

  private onLog(line: string): void {
    this.logLines.push(line.slice(0, 4096));
    if (this.logLines.length >= 100) this.flushLogs();
    else this.logTimer ??= setTimeout(() => this.flushLogs(), this.deps.logFlushMs);
  }

  private flushLogs(): void {
    clearTimeout(this.logTimer);
    this.logTimer = undefined;
    if (this.logLines.length === 0) return;
    const lines = this.logLines;
    this.logLines = [];
    // Best effort: lines produced while disconnected are dropped, the result is what counts.
    this.deps.send({ type: 'log', attemptId: this.id, lines });
  }

  private endStreams(): void {
    // A throttled last progress (often 1) still goes out, ahead of the result.
    if (this.progressTimer) {
      clearTimeout(this.progressTimer);
      this.progressTimer = undefined;
      this.sendProgress();
    }
    this.flushLogs();
  }

  /** The kept output, uploaded; without it the result still goes (its logs are then missing). */
  private async uploadLogs(): Promise<Pick<ResultMessage, 'logs'>> {
    if (!this.output) return {};
    try {
      const logs = await this.output.upload((data, sha) =>
        this.deps.cache.uploadLog(data, sha, this.id),
      );
      return Object.keys(logs).length > 0 ? { logs } : {};
    } catch (err) {
      this.log.warn({ err: errText(err) }, 'could not upload the attempt logs');
      return {};
    }
  }

  private async toResult(o: RunOutcome): Promise<ResultMessage> {
    const base = {
      type: 'result' as const,
      attemptId: this.id,
      wallMs: o.wallMs,
      cpuMs: o.cpuMs,
      ...(o.state === 'cancelled' ? {} : await this.uploadLogs()),
    };
    if (o.state === 'cancelled') return { ...base, state: 'cancelled' };
    if (o.state === 'failed') {
      const { module } = this.a;
      const error =
        module && this.modulePath
          ? await userFacingError(o.error, {
              path: this.modulePath,
              name: module.name,
              size: module.size,
            })
          : o.error;
      return {
        ...base,
        state: 'failed',
        error: error.slice(0, MAX_ERROR),
        reason: o.reason,
        ...(o.exitCode !== undefined ? { exitCode: o.exitCode } : {}),
      };
    }
    // Checked before anything walks it (zod, JSON.stringify): a deterministic failure of this
    // attempt, counted against the task's maxAttempts like any other.
    const tooBig = checkJson(o.output, JSON_LIMITS.output, 'result', 'output');
    if (tooBig) {
      this.log.warn({ err: tooBig.message }, 'task output over the limits');
      return {
        ...base,
        state: 'failed',
        reason: 'bad-output',
        error: tooBig.message.slice(0, MAX_ERROR),
      };
    }
    try {
      const outputFiles = await this.uploadOutputs(o.outputFiles);
      return {
        ...base,
        state: 'succeeded',
        ...(o.exitCode !== undefined ? { exitCode: o.exitCode } : {}),
        ...(o.output !== undefined ? { output: o.output as ResultMessage['output'] } : {}),
        ...(outputFiles.length > 0 ? { outputFiles } : {}),
      };
    } catch (err) {
      this.log.warn({ err: errText(err) }, 'could not upload the output files');
      return {
        ...base,
        state: 'failed',
        reason: 'upload',
        error: errText(err).slice(0, MAX_ERROR),
      };
    }
  }

  private async uploadOutputs(files: { name: string; path: string }[]) {
    const refs: { name: string; sha256: string; size: number }[] = [];
    for (const file of files) {
      for (let i = 1; ; i++) {
        try {
          refs.push({ name: file.name, ...(await this.deps.cache.upload(file.path, this.id)) });
          break;
        } catch (err) {
          if (i >= UPLOAD_TRIES || this.cancelRequested)
            throw new Error(`output ${file.name}: ${errText(err)}`, { cause: err });
          await new Promise((r) => setTimeout(r, 250 * i));
        }
      }
    }
    return refs;
  }

  private failed(t0: number, reason: string, error: string): ResultMessage {
    return {
      type: 'result',
      attemptId: this.id,
      state: 'failed',
      reason,
      error: error.slice(0, MAX_ERROR),
      wallMs: Math.max(0, this.deps.now() - t0),
      cpuMs: 0,
    };
  }

  private cancelledResult(t0: number): ResultMessage {
    const wallMs = Math.max(0, this.deps.now() - t0);
    return { type: 'result', attemptId: this.id, state: 'cancelled', wallMs, cpuMs: 0 };
  }
}

export function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
