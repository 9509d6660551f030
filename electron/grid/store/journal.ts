// Append-only, group-committed journal: records are durable (write + fdatasync) before their promise resolves.
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { crc32Hex } from './crc32.js';
import { ensurePrivateDir, fsyncDir } from './durable-fs.js';
import { StoreUnavailableError } from './errors.js';
import { listSegments, scanSegment, segmentName, type ScanResult } from './journal-reader.js';

export { readJournal, type JournalRecord } from './journal-reader.js';

/** The two syscalls the journal's durability rests on; tests replace them to count or to fail. */
export interface JournalIo {
  write(fh: FileHandle, buf: Buffer, position: number): Promise<number>;
  datasync(fh: FileHandle): Promise<void>;
}

export interface JournalOptions {
  /** Called once when the journal fails (also for appendNoWait records nobody waits for). */
  onError?: (err: StoreUnavailableError) => void;
  /** Start numbering at least here (a snapshot newer than the journal's end); @defaultValue 1 */
  minNextSeq?: number;
  io?: Partial<JournalIo>;
  logger?: Logger;
  /** Store format written into every record (`v`); readers refuse records newer than they know. */
  formatVersion?: number;
}

type Entry =
  | { kind: 'record'; seq: number; buf: Buffer; done?: Settle }
  | { kind: 'rotate'; firstSeq: number; done: Settle };
interface Settle {
  resolve: () => void;
  reject: (err: Error) => void;
}

/** Longest a lazy record waits for a write to ride with. */
const LAZY_FLUSH_MS = 25;

const defaultIo: JournalIo = {
  write: async (fh, buf, position) => (await fh.write(buf, 0, buf.length, position)).bytesWritten,
  datasync: (fh) => fh.datasync(),
};

async function drain(it: AsyncIterable<unknown>): Promise<void> {
  for await (const rec of it) void rec;
}

function deferred(): { promise: Promise<void>; settle: Settle } {
  let settle!: Settle;
  const promise = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  return { promise, settle };
}

export class Journal {
  private queue: Entry[] = [];
  private flushing = false;
  private lazyTimer: NodeJS.Timeout | undefined;
  private failure: StoreUnavailableError | undefined;
  private closed = false;
  private idleWaiters: Settle[] = [];
  private nextSeq: number;
  private durable: number;
  /** Completed write+fdatasync rounds and records written: group-commit telemetry. */
  readonly stats = { flushes: 0, records: 0 };

  private constructor(
    private readonly dir: string,
    private fh: FileHandle,
    private segFirstSeq: number,
    private size: number,
    lastSeq: number,
    private readonly io: JournalIo,
    private readonly opts: JournalOptions,
  ) {
    this.nextSeq = lastSeq + 1;
    this.durable = lastSeq;
  }

  /** Opens the newest segment for appending, truncating a torn tail left by a crash. */
  static async open(dir: string, opts: JournalOptions = {}): Promise<Journal> {
    await ensurePrivateDir(dir);
    const io = { ...defaultIo, ...opts.io };
    const last = (await listSegments(dir)).at(-1);
    const lastSeq = Math.max(1, opts.minNextSeq ?? 1) - 1;
    if (last) {
      const scan: ScanResult = { goodEnd: 0, lastSeq: 0 };
      await drain(scanSegment(last, scan)); // validate only: records are replayed elsewhere
      if (scan.torn) {
        opts.logger?.warn({ file: last.file, ...scan.torn }, 'journal: truncating torn tail');
        const fh = await open(last.file, 'r+');
        await fh.truncate(scan.goodEnd);
        await fh.sync();
        await fh.close();
      }
      if (scan.lastSeq >= lastSeq) {
        const fh = await open(last.file, 'r+');
        return new Journal(dir, fh, last.firstSeq, scan.goodEnd, scan.lastSeq, io, opts);
      }
      opts.logger?.warn(
        { journalEnd: scan.lastSeq, minNextSeq: lastSeq + 1 },
        'journal: behind snapshot',
      );
    }
    const fh = await Journal.createSegment(dir, lastSeq + 1);
    return new Journal(dir, fh, lastSeq + 1, 0, lastSeq, io, opts);
  }

  private static async createSegment(dir: string, firstSeq: number): Promise<FileHandle> {
    const fh = await open(join(dir, segmentName(firstSeq)), 'wx', 0o600);
    await fsyncDir(dir);
    return fh;
  }

