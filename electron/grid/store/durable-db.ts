// The durable sql.js store: ops applied in memory, journaled with group commit, bounded by snapshots.
import initSqlJs, { type Database, type SqlJsStatic, type Statement } from 'sql.js';
import type { Logger } from 'pino';
import { ensurePrivateDir } from './durable-fs.js';
import { StoreCorruptError, StoreTooNewError, StoreUnavailableError } from './errors.js';
import { Journal, readJournal, type JournalIo } from './journal.js';
import {
  loadNewestSnapshot,
  pruneSnapshots,
  removeSnapshotTemps,
  writeSnapshot,
} from './snapshot.js';

export interface DurableDbOptions<Op, R = unknown> {
  /** Data directory of the store, created with mode 0o700. */
  dir: string;
  /**
   * CREATE TABLE ... statements of the current format, run once on a fresh database (never on one
   * loaded from a snapshot).
   */
  schema: string[];
  /**
   * Ordered migrations: `migrations[n]` brings a database of store format n to n + 1, so the store
   * format this build writes is `migrations.length`. A schema change, or a new op an older build
   * could not apply, adds one (a no-op for an op). Run once per open on a database loaded from an
   * older snapshot, before the journal is replayed; the result is kept by the next snapshot.
   * Journal records and snapshots carry the format; a newer one than this is refused
   * (StoreTooNewError) with nothing on disk changed. @defaultValue [] (format 0)
   */
  migrations?: ((db: Database) => void)[];
  /**
   * The only writer: a deterministic transition (no clock, no randomness, no I/O). It runs inside a
   * SAVEPOINT, so a throw leaves the database unchanged and the op is not journaled. It must not
   * BEGIN/COMMIT itself (nested SAVEPOINTs are fine) and must be synchronous.
   */
  apply: (db: Database, op: Op) => R;
  /**
   * The hot ops, for which `apply` refuses only before its first write (with an error `isRefusal`
   * recognises): they run without a savepoint of their own (a quarter of a small op's cost). A
   * refusal is rethrown as is; any other throw from such an op may have left a partial write
   * behind, so the store fails stop and a restart replays the journal.
   */
  unguarded?: { op: (op: Op) => boolean; isRefusal: (err: unknown) => boolean };
  /**
   * Files kept beside the database that `apply` writes to through `db` (the coordinator's task
   * archive): opened before the journal is replayed (a replayed op writes them again, so what
   * they hold must be idempotent), made durable before every snapshot (which may then leave out
   * what they hold), closed with the store.
   */
  sidecar?: {
    open(db: Database, dir: string): void;
    sync(db: Database): void;
    close(db: Database): void;
  };
  /** PRAGMAs, functions, prepared statements: run after open (and migrations) and after every export. */
  afterOpen?: (db: Database) => void;
  /**
   * Take a snapshot after this many journal records (paced so that exporting a large store takes
   * at most a tenth of the time); @defaultValue 50_000
   */
  snapshotEveryRecords?: number;
  /** Called once if the journal fails; the store stays unavailable until reopened. */
  onFailure?: (err: StoreUnavailableError) => void;
  logger?: Logger;
  /** Replaces the journal's write/fdatasync, for tests that count syncs or inject ENOSPC. */
  journalIo?: Partial<JournalIo>;
}

/** What the journal holds: caller ops, and the epoch bump written by every open. */
type Entry<Op> = { t: 'op'; op: Op } | { t: 'epoch'; epoch: number };

const META_TABLE = '_durable_meta';
const META_SCHEMA = `CREATE TABLE ${META_TABLE} (key TEXT PRIMARY KEY, value INTEGER NOT NULL)`;
/**
 * Journal records between snapshots. A restart replays them at ~20-40 µs a record (a success
 * that archives its task costs the most): 25,000 records ≈ 0.5-1 s. Since succeeded tasks leave
 * the database for the task archive, a snapshot stays small and cheap to take this often.
 */
export const DEFAULT_SNAPSHOT_EVERY = 25_000;
const SNAPSHOT_PACING = 10;

