// The task archive: succeeded tasks (input, output, every attempt) moved out of the in-memory database into per-job files.
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Database } from 'sql.js';

/**
 * An archived task as the state machine wrote it: its task row and its attempts' rows, column for
 * column (`input` and `output` are JSON values here, not text).
 */
export interface ArchivedTask {
  idx: number;
  input: unknown;
  output: unknown;
  attempts: number;
  failures: number;
  finishedAt: number | null;
  tries: ArchivedAttempt[];
}

/** An attempt row as archived (sql column names). */
export interface ArchivedAttempt {
  id: string;
  number: number;
  contributor: string | null;
  state: string;
  speculative: number;
  assigned_at: number;
  ended_at: number | null;
  wall_ms: number | null;
  cpu_ms: number | null;
  exit_code: number | null;
  error: string | null;
  logs: string | null;
}

/**
 * Each index entry: the record's byte offset + 1 (0: none) and its length, two float64s at
 * `idx * ENTRY`. The index is a sparse file addressed by task index: a lookup is one read.
 */
const ENTRY = 16;
/** Buffered records are written out past this many bytes (and before any read, sync or close). */
const FLUSH_BYTES = 1 << 20;
/** Files kept open for appending; the least recently used beyond this is closed. */
const OPEN_FILES = 32;
const SAFE_JOB_ID = /^[A-Za-z0-9_-]{1,100}$/;

interface Pending {
  lines: string[];
  idxs: number[];
  lengths: number[];
  bytes: number;
}

interface OpenJob {
  data: number;
  index: number;
  size: number;
}

/**
 * Append-only per job (`<jobId>.ndjson` + `<jobId>.index`): a task archived again (a replayed
 * journal record, or a re-run after the op that archived it was lost) gets a new record and the
 * index points at the newest, so a replay writes nothing wrong. Records are buffered and written
 * in batches; `sync()` makes everything written so far durable (the store calls it before a
 * snapshot stops carrying the archived rows). Without a directory it keeps records in memory
 * (a database used without a store, as unit tests do).
 */
export class TaskArchive {
  private pending = new Map<string, Pending>();
  private pendingBytes = 0;
  private readonly open = new Map<string, OpenJob>();
  private readonly unsynced = new Set<string>();
  private readonly memory = new Map<string, Map<number, string>>();
  /** The first write that failed: the archive lacks records from then on until a restart. */
  private failure: Error | undefined;

  /** `dir` is made when the first record is written (opening a store changes nothing on disk). */
  constructor(private readonly dir?: string) {}

  /** Adds a task's record (a JSON line the caller built; see `archiveLine`). */
  append(jobId: string, idx: number, line: string): void {
    checkJobId(jobId);
    if (!this.dir) {
      let m = this.memory.get(jobId);
      if (!m) this.memory.set(jobId, (m = new Map<number, string>()));
      m.set(idx, line);
      return;
    }
    let p = this.pending.get(jobId);
    if (!p) this.pending.set(jobId, (p = { lines: [], idxs: [], lengths: [], bytes: 0 }));
    const length = Buffer.byteLength(line) + 1;
    p.lines.push(line);
    p.idxs.push(idx);
    p.lengths.push(length);
    p.bytes += length;
    this.pendingBytes += length;
    if (this.pendingBytes < FLUSH_BYTES) return;
    // Never throws into the state machine: flush() keeps the failure for sync().
    try {
      this.flush();
    } catch {
      /* kept in this.failure */
    }
  }

  /**
   * Writes buffered records to their files (not yet durable: see sync). A failed write is kept:
   * from then on sync() throws, which keeps the store from taking a snapshot that would lack
   * those records (the journal still has their ops, and a restart archives them again).
   */
  flush(): void {
    if (this.pendingBytes === 0 && this.pending.size === 0) return;
    const pending = this.pending;
    this.pending = new Map();
    this.pendingBytes = 0;
    try {
      for (const [jobId, p] of pending) {
        const f = this.file(jobId);
        const at = f.size;
        writeAll(f.data, Buffer.from(p.lines.join('\n') + '\n'));
        f.size += p.bytes;
        this.writeIndex(f.index, p, at);
        this.unsynced.add(jobId);
      }
    } catch (err) {
      this.failure ??= err as Error;
      throw err;
    }
  }

