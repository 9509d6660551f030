// Retention: deleting finished jobs (by hand, or when older than --keep-days) and the blobs only they used.
import type { Logger } from 'pino';
import { guarded } from '../../guard.js';
import type { BlobQuota } from './blob-quota.js';
import type { Engine } from '../engine/engine.js';

const DAY_MS = 86_400_000;
/** Jobs deleted per retention pass at most; the next pass takes the rest. */
const PER_PASS = 1000;

export class Retention {
  constructor(
    private readonly engine: Engine,
    private readonly quota: BlobQuota,
  ) {}

  /**
   * Deletes one finished or cancelled job (NOT_FOUND, or CONFLICT while it is queued or running)
   * and then the blobs no other job references: its module, files, inputs, outputs and logs.
   */
  async deleteJob(jobId: string): Promise<{ removedBlobs: number }> {
    const { blobs, finishedAt } = await this.engine.deleteJob(jobId);
    const { removed } = await this.quota.release(blobs, finishedAt);
    return { removedBlobs: removed };
  }

  /** Deletes the jobs that finished more than `keepMs` ago; never throws. */
  async sweep(keepMs: number): Promise<number> {
    const before = this.engine.now() - keepMs;
    let deleted = 0;
    for (const jobId of this.engine.read.finishedJobsBefore(before, PER_PASS)) {
      try {
        await this.deleteJob(jobId);
        deleted++;
      } catch (err) {
        this.engine.log.error({ err, jobId }, 'retention: could not delete a finished job');
        if (this.engine.store.failed) break;
      }
    }
    if (deleted > 0)
      this.engine.log.info({ deleted, keepMs }, 'retention: old finished jobs deleted');
    return deleted;
  }

  /**
   * Runs `sweep(keepDays)` now and then every `everyMs` (at most an hour, at least a second);
   * returns the function that stops it.
   */
  start(keepDays: number, log: Logger, everyMs?: number): () => void {
    const keepMs = keepDays * DAY_MS;
    const period = everyMs ?? Math.min(3600_000, Math.max(1000, keepMs / 24));
    let running = false;
    const pass = guarded(log, 'retention', () => {
      if (running) return;
      running = true;
      void this.sweep(keepMs).finally(() => (running = false));
    });
    const timer = setInterval(pass, period);
    timer.unref();
    setImmediate(pass);
    return () => clearInterval(timer);
  }
}
