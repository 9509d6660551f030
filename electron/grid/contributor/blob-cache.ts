// The contributor's blob cache: fetches job modules and staged files from the coordinator by sha256
// (hash checked while streaming) and uploads output files the same way.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { BlobStore } from '../store/blobs.js';
import { BlobHashMismatchError } from '../store/errors.js';
import type { FetchLike } from '../trust/pinned.js';

export interface BlobCacheOptions {
  /** Coordinator base URL, e.g. https://10.0.0.5:7070, read at each request: discovery may move it. */
  baseUrl: string | (() => string);
  /** fetch to use: a pinned one for HTTPS (SPEC §6). @defaultValue globalThis.fetch */
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

  private constructor(
    readonly store: BlobStore,
    private readonly opts: BlobCacheOptions,
  ) {}

  static async open(root: string, opts: BlobCacheOptions): Promise<BlobCache> {
    return new BlobCache(await BlobStore.open(root), opts);
  }

  get root(): string {
    return this.store.root;
  }

  path(sha: string): string {
    return this.store.path(sha);
  }

  /** Path of the cached blob, downloading it first if needed. */
  ensure(sha: string, expectedSize?: number): Promise<string> {
    const running = this.inflight.get(sha);
    if (running) return running;
    const p = this.fetchIfMissing(sha, expectedSize).finally(() => this.inflight.delete(sha));
    this.inflight.set(sha, p);
    return p;
  }

  /** Hashes the file, then PUTs it; returns what the result message needs. */
  async upload(filePath: string): Promise<{ sha256: string; size: number }> {
    const { sha256, size } = await hashFile(filePath);
    const url = this.url(sha256);
    let res: Response;
    try {
      res = this.opts.fetch
        ? await this.opts.fetch(url, {
            method: 'PUT',
            headers: { ...this.auth(), 'content-type': 'application/octet-stream' },
            body: createReadStream(filePath),
            signal: this.abort.signal,
          })
        : await fetch(url, {
            method: 'PUT',
            headers: { ...this.auth(), 'content-type': 'application/octet-stream' },
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
    await res.body?.cancel().catch(() => undefined);
    if (!res.ok)
      throw new BlobTransferError('BLOB_UPLOAD_FAILED', `PUT blob ${sha256}: HTTP ${res.status}`);
    return { sha256, size };
  }

  /** Aborts transfers in flight (manager shutdown). */
  close(): void {
    this.abort.abort(new Error('blob cache closed'));
  }

  private async fetchIfMissing(sha: string, expectedSize?: number): Promise<string> {
    const have = await this.store.stat(sha);
    if (have && (expectedSize === undefined || have.size === expectedSize)) return this.path(sha);
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