  /** Flushes and fsyncs every file written since the last sync; throws if a write ever failed. */
  sync(): void {
    if (this.failure) throw this.failure;
    this.flush();
    for (const jobId of this.unsynced) {
      const f = this.open.get(jobId);
      if (f) {
        fsyncSync(f.data);
        fsyncSync(f.index);
        continue;
      }
      for (const name of [`${jobId}.ndjson`, `${jobId}.index`]) {
        const fd = openSync(join(this.dir as string, name), 'r');
        try {
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      }
    }
    this.unsynced.clear();
  }

  /** The archived task at `idx`, if any. */
  get(jobId: string, idx: number): ArchivedTask | undefined {
    return this.range(jobId, idx, idx + 1).get(idx);
  }

  /** Archived tasks with `from <= idx < to`, by index. */
  range(jobId: string, from: number, to: number): Map<number, ArchivedTask> {
    const out = new Map<number, ArchivedTask>();
    if (to <= from) return out;
    checkJobId(jobId);
    if (!this.dir) {
      for (const [idx, line] of this.memory.get(jobId) ?? [])
        if (idx >= from && idx < to) out.set(idx, JSON.parse(line) as ArchivedTask);
      return out;
    }
    this.flush();
    const f = this.reader(jobId);
    if (!f) return out;
    try {
      const entries = readIndex(f.index, from, to);
      // Tasks archived in about the order of their indexes sit together in the file: one read
      // of the span they cover, if it is not mostly other tasks' lines.
      let lo = Infinity;
      let hi = 0;
      let wanted = 0;
      for (const [, offset, length] of entries) {
        lo = Math.min(lo, offset);
        hi = Math.max(hi, offset + length);
        wanted += length;
      }
      const span =
        entries.length > 1 && hi - lo <= Math.max(4 * wanted, 65_536) && hi - lo <= 64 << 20
          ? readSpan(f.data, lo, hi)
          : undefined;
      for (const [idx, offset, length] of entries) {
        const task = span
          ? parseRecord(span.subarray(offset - lo, offset - lo + length), length, idx)
          : readRecord(f.data, offset, length, idx);
        if (task) out.set(idx, task);
      }
    } finally {
      f.close();
    }
    return out;
  }

  /**
   * Indexes of archived tasks from `from` upward (below `to`), ascending, read a block of the
   * index at a time: for paging through a job's results in constant memory.
   */
  *indexes(jobId: string, from: number, to: number): Generator<number> {
    checkJobId(jobId);
    if (!this.dir) {
      const idxs = [...(this.memory.get(jobId)?.keys() ?? [])].filter((i) => i >= from && i < to);
      yield* idxs.sort((a, b) => a - b);
      return;
    }
    this.flush();
    const f = this.reader(jobId);
    if (!f) return;
    try {
      // Small blocks first (a page of results wants the next thousand), larger as the scan goes on.
      for (
        let start = from, block = 2048;
        start < to;
        start += block, block = Math.min(block * 2, 65_536)
      )
        for (const [idx] of readIndex(f.index, start, Math.min(to, start + block))) yield idx;
    } finally {
      f.close();
    }
  }

  /** Drops a job's archive (its files, or what is buffered for it). */
  remove(jobId: string): void {
    checkJobId(jobId);
    this.memory.delete(jobId);
    const p = this.pending.get(jobId);
    if (p) {
      this.pendingBytes -= p.bytes;
      this.pending.delete(jobId);
    }
    this.closeJob(jobId);
    this.unsynced.delete(jobId);
    if (!this.dir) return;
    rmSync(join(this.dir, `${jobId}.ndjson`), { force: true });
    rmSync(join(this.dir, `${jobId}.index`), { force: true });
  }

  /** Syncs (unless a write failed) and closes every file; it can still be read and written after. */
  close(): void {
    try {
      // After a failed write there is nothing sound to sync: the journal has those ops.
      if (this.dir && !this.failure) this.sync();
    } finally {
      for (const jobId of [...this.open.keys()]) {
        const f = this.open.get(jobId) as OpenJob;
        this.open.delete(jobId);
        closeSync(f.data);
        closeSync(f.index);
      }
    }
  }

  private file(jobId: string): OpenJob {
    let f = this.open.get(jobId);
    if (f) {
      // Most recently used last: the map's order is the eviction order.
      this.open.delete(jobId);
      this.open.set(jobId, f);
      return f;
    }
    const dir = this.dir as string;
    if (this.open.size === 0) mkdirSync(dir, { recursive: true, mode: 0o700 });
    const data = openSync(join(dir, `${jobId}.ndjson`), 'a', 0o600);
    const index = openSync(
      join(dir, `${jobId}.index`),
      constants.O_RDWR | constants.O_CREAT,
      0o600,
    );
    f = { data, index, size: fstatSync(data).size };
    this.open.set(jobId, f);
    if (this.open.size > OPEN_FILES) {
      const oldest = this.open.keys().next().value as string;
      this.closeJob(oldest);
    }
    return f;
  }

  private closeJob(jobId: string): void {
    const f = this.open.get(jobId);
    if (!f) return;
    this.open.delete(jobId);
    if (this.unsynced.has(jobId)) {
      fsyncSync(f.data);
      fsyncSync(f.index);
      this.unsynced.delete(jobId);
    }
    closeSync(f.data);
    closeSync(f.index);
  }

  private reader(jobId: string): { data: number; index: number; close(): void } | undefined {
    const dir = this.dir as string;
    let data: number;
    try {
      data = openSync(join(dir, `${jobId}.ndjson`), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    let index: number;
    try {
      index = openSync(join(dir, `${jobId}.index`), 'r');
    } catch (err) {
      closeSync(data);
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    return {
      data,
      index,
      close: () => {
        closeSync(data);
        closeSync(index);
      },
    };
  }

  /** Writes the index entries of one batch, a run of consecutive indexes per write. */
  private writeIndex(fd: number, p: Pending, firstOffset: number): void {
    const order = p.idxs
      .map((_, i) => i)
      .sort((a, b) => (p.idxs[a] as number) - (p.idxs[b] as number));
    const offsets: number[] = [];
    let at = firstOffset;
    for (const len of p.lengths) {
      offsets.push(at);
      at += len;
    }
    let run: number[] = [];
    const writeRun = () => {
      if (run.length === 0) return;
      const buf = Buffer.alloc(run.length * ENTRY);
      run.forEach((i, k) => {
        buf.writeDoubleLE((offsets[i] as number) + 1, k * ENTRY);
        buf.writeDoubleLE((p.lengths[i] as number) - 1, k * ENTRY + 8);
      });
      writeAll(fd, buf, (p.idxs[run[0] as number] as number) * ENTRY);
      run = [];
    };
    for (const i of order) {
      const last = run[run.length - 1];
      const idx = p.idxs[i] as number;
      // A later record for the same index (archived twice in one batch) replaces the earlier one.
      if (last !== undefined && p.idxs[last] === idx) run[run.length - 1] = Math.max(last, i);
      else if (last !== undefined && p.idxs[last] === idx - 1) run.push(i);
      else {
        writeRun();
        run.push(i);
      }
    }
    writeRun();
  }
}

function writeAll(fd: number, buf: Buffer, position?: number): void {
  let done = 0;
  while (done < buf.length) {
    done += writeSync(
      fd,
      buf,
      done,
      buf.length - done,
      position === undefined ? null : position + done,
    );
  }
}

/** [idx, offset, length] of the present entries with from <= idx < to. */
function readIndex(fd: number, from: number, to: number): [number, number, number][] {
  const buf = Buffer.alloc((to - from) * ENTRY);
  const n = readSync(fd, buf, 0, buf.length, from * ENTRY);
  const out: [number, number, number][] = [];
  for (let k = 0; (k + 1) * ENTRY <= n; k++) {
    const offset = buf.readDoubleLE(k * ENTRY);
    if (offset > 0) out.push([from + k, offset - 1, buf.readDoubleLE(k * ENTRY + 8)]);
  }
  return out;
}

/**
 * The record at `offset`, or undefined if it is not there whole (an index entry that reached the
 * disk before its record did, in a crash): the journal replay writes it again.
 */
function readRecord(
  fd: number,
  offset: number,
  length: number,
  idx: number,
): ArchivedTask | undefined {
  if (!Number.isSafeInteger(length) || length <= 0 || length > 1 << 30) return undefined;
  const buf = Buffer.alloc(length);
  return parseRecord(buf.subarray(0, readSync(fd, buf, 0, length, offset)), length, idx);
}

/** The bytes from `lo` to `hi` (fewer at the end of the file). */
function readSpan(fd: number, lo: number, hi: number): Buffer {
  const buf = Buffer.alloc(hi - lo);
  return buf.subarray(0, readSync(fd, buf, 0, buf.length, lo));
}

/** A record read whole (`length` bytes) for task `idx`, else undefined. */
function parseRecord(buf: Buffer, length: number, idx: number): ArchivedTask | undefined {
  if (buf.length !== length) return undefined;
  try {
    const task = JSON.parse(buf.toString('utf8')) as ArchivedTask;
    return task.idx === idx ? task : undefined;
  } catch {
    return undefined;
  }
}

function checkJobId(jobId: string): void {
  if (!SAFE_JOB_ID.test(jobId)) throw new Error(`archive: bad job id ${JSON.stringify(jobId)}`);
}

/** The record of one archived task, built from JSON text columns without parsing them. */
export function archiveLine(
  idx: number,
  inputJson: string,
  outputJson: string,
  attempts: number,
  failures: number,
  finishedAt: number | null,
  tries: ArchivedAttempt[],
): string {
  return `{"idx":${idx},"input":${inputJson},"output":${outputJson},"attempts":${attempts},"failures":${failures},"finishedAt":${finishedAt ?? 'null'},"tries":${JSON.stringify(tries)}}`;
}

const archives = new WeakMap<Database, TaskArchive>();

/** Gives `db` its archive (the store does, before replaying its journal). */
export function attachArchive(db: Database, archive: TaskArchive): void {
  archives.set(db, archive);
}

/** The archive of `db`; one in memory if none was attached (a bare database in a unit test). */
export function archiveOf(db: Database): TaskArchive {
  let a = archives.get(db);
  if (!a) archives.set(db, (a = new TaskArchive()));
  return a;
}
