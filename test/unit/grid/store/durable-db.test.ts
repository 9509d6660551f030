import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Database } from 'sql.js';
import { describe, expect, it } from 'vitest';
import { DurableDb, type DurableDbOptions } from '../../../../electron/grid/store/durable-db.js';
import {
  JournalCorruptError,
  StoreUnavailableError,
} from '../../../../electron/grid/store/errors.js';
import { applyKv, dumpKv, kvSchema, type KvOp } from './helpers/kv-store.js';
import { useTempDir } from './helpers/temp-dir.js';

const tmp = useTempDir('colony-durable-');

function open(
  extra: Partial<DurableDbOptions<KvOp, number>> = {},
): Promise<DurableDb<KvOp, number>> {
  return DurableDb.open<KvOp, number>({ dir: tmp(), schema: kvSchema, apply: applyKv, ...extra });
}

async function commitAll(store: DurableDb<KvOp, number>, ops: KvOp[]): Promise<void> {
  await Promise.all(ops.map((op) => store.commit(op).durable));
}

const adds = (n: number, from = 0): KvOp[] =>
  Array.from({ length: n }, (_, i) => ({ type: 'add', k: `k${(from + i) % 7}`, n: from + i }));

const snapshots = async (): Promise<string[]> =>
  (await readdir(tmp())).filter((f) => f.startsWith('snapshot-')).sort();

