// What the scheduler keeps in memory per unfinished job: work queues, live attempts, timing samples.
import type { JobSpec } from '../../../../shared/job-file.js';
import type { JobState } from '../../../../shared/states.js';
import { NdjsonCursor } from './ndjson-cursor.js';

const SAMPLE_LIMIT = 101;
const THROUGHPUT_WINDOW_MS = 60_000;

export class JobRuntime {
  /** Extracted tasks waiting for an attempt (retries, requeued lost work), oldest first. */
  private readonly retries: number[] = [];
  private retryHead = 0;
  /** Tasks that deserve a speculative copy (running long near the job's end). */
  readonly speculate = new Set<number>();
  /** Live attempt ids of this job. */
  readonly live = new Set<string>();
  private readonly durations: number[] = [];
  private readonly finishes: number[] = [];
  cursor: NdjsonCursor | undefined;
  /** The user who submitted the job (`owner`, the bootstrap admin, for jobs from before users). */
  owner = 'owner';

  constructor(
    readonly id: string,
    readonly seq: number,
    readonly spec: JobSpec,
    public priority: number,
    public state: JobState,
    readonly taskCount: number,
    public nextIdx: number,
    readonly createdAt: number,
  ) {}

  private blobs: Set<string> | undefined;

  /** Whether a contributor running this job needs blob `sha`: its module or one of its files. */
  needsBlob(sha: string): boolean {
    this.blobs ??= new Set([
      ...(this.spec.module ? [this.spec.module.sha256] : []),
      ...this.spec.files.map((f) => f.sha256),
    ]);
    return this.blobs.has(sha);
  }

  get pendingRetries(): number {
    return this.retries.length - this.retryHead;
  }

  /** Tasks waiting for an attempt, extracted or not. */
  get backlog(): number {
    return this.pendingRetries + (this.taskCount - this.nextIdx);
  }

  get hasWork(): boolean {
    return this.backlog > 0;
  }

  requeue(idx: number): void {
    this.retries.push(idx);
  }

  /** Next task to attempt: retries first (they are older), then the next one to extract. */
  takeRetry(): number | undefined {
    if (this.retryHead >= this.retries.length) return undefined;
    const idx = this.retries[this.retryHead++];
    if (this.retryHead > 1024 && this.retryHead * 2 > this.retries.length) {
      this.retries.splice(0, this.retryHead);
      this.retryHead = 0;
    }
    return idx;
  }

  recordFinish(at: number, durationMs: number | undefined): void {
    this.finishes.push(at);
    if (this.finishes.length > 20_000) this.finishes.splice(0, 10_000);
    if (durationMs !== undefined) {
      this.durations.push(durationMs);
      if (this.durations.length > SAMPLE_LIMIT) this.durations.shift();
    }
  }

  /** Median attempt duration over recent successes; undefined until there are enough to trust. */
  medianMs(minSamples = 5): number | undefined {
    if (this.durations.length < minSamples) return undefined;
    const sorted = [...this.durations].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
  }

  /** Tasks finished per second over the last minute (or since the first finish, if sooner). */
  throughput(now: number): number {
    const since = now - THROUGHPUT_WINDOW_MS;
    let i = this.finishes.length;
    while (i > 0 && (this.finishes[i - 1] as number) >= since) i--;
    const count = this.finishes.length - i;
    if (count === 0) return 0;
    const first = this.finishes[i] as number;
    const span = Math.max(1000, now - Math.max(since, Math.min(first, now - 1000)));
    return (count * 1000) / span;
  }
}
