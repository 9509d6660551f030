// The contributor's blob cache: fetches job modules and staged files from the coordinator by sha256
// (hash checked while streaming, and again once for a blob found on disk) and uploads output files.
import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { BlobStore } from '../../store/blobs.js';
import { ensureModuleFile } from '../../worker/module-file.js';
import { BlobHashMismatchError } from '../../store/errors.js';
import type { FetchLike } from '../../trust/pinned.js';

export interface BlobCacheOptions {
  /** Coordinator base URL, e.g. https://10.0.0.5:7070, read at each request: discovery may move it. */
  baseUrl: string | (() => string);
  /** fetch to use: a pinned one for HTTPS (docs/trust.md). @defaultValue globalThis.fetch */
  fetch?: FetchLike;
  /** Sent as a bearer token; never logged. */
  credential: string;
  /** Refuse a download larger than this when the expected size is unknown. @defaultValue 4 GiB */
  maxBytes?: number;
}

/** A blob could not be fetched or uploaded; the message says which blob and why. */
export class BlobTransferError extends Error {
  readonly code: 'BLOB_FETCH_FAILED' | 'BLOB_UPLOAD_FAILED';
  constructor(code: BlobTransferError['code'], message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = this.constructor.name;
    this.code = code;
  }
}

const DEFAULT_MAX_BYTES = 4 * 1024 ** 3;

export class BlobCache {
  /** One download per sha at a time, however many attempts need it. */
  private readonly inflight = new Map<string, Promise<string>>();
  private readonly abort = new AbortController();
  /** Blobs whose content this process has hashed (or downloaded with the hash checked). */
  private readonly verified = new Set<string>();
  /** Module blobs already linked under their `.mjs` name (sha → that path), this process. */
  private readonly moduleFiles = new Map<string, string>();

  private constructor(
    readonly store: BlobStore,
    private readonly opts: BlobCacheOptions,
  ) {
    // Every transfer in flight listens on this one signal (a job staging 20 files makes 20
    // listeners, each removed when its transfer ends): no leak, so no warning about one.
    setMaxListeners(0, this.abort.signal);
  }

  static async open(root: string, opts: BlobCacheOptions): Promise<BlobCache> {
    return new BlobCache(await BlobStore.open(root), opts);
  }

  get root(): string {
    return this.store.root;
  }

  path(sha: string): string {
    return this.store.path(sha);
  }

  /**
   * A task module's blob under the `.mjs` name Node imports it by (`<moduleDir>/<sha>.mjs`),
   * downloading it first if needed. Asked once per attempt: after the first, no file is touched
   * (this folder is the manager's own; tasks never see it).
   */
  async moduleFile(sha: string, expectedSize: number | undefined, moduleDir: string) {
    const known = this.moduleFiles.get(sha);
    if (known) return known;
    const file = await ensureModuleFile(moduleDir, sha, await this.ensure(sha, expectedSize));
    this.moduleFiles.set(sha, file);
    return file;
  }

  /**
   * Path of the cached blob, downloading it first if needed. One this process has verified is
   * not looked at again: the cache folder is the manager's own and blobs never change.
   */
  ensure(sha: string, expectedSize?: number): Promise<string> {
    if (this.verified.has(sha)) return Promise.resolve(this.path(sha));
    const running = this.inflight.get(sha);
    if (running) return running;
    const p = this.fetchIfMissing(sha, expectedSize).finally(() => this.inflight.delete(sha));
    this.inflight.set(sha, p);
    return p;
  }