describe('DurableDb', () => {
  it('applies ops at once and replays them to the same state on reopen', async () => {
    const a = await open();
    const { result, durable } = a.commit({ type: 'set', k: 'x', v: 5 });
    expect(result).toBe(5);
    await durable;
    await commitAll(a, adds(100));
    const state = dumpKv(a.db);
    await a.close();
    const b = await open();
    expect(dumpKv(b.db)).toEqual(state);
    await b.close();
  });

  it('batches the journal writes of ops committed together', async () => {
    const a = await open();
    await commitAll(a, adds(200));
    expect(a.journalStats.flushes).toBeLessThan(5);
    await a.close();
  });

  it('leaves no trace of a throwing op and does not journal it', async () => {
    const a = await open();
    await a.commit({ type: 'set', k: 'x', v: 1 }).durable;
    const seq = a.seq;
    expect(() => a.commit({ type: 'boom', k: 'ghost' })).toThrow('boom');
    expect(a.seq).toBe(seq);
    expect(dumpKv(a.db)).toEqual([['x', 1]]);
    await a.close();
    const b = await open();
    expect(dumpKv(b.db)).toEqual([['x', 1]]);
    await b.close();
  });

  it('fails stop when SQLite drops the open transaction, and a reopen restores every journaled op', async () => {
    // Ops of one event-loop turn share a transaction; if SQLite rolls it back itself (out of
    // memory), earlier ops of the turn are gone from memory though journaled: refuse more work.
    let failure: StoreUnavailableError | undefined;
    const applyOrLose = (db: Database, op: KvOp) => {
      if (op.type === 'boom') {
        db.run('ROLLBACK'); // what SQLite does on SQLITE_NOMEM: the whole transaction goes
        throw new Error('out of memory');
      }
      return applyKv(db, op);
    };
    const a = await open({ apply: applyOrLose, onFailure: (err) => (failure = err) });
    const first = a.commit({ type: 'set', k: 'x', v: 1 }).durable;
    expect(() => a.commit({ type: 'boom', k: 'ghost' })).toThrow(StoreUnavailableError);
    expect(a.failed).toBe(true);
    expect(failure?.message).toMatch(/rolled back its open transaction/);
    expect(() => a.commit({ type: 'set', k: 'y', v: 2 })).toThrow(StoreUnavailableError);
    await first;
    await a.close();
    const b = await open();
    expect(dumpKv(b.db)).toEqual([['x', 1]]);
    await b.close();
  });

  it('runs unguarded ops without a savepoint: a refusal passes through, a part-way failure fails stop', async () => {
    let failure: StoreUnavailableError | undefined;
    const a = await open({
      // 'boom' writes, then throws: not a refusal. A 'set' of a negative value is refused first.
      apply: (db, op) => {
        if (op.type === 'set' && op.v < 0) throw new RangeError('refused: negative');
        return applyKv(db, op);
      },
      unguarded: { op: () => true, isRefusal: (err) => err instanceof RangeError },
      onFailure: (err) => (failure = err),
    });
    await a.commit({ type: 'set', k: 'x', v: 1 }).durable;
    expect(() => a.commit({ type: 'set', k: 'y', v: -1 })).toThrow(RangeError);
    expect(a.failed).toBe(false);
    expect(() => a.commit({ type: 'boom', k: 'ghost' })).toThrow(StoreUnavailableError);
    expect(a.failed).toBe(true);
    expect(failure?.message).toMatch(/an op failed part-way/);
    expect(() => a.commit({ type: 'set', k: 'z', v: 3 })).toThrow(StoreUnavailableError);
    await a.close();
    const b = await open();
    expect(dumpKv(b.db)).toEqual([['x', 1]]); // the ghost row never reached the journal
    await b.close();
  });

  it('hands apply the JSON form of the op, as replay will', async () => {
    const seen: unknown[] = [];
    const a = await DurableDb.open<{ at: Date | string }>({
      dir: tmp(),
      schema: [],
      apply: (_db, op) => seen.push(op.at),
    });
    a.commit({ at: new Date(0) });
    expect(seen).toEqual(['1970-01-01T00:00:00.000Z']);
    await a.close();
  });

  it('increments a durable epoch on every open', async () => {
    const epochs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await open();
      epochs.push(s.epoch);
      if (i === 1) await s.snapshot(); // the epoch survives a snapshot and journal pruning
      await s.close();
    }
    expect(epochs).toEqual([1, 2, 3]);
  });

  it('restores from a snapshot plus the journal after it, and prunes what is no longer needed', async () => {
    const a = await open();
    const all: KvOp[] = [];
    for (let round = 0; round < 4; round++) {
      const ops = adds(50, round * 50);
      all.push(...ops);
      await commitAll(a, ops);
      await a.snapshot();
    }
    await commitAll(a, adds(30, 1000));
    const state = dumpKv(a.db);
    await a.close();
    expect(await snapshots()).toHaveLength(2);
    const segments = (await readdir(tmp())).filter((f) => f.startsWith('journal-'));
    expect(segments.length).toBe(2); // the records after the older kept snapshot, and the current one
    const b = await open();
    expect(dumpKv(b.db)).toEqual(state);
    await b.close();
  });

  // Damage in the body, or in any header field the checksum covers: the seq (bytes 16-23), the
  // store format (12-15, which must not then be read as "written by a newer Colony"), the length.
  it.each([
    ['a body byte', (b: Buffer) => b.length - 100],
    ['the store format', () => 12],
    ['the seq', () => 16],
    ['the length', () => 24],
  ])(
    'falls back to the previous snapshot plus the journal when the newest has %s damaged',
    async (_, at) => {
      const a = await open();
      for (let round = 0; round < 3; round++) {
        await commitAll(a, adds(40, round * 40));
        await a.snapshot();
      }
      await commitAll(a, adds(10, 500));
      const state = dumpKv(a.db);
      await a.close();
      const newest = join(tmp(), (await snapshots()).at(-1)!);
      const bytes = await readFile(newest);
      const i = at(bytes);
      bytes.writeUInt8(bytes.readUInt8(i) ^ 0x01, i);
      await writeFile(newest, bytes);
      const b = await open();
      expect(dumpKv(b.db)).toEqual(state);
      // The damaged file is set aside so pruning never counts it as one of the two kept.
      expect((await readdir(tmp())).some((f) => f.endsWith('.corrupt'))).toBe(true);
      await b.snapshot();
      await b.close();
      const c = await open();
      expect(dumpKv(c.db)).toEqual(state);
      await c.close();
    },
  );

  it('refuses to open when no snapshot is usable and the journal no longer starts at 1', async () => {
    const a = await open();
    for (let round = 0; round < 3; round++) {
      await commitAll(a, adds(10, round * 10));
      await a.snapshot();
    }
    await a.close();
    for (const f of await snapshots()) await writeFile(join(tmp(), f), 'garbage');
    await expect(open()).rejects.toBeInstanceOf(JournalCorruptError);
  });

  it('snapshots automatically by record count, one at a time', async () => {
    const a = await open({ snapshotEveryRecords: 25 });
    for (let i = 0; i < 10; i++) await commitAll(a, adds(20, i * 20));
    await a.close({ snapshot: true });
    expect((await snapshots()).length).toBe(2);
    const b = await open();
    expect(b.seq).toBeGreaterThan(200);
    await b.close();
  });

  it('re-runs afterOpen after each export so PRAGMAs hold', async () => {
    let calls = 0;
    const afterOpen = (db: Database) => {
      calls++;
      db.run('PRAGMA foreign_keys = ON');
    };
    const a = await open({ afterOpen });
    await a.snapshot();
    await a.snapshot(); // nothing new: no export
    await a.commit({ type: 'set', k: 'x', v: 1 }).durable;
    await a.snapshot();
    expect(calls).toBe(3);
    expect(a.db.exec('PRAGMA foreign_keys')[0]?.values[0]?.[0]).toBe(1);
    await a.close();
  });

  it('is unavailable after a journal failure and after close', async () => {
    const failures: Error[] = [];
    let fail = false;
    const a = await open({
      onFailure: (e) => failures.push(e),
      journalIo: {
        datasync: (fh) => (fail ? Promise.reject(new Error('EIO')) : fh.datasync()),
      },
    });
    fail = true;
    const { durable } = a.commit({ type: 'set', k: 'x', v: 1 });
    await expect(durable).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(a.failed).toBe(true);
    expect(failures).toHaveLength(1);
    expect(() => a.commit({ type: 'set', k: 'y', v: 2 })).toThrow(StoreUnavailableError);
    expect(dumpKv(a.db)).toEqual([['x', 1]]); // in memory but never acknowledged
    await a.close();
    const b = await open();
    expect(dumpKv(b.db)).toEqual([]);
    await b.close();
    expect(() => b.commit({ type: 'set', k: 'z', v: 3 })).toThrow(StoreUnavailableError);
  });

  it('validates its options', async () => {
    await expect(open({ snapshotEveryRecords: 0 })).rejects.toThrow(/snapshotEveryRecords/);
  });
});