// Every op runs in a savepoint: its three statements are prepared once per database, not parsed
// on every op.
interface Savepoints {
  open: Statement;
  release: Statement;
  rollback: Statement;
}
const savepointStatements = new WeakMap<Database, Savepoints>();
function savepoints(db: Database): Savepoints {
  let sp = savepointStatements.get(db);
  if (!sp) {
    sp = {
      open: db.prepare('SAVEPOINT durable_op'),
      release: db.prepare('RELEASE durable_op'),
      rollback: db.prepare('ROLLBACK TO durable_op'),
    };
    savepointStatements.set(db, sp);
  }
  return sp;
}

/** Memory no longer matches the journal (SQLite rolled back the open transaction, or an unguarded op
 * failed part-way): the store refuses work until a restart replays the journal. */
class DatabaseLostError extends StoreUnavailableError {
  constructor(cause: unknown, what = 'the in-memory database rolled back its open transaction') {
    super(`${what}; restart the coordinator`, { cause });
  }
}

let sqlJs: Promise<SqlJsStatic> | undefined;
function loadSqlJs(): Promise<SqlJsStatic> {
  return (sqlJs ??= initSqlJs());
}

function validate<Op, R>(
  opts: DurableDbOptions<Op, R>,
): Required<Pick<DurableDbOptions<Op, R>, 'snapshotEveryRecords'>> {
  if (typeof opts.dir !== 'string' || opts.dir === '')
    throw new TypeError('DurableDb: `dir` is required');
  if (!Array.isArray(opts.schema))
    throw new TypeError('DurableDb: `schema` must be an array of SQL');
  if (typeof opts.apply !== 'function')
    throw new TypeError('DurableDb: `apply` must be a function');
  const every = opts.snapshotEveryRecords ?? DEFAULT_SNAPSHOT_EVERY;
  if (!Number.isSafeInteger(every) || every < 1) {
    throw new TypeError(
      `DurableDb: \`snapshotEveryRecords\` must be a positive integer, got ${every}`,
    );
  }
  return { snapshotEveryRecords: every };
}

export class DurableDb<Op, R = unknown> {
  private sinceSnapshot: number;
  private snapshotChain: Promise<void> = Promise.resolve();
  private autoSnapshotPending = false;
  private closing = false;
  private closed: Promise<void> | undefined;
  private lastSnapshotSeq: number;
  private turnOpen = false;
  /**
   * When the last export ended and how long it blocked (performance.now() ms). Starts as if one had
   * just taken as long as loading the snapshot did: a snapshot due after a long replay then comes
   * some seconds after a large store opened, not in the middle of the coordinator's start-up.
   */
  private lastExport: { at: number; ms: number };
  private lost: DatabaseLostError | undefined;

  private constructor(
    readonly db: Database,
    private readonly journal: Journal,
    private readonly opts: DurableDbOptions<Op, R> & { snapshotEveryRecords: number },
    baseSeq: number,
    private epochValue: number,
    loadMs: number,
  ) {
    this.lastExport = { at: performance.now(), ms: loadMs };
    this.lastSnapshotSeq = baseSeq;
    this.sinceSnapshot = journal.lastSeq - baseSeq;
  }