  /** The seq given to the latest appended record (durable or not). */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }
  /** Every record up to this seq has been written and fdatasynced. */
  get durableSeq(): number {
    return this.durable;
  }
  get failed(): boolean {
    return this.failure !== undefined;
  }
  /** The error every append rejects with once the journal failed. */
  get error(): StoreUnavailableError | undefined {
    return this.failure;
  }

  /** Journals `data` (JSON-serialisable); resolves once it is durable. */
  append(data: unknown): Promise<void> {
    try {
      return this.appendJson(JSON.stringify(data)).durable;
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Journals `data` in order without a promise; failures reach `onError`. Returns its seq. */
  appendNoWait(data: unknown): number {
    return this.enqueue(JSON.stringify(data), false).seq;
  }

  /**
   * For callers that already hold the JSON text; throws StoreUnavailableError if failed or closed.
   * A `lazy` record (one nobody is told about before a later record is durable) does not start a
   * write of its own: it rides with the next one, or is written after at most LAZY_FLUSH_MS.
   */
  appendJson(json: string, lazy = false): { seq: number; durable: Promise<void> } {
    const { seq, durable } = this.enqueue(json, true, lazy);
    return { seq, durable: durable! };
  }

  private enqueue(
    json: string | undefined,
    wait: boolean,
    lazy = false,
  ): { seq: number; durable?: Promise<void> } {
    this.assertWritable();
    if (typeof json !== 'string') throw new TypeError('journal record is not JSON-serialisable');
    const seq = this.nextSeq++;
    // Encode once; the CRC covers the JSON between the 9-byte prefix and the newline.
    const v = this.opts.formatVersion === undefined ? '' : `"v":${this.opts.formatVersion},`;
    const buf = Buffer.from(`00000000 {"seq":${seq},${v}"data":${json}}\n`);
    buf.write(crc32Hex(buf.subarray(9, buf.length - 1)), 0, 'latin1');
    const d = wait ? deferred() : undefined;
    this.queue.push({ kind: 'record', seq, buf, done: d?.settle });
    if (lazy) this.kickLater();
    else this.kick();
    return { seq, durable: d?.promise };
  }

  /**
   * Starts a new segment for the records appended after this call; resolves once every earlier
   * record is durable and the new segment exists (so a snapshot at `lastSeq` may be published).
   */
  rotate(): Promise<void> {
    try {
      this.assertWritable();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const d = deferred();
    this.queue.push({ kind: 'rotate', firstSeq: this.nextSeq, done: d.settle });
    this.kick();
    return d.promise;
  }

  /** Resolves when everything appended so far is durable; rejects if the journal failed. */
  flush(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.flushing && this.queue.length === 0) return Promise.resolve();
    this.kick(); // lazy records waiting for company go now
    const d = deferred();
    this.idleWaiters.push(d.settle);
    return d.promise;
  }

  /** Flushes what is queued, then closes the file; later appends throw StoreUnavailableError. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush().catch(() => undefined);
    this.closed = true;
    await this.fh.close();
  }

  private assertWritable(): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new StoreUnavailableError('journal is closed');
  }

  /** Lazy records: a write in progress takes them along; otherwise one is started soon. */
  private kickLater(): void {
    if (this.flushing || this.failure || this.lazyTimer) return;
    this.lazyTimer = setTimeout(() => this.kick(), LAZY_FLUSH_MS);
  }

  private kick(): void {
    clearTimeout(this.lazyTimer);
    this.lazyTimer = undefined;
    if (this.flushing || this.failure) return;
    this.flushing = true;
    // A microtask, not a timer: appends made in the same tick share the first flush.
    queueMicrotask(() => void this.flushLoop());
  }

  private async flushLoop(): Promise<void> {
    while (this.queue.length > 0 && !this.failure) {
      const stop = this.queue.findIndex((e) => e.kind === 'rotate');
      const batch = this.queue.splice(0, stop === -1 ? this.queue.length : stop);
      if (batch.length > 0) await this.writeBatch(batch as Extract<Entry, { kind: 'record' }>[]);
      const head = this.queue[0];
      if (head?.kind === 'rotate' && !this.failure) {
        this.queue.shift();
        await this.switchSegment(head);
      }
    }
    this.flushing = false;
    const waiters = this.idleWaiters.splice(0);
    for (const w of waiters) {
      if (this.failure) w.reject(this.failure);
      else w.resolve();
    }
  }

  private async writeBatch(batch: Extract<Entry, { kind: 'record' }>[]): Promise<void> {
    const buf = batch.length === 1 ? batch[0]!.buf : Buffer.concat(batch.map((e) => e.buf));
    try {
      for (let off = 0; off < buf.length;) {
        const n = await this.io.write(this.fh, buf.subarray(off), this.size + off);
        if (n <= 0) throw new Error(`write returned ${n}`);
        off += n;
      }
      await this.io.datasync(this.fh);
    } catch (err) {
      await this.fail(err, batch);
      return;
    }
    this.size += buf.length;
    this.durable = batch.at(-1)!.seq;
    this.stats.flushes++;
    this.stats.records += batch.length;
    for (const e of batch) e.done?.resolve();
  }

  private async switchSegment(entry: Extract<Entry, { kind: 'rotate' }>): Promise<void> {
    if (entry.firstSeq === this.segFirstSeq) return entry.done.resolve(); // nothing since last rotate
    try {
      const fh = await Journal.createSegment(this.dir, entry.firstSeq);
      await this.fh.close();
      this.fh = fh;
      this.segFirstSeq = entry.firstSeq;
      this.size = 0;
    } catch (err) {
      return this.fail(err, [entry]);
    }
    entry.done.resolve();
  }

  /** Fail-stop: cut the file back to the last durable byte and reject everything in flight or queued. */
  private async fail(cause: unknown, inFlight: Entry[]): Promise<void> {
    const msg = cause instanceof Error ? cause.message : String(cause);
    this.failure = new StoreUnavailableError(`journal write failed: ${msg}`, { cause });
    this.opts.logger?.error({ err: cause }, 'journal failed; store is unavailable');
    try {
      await this.fh.truncate(this.size);
      await this.fh.sync();
    } catch (err) {
      // The partial tail stays, but it is unacknowledged and the reader drops a torn tail anyway.
      this.opts.logger?.warn({ err }, 'journal: could not truncate after failure');
    }
    for (const e of [...inFlight, ...this.queue.splice(0)]) e.done?.reject(this.failure);
    this.opts.onError?.(this.failure);
  }
}
