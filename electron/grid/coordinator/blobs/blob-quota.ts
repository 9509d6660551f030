// What a credential may store in the blob store: contributors only outputs of attempts they hold,
// within the job's output limits; everything within the store quota; declared sizes checked; and
// blobs nothing references collected on a timer.
import { readdir, rm, stat, utimes } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { ColonyError } from '../../../../shared/errors.js';
import { DEFAULT_LIMITS, type BlobRef } from '../../../../shared/job-file.js';
import type { ResultMessage } from '../../../../shared/protocol.js';
import type { Caller } from '../../http-access.js';
import type { BlobStore } from '../../store/blobs.js';
import type { Engine } from '../engine/engine.js';

const SHA_NAME = /^[0-9a-f]{64}$/;

export interface BlobQuotaOptions {
  /** The whole blob store (uploads and outputs). @defaultValue 20 GiB */
  maxStoreBytes: number;
  /** One blob. */
  maxBlobBytes: number;
  /** A blob no job references is deleted once it is this old. @defaultValue 1 hour */
  unreferencedAfterMs: number;
}

/** The header a contributor names the attempt an output upload belongs to. */
export const ATTEMPT_HEADER = 'x-colony-attempt';
/** `log` marks an attempt's kept stdout, stderr or ctx.log: counted apart from its output files. */
export const BLOB_KIND_HEADER = 'x-colony-blob-kind';
export type UploadKind = 'output' | 'log';

/** What one attempt may upload as logs: three streams, each at most the contributor's 256 MiB cap. */
const LOG_ALLOWANCE = { maxOutputFiles: 3, maxOutputBytes: 3 * 256 * 1024 ** 2 };

export class BlobQuota {
  /** Bytes in the store, as far as this process has seen (scanned at start). */
  private storeBytes = 0;
  /** Uploads so far per live attempt and kind (keyed `attemptId` + kind). */
  private readonly perAttempt = new Map<
    string,
    { attemptId: string; files: number; bytes: number }
  >();

  private constructor(
    private readonly blobs: BlobStore,
    private readonly engine: Engine,
    readonly opts: BlobQuotaOptions,
  ) {}

  static async open(blobs: BlobStore, engine: Engine, opts: BlobQuotaOptions): Promise<BlobQuota> {
    const quota = new BlobQuota(blobs, engine, opts);
    for (const { size } of await quota.list()) quota.storeBytes += size;
    return quota;
  }

  get bytes(): number {
    return this.storeBytes;
  }

  private async list(): Promise<{ sha: string; size: number; mtimeMs: number }[]> {
    const out: { sha: string; size: number; mtimeMs: number }[] = [];
    let dirs: string[];
    try {
      dirs = await readdir(this.blobs.root);
    } catch {
      return out;
    }
    for (const d of dirs) {
      if (!/^[0-9a-f]{2}$/.test(d)) continue;
      for (const name of await readdir(join(this.blobs.root, d)).catch(() => [] as string[])) {
        if (!SHA_NAME.test(name)) continue;
        const s = await stat(join(this.blobs.root, d, name)).catch(() => undefined);
        if (s?.isFile()) out.push({ sha: name, size: s.size, mtimeMs: s.mtimeMs });
      }
    }
    return out;
  }

  /**
   * May this caller upload `declaredBytes` (the Content-Length, if sent)? Returns the most bytes
   * the upload may stream, and a function to call with the stored size once it is in.
   */
  admit(
    caller: Caller,
    attemptId: string | undefined,
    declaredBytes: number | undefined,
    kind: UploadKind = 'output',
  ): { maxBytes: number; done: (size: number, existed: boolean) => void } {
    let maxBytes = Math.min(this.opts.maxBlobBytes, this.opts.maxStoreBytes - this.storeBytes);
    let usage: { attemptId: string; files: number; bytes: number } | undefined;
    if (caller.role === 'contributor') {
      const attempt = attemptId ? this.engine.liveAttempt(attemptId) : undefined;
      if (!attempt || attempt.contributorId !== caller.contributorId)
        throw new ColonyError(
          'FORBIDDEN',
          `a contributor uploads only outputs of attempts it holds (name one in ${ATTEMPT_HEADER})`,
        );
      const limits =
        kind === 'log'
          ? LOG_ALLOWANCE
          : { ...DEFAULT_LIMITS, ...this.engine.job(attempt.jobId)?.spec.limits };
      this.prune();
      const key = `${attempt.attemptId} ${kind}`;
      usage = this.perAttempt.get(key) ?? { attemptId: attempt.attemptId, files: 0, bytes: 0 };
      if (usage.files >= limits.maxOutputFiles)
        throw new ColonyError(
          'TOO_LARGE',
          `attempt ${attempt.attemptId} already uploaded ${usage.files} output files, the job's limit (limits.maxOutputFiles)`,
        );
      const left = limits.maxOutputBytes - usage.bytes;
      if ((declaredBytes ?? 0) > left)
        throw new ColonyError(
          'TOO_LARGE',
          `output of ${declaredBytes} bytes is over what is left of the job's ${limits.maxOutputBytes}-byte output limit (limits.maxOutputBytes): ${left}`,
        );
      maxBytes = Math.min(maxBytes, left);
      this.perAttempt.set(key, usage);
    }
    if ((declaredBytes ?? 0) > this.opts.maxStoreBytes - this.storeBytes || maxBytes <= 0)
      throw new ColonyError(
        'QUOTA_EXCEEDED',
        `the blob store holds ${this.storeBytes} bytes of its ${this.opts.maxStoreBytes}-byte quota: the coordinator's maxStoreBytes option (colony coordinator --max-store-gb) sets it`,
      );
    return {
      maxBytes: Math.max(0, maxBytes),
      done: (size, existed) => {
        if (!existed) this.storeBytes += size;
        if (usage) {
          usage.files++;
          usage.bytes += size;
        }
      },
    };
  }