  /**
   * Loads the newest valid snapshot (the previous one if it is damaged), replays the journal after
   * it, truncates a torn journal tail, then makes a new epoch durable before returning.
   */
  static async open<Op, R = unknown>(options: DurableDbOptions<Op, R>): Promise<DurableDb<Op, R>> {
    const opts = { ...options, ...validate(options) };
    const { dir, logger } = opts;
    const format = opts.migrations?.length ?? 0;
    await ensurePrivateDir(dir);
    const SQL = await loadSqlJs();
    const loadStart = performance.now();
    // Nothing is written to disk until the snapshot and the whole journal are known to be of a
    // format this build reads: a newer store is refused as it is.
    const snap = await loadNewestSnapshot(dir, logger, format);
    const db = snap ? new SQL.Database(snap.bytes) : DurableDb.fresh(SQL, opts.schema, format);
    const loadMs = snap ? performance.now() - loadStart : 0;
    let journal: Journal | undefined;
    try {
      opts.sidecar?.open(db, dir);
      DurableDb.tune(db);
      const baseSeq = snap?.seq ?? 0;
      let lastSeq = baseSeq;
      // One transaction for migrations and the whole replay: each op's savepoint is then nested
      // and cheap, instead of a commit of its own (a replayed op that fails makes the store
      // corrupt anyway).
      db.run('BEGIN');
      DurableDb.migrate(db, opts.migrations ?? [], dir, logger);
      opts.afterOpen?.(db);
      for await (const rec of readJournal(dir, baseSeq + 1)) {
        if ((rec.v ?? 0) > format)
          throw new StoreTooNewError(dir, rec.v ?? 0, format, `journal record ${rec.seq}`);
        try {
          DurableDb.applyEntry(db, opts, rec.data as Entry<Op>);
        } catch (err) {
          const msg = `replay of journal seq ${rec.seq} failed; is apply deterministic?`;
          throw new StoreCorruptError(msg, { cause: err });
        }
        lastSeq = rec.seq;
      }
      db.run('COMMIT');
      logger?.info(
        { dir, snapshotSeq: baseSeq, replayed: lastSeq - baseSeq, format },
        'store: opened',
      );
      await removeSnapshotTemps(dir);
      journal = await Journal.open(dir, {
        minNextSeq: lastSeq + 1,
        onError: opts.onFailure,
        io: opts.journalIo,
        logger,
        formatVersion: format,
      });
      const store = new DurableDb<Op, R>(
        db,
        journal,
        opts,
        baseSeq,
        DurableDb.readEpoch(db),
        loadMs,
      );
      await store.bumpEpoch();
      return store;
    } catch (err) {
      await journal?.close();
      try {
        opts.sidecar?.close(db);
      } catch {
        /* the open failed already; that error is the one to report */
      }
      db.close();
      throw err;
    }
  }

  private static fresh(SQL: SqlJsStatic, schema: string[], format: number): Database {
    const db = new SQL.Database();
    for (const sql of [META_SCHEMA, ...schema]) db.run(sql);
    db.run(`INSERT INTO ${META_TABLE} (key, value) VALUES ('format', ?)`, [format]);
    return db;
  }

  /** The store format of a database: 0 for one made before formats (no 'format' row). */
  private static readFormat(db: Database): number {
    const rows = db.exec(`SELECT value FROM ${META_TABLE} WHERE key = 'format'`);
    return Number(rows[0]?.values[0]?.[0] ?? 0);
  }

  /** Brings a database loaded from an older snapshot up to the current format, in order. */
  private static migrate(
    db: Database,
    migrations: ((db: Database) => void)[],
    dir: string,
    logger: Logger | undefined,
  ): void {
    const from = DurableDb.readFormat(db);
    if (from > migrations.length)
      throw new StoreTooNewError(dir, from, migrations.length, 'its newest snapshot');
    for (let n = from; n < migrations.length; n++) migrations[n]?.(db);
    if (from === migrations.length) return;
    db.run(`INSERT OR REPLACE INTO ${META_TABLE} (key, value) VALUES ('format', ?)`, [
      migrations.length,
    ]);
    logger?.info({ dir, from, to: migrations.length }, 'store: migrated');
  }

  /** The store format this store writes (and its database is at). */
  get format(): number {
    return this.opts.migrations?.length ?? 0;
  }

  /**
   * sql.js keeps the database in a file of Emscripten's in-memory FS, so by default every write
   * transaction also creates, fills and deletes a rollback-journal file there: most of the cost of
   * a small op. Durability is our journal's job, so SQLite's rollback journal stays in memory
   * (savepoint rollback still works). `export()` resets PRAGMAs (sql.js #159, #233): re-applied.
   */
  private static tune(db: Database): void {
    db.run('PRAGMA journal_mode = MEMORY');
    db.run('PRAGMA synchronous = OFF');
    db.run('PRAGMA temp_store = MEMORY');
    // One connection owns the file: no hot-journal probe of the FS before every statement.
    db.run('PRAGMA locking_mode = EXCLUSIVE');
  }

  private static readEpoch(db: Database): number {
    const rows = db.exec(`SELECT value FROM ${META_TABLE} WHERE key = 'epoch'`);
    return Number(rows[0]?.values[0]?.[0] ?? 0);
  }