  /** Hashes the file, then PUTs it as an output of `attemptId`; returns what the result needs. */
  async upload(filePath: string, attemptId: string): Promise<{ sha256: string; size: number }> {
    const { sha256, size } = await hashFile(filePath);
    const headers = {
      ...this.auth(),
      'content-type': 'application/octet-stream',
      'content-length': String(size),
      'x-colony-attempt': attemptId,
    };
    const url = this.url(sha256);
    let res: Response;
    try {
      res = this.opts.fetch
        ? await this.opts.fetch(url, {
            method: 'PUT',
            headers,
            body: createReadStream(filePath),
            signal: this.abort.signal,
          })
        : await fetch(url, {
            method: 'PUT',
            headers,
            body: Readable.toWeb(createReadStream(filePath)),
            signal: this.abort.signal,
            // Node's fetch needs this to stream a request body.
            duplex: 'half',
          });
    } catch (err) {
      throw new BlobTransferError('BLOB_UPLOAD_FAILED', `PUT blob ${sha256}: ${errText(err)}`, {
        cause: err,
      });
    }
    if (res.ok) await res.body?.cancel().catch(() => undefined);
    if (!res.ok)
      throw new BlobTransferError(
        'BLOB_UPLOAD_FAILED',
        `PUT blob ${sha256}: HTTP ${res.status}${await errorMessage(res)}`,
      );
    return { sha256, size };
  }

  /** PUTs an attempt's kept log (bytes in memory) whose sha256 the caller computed. */
  async uploadLog(data: Buffer, sha256: string, attemptId: string): Promise<void> {
    let res: Response;
    try {
      res = await (this.opts.fetch ?? fetch)(this.url(sha256), {
        method: 'PUT',
        headers: {
          ...this.auth(),
          'content-type': 'application/octet-stream',
          'x-colony-attempt': attemptId,
          'x-colony-blob-kind': 'log',
        },
        body: new Uint8Array(data),
        signal: this.abort.signal,
      });
    } catch (err) {
      throw new BlobTransferError('BLOB_UPLOAD_FAILED', `PUT blob ${sha256}: ${errText(err)}`, {
        cause: err,
      });
    }
    await res.body?.cancel().catch(() => undefined);
    if (!res.ok)
      throw new BlobTransferError('BLOB_UPLOAD_FAILED', `PUT blob ${sha256}: HTTP ${res.status}`);
  }

  /** Aborts transfers in flight (manager shutdown). */
  close(): void {
    this.abort.abort(new Error('blob cache closed'));
  }

  private async fetchIfMissing(sha: string, expectedSize?: number): Promise<string> {
    const have = await this.store.stat(sha);
    if (have && (expectedSize === undefined || have.size === expectedSize)) {
      // Tasks never see this folder; a blob left by an earlier run is still checked once.
      if (this.verified.has(sha) || (await hashFile(this.path(sha))).sha256 === sha) {
        this.verified.add(sha);
        return this.path(sha);
      }
    }
    if (have) await rm(this.path(sha), { force: true });
    let res: Response;
    try {
      res = await (this.opts.fetch ?? fetch)(this.url(sha), {
        headers: this.auth(),
        signal: this.abort.signal,
      });
    } catch (err) {
      throw new BlobTransferError('BLOB_FETCH_FAILED', `GET blob ${sha}: ${errText(err)}`, {
        cause: err,
      });
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel().catch(() => undefined);
      throw new BlobTransferError('BLOB_FETCH_FAILED', `GET blob ${sha}: HTTP ${res.status}`);
    }
    const body = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
    try {
      await this.store.put(sha, body, { maxBytes: expectedSize ?? this.maxBytes });
    } catch (err) {
      body.destroy();
      const what = err instanceof BlobHashMismatchError ? 'hash mismatch: ' : '';
      throw new BlobTransferError('BLOB_FETCH_FAILED', `GET blob ${sha}: ${what}${errText(err)}`, {
        cause: err,
      });
    }
    this.verified.add(sha);
    return this.path(sha);
  }

  private get maxBytes(): number {
    return this.opts.maxBytes ?? DEFAULT_MAX_BYTES;
  }

  private url(sha: string): string {
    const base = typeof this.opts.baseUrl === 'function' ? this.opts.baseUrl() : this.opts.baseUrl;
    return new URL(`/api/v1/blobs/${sha}`, base).toString();
  }

  private auth(): Record<string, string> {
    return { authorization: `Bearer ${this.opts.credential}` };
  }
}

export async function hashFile(filePath: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(filePath) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

function errText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // fetch hides the socket error in `cause`; it is the useful part.
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.message}${cause}`;
}

/** ": message" from our error body, so a refused upload says why (a limit, a quota). */
async function errorMessage(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { error?: { message?: string } };
    return body.error?.message ? `: ${body.error.message}` : '';
  } catch {
    return '';
  }
}