  /** An upload of a blob already stored refreshes its age, so it is not collected before use. */
  async touch(sha: string): Promise<void> {
    const now = new Date();
    await utimes(this.blobs.path(sha), now, now).catch(() => undefined);
  }

  private prune(): void {
    for (const [key, usage] of this.perAttempt)
      if (!this.engine.liveAttempt(usage.attemptId)) this.perAttempt.delete(key);
  }

  /**
   * A result naming output files that are not stored, or not with the size it declares, fails
   * its attempt with that reason instead of pointing at nothing.
   */
  checkResult(msg: ResultMessage): ResultMessage {
    if (msg.state !== 'succeeded' || !msg.outputFiles?.length) return msg;
    for (const ref of msg.outputFiles) {
      const problem = this.sizeProblem(ref);
      if (problem)
        return {
          type: 'result',
          attemptId: msg.attemptId,
          state: 'failed',
          reason: 'upload',
          error: `output ${ref.name}: ${problem}`,
          wallMs: msg.wallMs,
          cpuMs: msg.cpuMs,
        };
    }
    return msg;
  }

  /** Why a blob reference does not match the store, or undefined when it does. */
  sizeProblem(ref: Pick<BlobRef, 'sha256' | 'size'>): string | undefined {
    let size: number;
    try {
      size = statSync(this.blobs.path(ref.sha256)).size;
    } catch {
      return `blob ${ref.sha256} not uploaded`;
    }
    return size === ref.size
      ? undefined
      : `declared size ${ref.size} but blob ${ref.sha256} has ${size} bytes`;
  }

  /**
   * After a job was deleted: removes those of its blobs (`shas`) that no job references any more
   * and that nobody uploaded again since `endedAt` (an upload of a stored blob refreshes its time:
   * someone is about to submit with it). No grace beyond that: the job is gone. Never throws.
   */
  async release(
    shas: Iterable<string>,
    endedAt: number,
  ): Promise<{ removed: number; bytes: number }> {
    let removed = 0;
    let bytes = 0;
    try {
      const keep = this.engine.read.referencedBlobs();
      for (const sha of shas) {
        if (keep.has(sha) || !SHA_NAME.test(sha)) continue;
        const s = await stat(this.blobs.path(sha)).catch(() => undefined);
        if (!s?.isFile() || s.mtimeMs > endedAt) continue;
        await rm(this.blobs.path(sha), { force: true });
        removed++;
        bytes += s.size;
      }
      this.storeBytes = Math.max(0, this.storeBytes - bytes);
      if (removed > 0) this.engine.log.info({ removed, bytes }, 'blobs of deleted jobs removed');
    } catch (err) {
      this.engine.log.error(
        { err },
        'removing the blobs of a deleted job failed; the collector will',
      );
    }
    return { removed, bytes };
  }

  /** Deletes blobs that no job references and that are older than the grace; never throws. */
  async collect(now = Date.now()): Promise<{ removed: number; bytes: number }> {
    let removed = 0;
    let bytes = 0;
    try {
      const keep = this.engine.read.referencedBlobs();
      for (const blob of await this.list()) {
        if (keep.has(blob.sha) || now - blob.mtimeMs < this.opts.unreferencedAfterMs) continue;
        await rm(this.blobs.path(blob.sha), { force: true });
        removed++;
        bytes += blob.size;
      }
      this.storeBytes = Math.max(0, this.storeBytes - bytes);
      if (removed > 0) this.engine.log.info({ removed, bytes }, 'unreferenced blobs collected');
    } catch (err) {
      this.engine.log.error({ err }, 'blob collection failed; trying again later');
    }
    return { removed, bytes };
  }
}