  /**
   * Runs `fn` in a savepoint: a throw rolls back everything it did. Throws DatabaseLostError when
   * SQLite itself rolled back the enclosing transaction (out of memory): then more than this op is gone.
   */
  private static inSavepoint<T>(db: Database, fn: () => T): T {
    const sp = savepoints(db);
    sp.open.run();
    try {
      const result = fn();
      if (result instanceof Promise) throw new TypeError('DurableDb: apply must be synchronous');
      sp.release.run();
      return result;
    } catch (err) {
      try {
        sp.rollback.run();
        sp.release.run();
      } catch {
        throw new DatabaseLostError(err);
      }
      throw err;
    }
  }

  private static applyEntry<Op, R>(
    db: Database,
    opts: Pick<DurableDbOptions<Op, R>, 'apply' | 'unguarded'>,
    e: Entry<Op>,
  ): R | undefined {
    switch (e.t) {
      case 'op':
        return DurableDb.applyOne(db, opts, e.op);
      case 'epoch':
        db.run(`INSERT OR REPLACE INTO ${META_TABLE} (key, value) VALUES ('epoch', ?)`, [e.epoch]);
        return undefined;
      default:
        throw new StoreCorruptError(`unknown journal entry ${JSON.stringify(e)}`);
    }
  }

  /** One op, live or replayed: in its own savepoint, or bare if it is one of the unguarded ops. */
  private static applyOne<Op, R>(
    db: Database,
    opts: Pick<DurableDbOptions<Op, R>, 'apply' | 'unguarded'>,
    op: Op,
  ): R {
    if (opts.unguarded?.op(op)) return opts.apply(db, op);
    return DurableDb.inSavepoint(db, () => opts.apply(db, op));
  }

  /** Incremented and durable on every open: fences attempt ids across coordinator restarts. */
  get epoch(): number {
    return this.epochValue;
  }
  /** True once the journal failed: every commit throws StoreUnavailableError; reopen to recover. */
  get failed(): boolean {
    return this.journal.failed || this.lost !== undefined;
  }
  /** Why the store failed (journal I/O error, lost database), once it has. */
  get failure(): StoreUnavailableError | undefined {
    return this.journal.error ?? this.lost;
  }
  /** Seq of the last committed op (durable or not). */
  get seq(): number {
    return this.journal.lastSeq;
  }
  /** Group-commit telemetry of the journal. */
  get journalStats(): { flushes: number; records: number } {
    return { ...this.journal.stats };
  }

  /**
   * Applies `op` now and journals it. `result` is what apply returned; acknowledge to anyone only
   * after `durable` resolves. A throwing op changes nothing and is not journaled. The op goes
   * through JSON before apply sees it, so the live run and a replay see the same value. A `lazy`
   * op (one whose durability nobody is told about: an assignment, a start) starts no disk write of
   * its own; it is written with the next op, or within milliseconds.
   */
  commit(op: Op, opts: { lazy?: boolean } = {}): { result: R; durable: Promise<void> } {
    const json = this.writableJson(op);
    this.beginTurn();
    let result: R;
    try {
      result = DurableDb.applyOne(this.db, this.opts, JSON.parse(json) as Op);
    } catch (err) {
      const { unguarded } = this.opts;
      if (err instanceof DatabaseLostError) this.loseDatabase(err);
      else if (unguarded?.op(op) && !unguarded.isRefusal(err))
        this.loseDatabase(new DatabaseLostError(err, 'an op failed part-way'));
      throw this.lost ?? err;
    }
    const durable = this.journal.appendJson(`{"t":"op","op":${json}}`, opts.lazy).durable;
    // Fire-and-forget commits must not crash the process; failures also reach onFailure.
    durable.catch(() => undefined);
    this.countRecord();
    return { result, durable };
  }

  private loseDatabase(err: DatabaseLostError): void {
    if (this.lost) return;
    this.lost = err;
    this.opts.logger?.error({ err }, 'store: the in-memory database can no longer be trusted');
    this.opts.onFailure?.(err);
  }

  /**
   * Ops of one event-loop turn share one SQLite transaction (each still in its own savepoint):
   * a transaction per op cost a fifth of an op. Committed when the turn ends, and before an export.
   */
  private beginTurn(): void {
    if (this.turnOpen) return;
    this.db.run('BEGIN');
    this.turnOpen = true;
    setImmediate(() => this.endTurn());
  }

