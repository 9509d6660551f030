// Content-addressed blob directory: `<root>/ab/abcdef…` named by the sha256 of the bytes it holds.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ensurePrivateDir, fsyncDir } from './durable-fs.js';
import { BadSha256Error, BlobHashMismatchError, BlobTooLargeError } from './errors.js';

const SHA256_RE = /^[0-9a-f]{64}$/;

export interface BlobPutOptions {
  /** Refuse (BLOB_TOO_LARGE) as soon as more than this many bytes arrive. */
  maxBytes: number;
}

export interface BlobPutResult {
  sha256: string;
  size: number;
  /** The blob was already stored; the input was still hashed to check the caller's claim. */
  existed: boolean;
}

export function assertSha256(sha: string): void {
  if (typeof sha !== 'string' || !SHA256_RE.test(sha)) {
    throw new BadSha256Error(`not a sha256 (64 lowercase hex characters): ${JSON.stringify(sha)}`);
  }
}

export class BlobStore {
  /** Temp files live beside the blobs so the final rename never crosses a filesystem. */
  private readonly tmpDir: string;

  private constructor(readonly root: string) {
    this.tmpDir = join(root, 'tmp');
  }

  /** Creates the directory (0o700) and clears temp files left by a crash mid-put. */
  static async open(root: string): Promise<BlobStore> {
    const store = new BlobStore(root);
    await rm(store.tmpDir, { recursive: true, force: true });
    await ensurePrivateDir(store.tmpDir);
    return store;
  }

  path(sha: string): string {
    assertSha256(sha);
    return join(this.root, sha.slice(0, 2), sha);
  }

  async has(sha: string): Promise<boolean> {
    return (await this.stat(sha)) !== undefined;
  }

  /** Size of a stored blob, or undefined if it is not stored. */
  async stat(sha: string): Promise<{ size: number } | undefined> {
    try {
      return { size: (await stat(this.path(sha))).size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** A missing blob surfaces as an ENOENT 'error' event on the stream; check has() first if it matters. */
  createReadStream(sha: string): ReadStream {
    return createReadStream(this.path(sha));
  }

  /**
   * Streams `src` to a temp file while hashing, fsyncs it and renames it into place only if the
   * hash is `expectedSha256`. On any failure nothing is left behind. Putting a stored blob again is
   * a no-op once its bytes are verified.
   */
  async put(
    expectedSha256: string,
    src: Readable | Uint8Array,
    { maxBytes }: BlobPutOptions,
  ): Promise<BlobPutResult> {
    const final = this.path(expectedSha256);
    if (!(maxBytes >= 0))
      throw new TypeError(`BlobStore.put: maxBytes must be >= 0, got ${maxBytes}`);
    const existed = await this.has(expectedSha256);
    const temp = join(this.tmpDir, `${randomBytes(8).toString('hex')}.part`);
    // An existing blob is only hashed (the caller's bytes must still match), not written again.
    const fh = existed ? undefined : await open(temp, 'wx', 0o600);
    let renamed = false;
    try {
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of (src instanceof Uint8Array
        ? [src]
        : src) as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > maxBytes)
          throw new BlobTooLargeError(`blob exceeds the limit of ${maxBytes} bytes`);
        hash.update(chunk);
        if (fh) await fh.write(chunk);
      }
      const actual = hash.digest('hex');
      if (actual !== expectedSha256) {
        throw new BlobHashMismatchError(`blob hash is ${actual}, expected ${expectedSha256}`);
      }
      if (fh) {
        await fh.sync();
        await fh.close();
        await this.publish(temp, final);
        renamed = true;
      }
      return { sha256: actual, size, existed };
    } finally {
      if (!renamed && fh) {
        await fh.close().catch(() => undefined);
        await rm(temp, { force: true });
      }
    }
  }

  private async publish(temp: string, final: string): Promise<void> {
    const prefixDir = join(final, '..');
    const created = await mkdir(prefixDir, { recursive: true, mode: 0o700 });
    // Two puts of the same blob may race; rename replaces atomically with identical bytes.
    await rename(temp, final);
    await fsyncDir(prefixDir);
    if (created !== undefined) await fsyncDir(this.root);
  }
}