  private endTurn(): void {
    if (!this.turnOpen) return;
    this.turnOpen = false;
    if (this.lost) return; // SQLite ended the transaction itself
    try {
      this.db.run('COMMIT');
    } catch (err) {
      // Called from the event loop: fail stop (memory no longer matches the journal), never throw.
      this.loseDatabase(new DatabaseLostError(err, 'the in-memory database could not commit'));
    }
  }

  private writableJson(op: Op): string {
    if (this.closing) throw new StoreUnavailableError('store is closed');
    if (this.lost) throw this.lost;
    if (this.journal.error) throw this.journal.error;
    const json = JSON.stringify(op);
    if (typeof json !== 'string') throw new TypeError('DurableDb: op is not JSON-serialisable');
    return json;
  }

  private async bumpEpoch(): Promise<void> {
    const entry: Entry<Op> = { t: 'epoch', epoch: this.epochValue + 1 };
    DurableDb.applyEntry(this.db, this.opts, entry);
    this.epochValue = entry.epoch;
    const { durable } = this.journal.appendJson(JSON.stringify(entry));
    this.countRecord();
    await durable;
  }

  private countRecord(): void {
    if (++this.sinceSnapshot < this.opts.snapshotEveryRecords || this.autoSnapshotPending) return;
    this.autoSnapshotPending = true;
    // Off the request path: the export runs after the current commit's caller has returned, and
    // no sooner than SNAPSHOT_PACING × the last export's pause after it, so that a large store
    // spends at most ~1/SNAPSHOT_PACING of the coordinator's time exporting (the tail grows
    // instead, and a restart replays a little more).
    const wait = this.lastExport.at + SNAPSHOT_PACING * this.lastExport.ms - performance.now();
    const run = () => {
      this.snapshot()
        .catch((err: unknown) =>
          this.opts.logger?.error({ err }, 'store: automatic snapshot failed'),
        )
        .finally(() => (this.autoSnapshotPending = false));
    };
    if (wait > 0) setTimeout(run, wait).unref();
    else setImmediate(run);
  }

  /** Snapshots now (after any snapshot in flight: never two at once). */
  snapshot(): Promise<void> {
    const run = this.snapshotChain.then(() => this.snapshotNow(false));
    this.snapshotChain = run.catch(() => undefined);
    return run;
  }

  private async snapshotNow(final: boolean): Promise<void> {
    if (this.journal.error) throw this.journal.error;
    if (this.lost) throw this.lost;
    if (this.closing && !final) return; // an automatic snapshot scheduled just before close()
    const seq = this.journal.lastSeq;
    if (seq === this.lastSnapshotSeq) return;
    // Export, rotate and seq are taken in one synchronous step so no commit falls between them.
    this.endTurn();
    const t0 = performance.now();
    const bytes = this.db.export();
    const t1 = performance.now();
    this.lastExport = { at: t1, ms: t1 - t0 };
    DurableDb.tune(this.db);
    this.opts.afterOpen?.(this.db);
    this.sinceSnapshot = 0;
    const rotated = this.journal.rotate();
    // A snapshot at `seq` may only be published once the journal holds every record up to `seq`,
    // and the side files everything the ops up to `seq` wrote there (the snapshot may lack it).
    await rotated;
    this.opts.sidecar?.sync(this.db);
    await writeSnapshot(this.opts.dir, seq, bytes, this.format);
    this.lastSnapshotSeq = seq;
    await pruneSnapshots(this.opts.dir);
    this.opts.logger?.info({ seq, bytes: bytes.length }, 'store: snapshot written');
  }

  /** Waits for a snapshot in flight, optionally takes a final one, flushes the journal, closes. */
  close(opts: { snapshot?: boolean } = {}): Promise<void> {
    this.closed ??= this.closeNow(opts);
    return this.closed;
  }

  private async closeNow(opts: { snapshot?: boolean }): Promise<void> {
    this.closing = true;
    await this.snapshotChain;
    if (opts.snapshot && !this.journal.failed) await this.snapshotNow(true);
    await this.journal.close();
    this.endTurn();
    this.opts.sidecar?.close(this.db);
    this.db.close();
  }
}
