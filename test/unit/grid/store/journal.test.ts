import { execFileSync } from 'node:child_process';
import { appendFile, readFile, readdir, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileHandle } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  JournalCorruptError,
  StoreUnavailableError,
} from '../../../../electron/grid/store/errors.js';
import {
  Journal,
  readJournal,
  type JournalIo,
  type JournalRecord,
} from '../../../../electron/grid/store/journal.js';
import { useTempDir } from './helpers/temp-dir.js';

const tmp = useTempDir('colony-journal-');
const SEG1 = 'journal-0000000000000001.log';

async function readAll(dir: string, fromSeq = 1): Promise<JournalRecord[]> {
  const out: JournalRecord[] = [];
  for await (const rec of readJournal(dir, fromSeq)) out.push(rec);
  return out;
}

/** Real syscalls, counted; each datasync waits for `gate` if one is set. */
function countingIo() {
  const counts = { datasync: 0 };
  let gate: Promise<void> | undefined;
  let entered: (() => void) | undefined;
  const io: JournalIo = {
    write: async (fh, buf, pos) => (await fh.write(buf, 0, buf.length, pos)).bytesWritten,
    datasync: async (fh) => {
      counts.datasync++;
      entered?.();
      if (gate) await gate;
      await fh.datasync();
    },
  };
  const setGate = (g: Promise<void> | undefined): void => {
    gate = g;
  };
  /** Resolves when the next datasync starts. */
  const nextSync = () => new Promise<void>((r) => (entered = r));
  return { io, counts, setGate, nextSync };
}

describe('journal group commit', () => {
  it('batches appends made while a flush is in flight into the next flush', async () => {
    const { io, counts, setGate, nextSync } = countingIo();
    const j = await Journal.open(tmp(), { io });
    let open!: () => void;
    setGate(new Promise<void>((r) => (open = r)));
    const syncing = nextSync();
    const first = j.append({ n: 0 });
    await syncing; // the first flush is now held inside its datasync
    expect(counts.datasync).toBe(1);
    const rest = Array.from({ length: 50 }, (_, i) => j.append({ n: i + 1 }));
    setGate(undefined);
    open();
    await Promise.all([first, ...rest]);
    expect(counts.datasync).toBe(2);
    expect(j.stats).toEqual({ flushes: 2, records: 51 });
    await j.close();
  });

  it('uses far fewer fdatasyncs than records under concurrent appends, in order', async () => {
    const { io, counts } = countingIo();
    const j = await Journal.open(tmp(), { io });
    const writers = Array.from({ length: 16 }, async (_, w) => {
      for (let i = 0; i < 25; i++) await j.append({ w, i });
    });
    await Promise.all(writers);
    expect(counts.datasync).toBeLessThan(400 / 4);
    const recs = await readAll(tmp());
    expect(recs.map((r) => r.seq)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    for (let w = 0; w < 16; w++) {
      const mine = recs.filter((r) => (r.data as { w: number }).w === w);
      expect(mine.map((r) => (r.data as { i: number }).i)).toEqual([...Array(25).keys()]);
    }
    await j.close();
  });

  it('writes lazy records with the next record that starts a write, or on their own soon after', async () => {
    const { io, counts } = countingIo();
    const j = await Journal.open(tmp(), { io });
    const lazy = [j.appendJson('"assign"', true).durable, j.appendJson('"start"', true).durable];
    await new Promise((r) => setImmediate(r));
    expect(counts.datasync).toBe(0); // waiting for company
    await j.appendJson('"end"').durable;
    await Promise.all(lazy);
    expect(counts.datasync).toBe(1); // all three in one write
    // Alone, a lazy record still becomes durable by itself, within milliseconds.
    await j.appendJson('"alone"', true).durable;
    expect(counts.datasync).toBe(2);
    // flush() does not wait for company either.
    void j.appendJson('"last"', true);
    await j.flush();
    expect(counts.datasync).toBe(3);
    await j.close();
    expect((await readAll(tmp())).map((r) => r.data)).toEqual([
      'assign',
      'start',
      'end',
      'alone',
      'last',
    ]);
  });

  it('journals appendNoWait records in order with awaited ones', async () => {
    const j = await Journal.open(tmp());
    expect(j.appendNoWait('a')).toBe(1);
    await j.append('b');
    expect(j.appendNoWait('c')).toBe(3);
    await j.flush();
    expect(j.durableSeq).toBe(3);
    await j.close();
    expect((await readAll(tmp())).map((r) => r.data)).toEqual(['a', 'b', 'c']);
  });
});

describe('journal segments', () => {
  it('rotates into journal-<firstSeq>.log and reads across segments from any seq', async () => {
    const j = await Journal.open(tmp());
    await j.append(1);
    await j.append(2);
    await j.rotate();
    await j.rotate(); // nothing new: no empty extra segment
    await j.append(3);
    await j.close();
    expect((await readdir(tmp())).sort()).toEqual([SEG1, 'journal-0000000000000003.log']);
    expect((await readAll(tmp())).map((r) => r.data)).toEqual([1, 2, 3]);
    expect((await readAll(tmp(), 2)).map((r) => r.seq)).toEqual([2, 3]);
    const again = await Journal.open(tmp());
    expect(again.lastSeq).toBe(3);
    await again.close();
  });
});

describe('journal damage', () => {
  async function threeRecords(dir: string): Promise<number> {
    const j = await Journal.open(dir);
    await Promise.all([j.append('a'), j.append('b'), j.append('c')]);
    await j.close();
    return (await stat(join(dir, SEG1))).size;
  }

  it.each([
    ['a partial line', '1a2b3c4d {"seq":4,"da'],
    ['a complete line with a bad CRC', '00000000 {"seq":4,"data":"d"}\n'],
    ['zeros from a torn page', '\0'.repeat(100)],
  ])('tolerates and truncates %s at the tail', async (_name, tail) => {
    const size = await threeRecords(tmp());
    await appendFile(join(tmp(), SEG1), tail);
    expect((await readAll(tmp())).map((r) => r.data)).toEqual(['a', 'b', 'c']);
    const j = await Journal.open(tmp());
    expect((await stat(join(tmp(), SEG1))).size).toBe(size);
    await j.append('d');
    await j.close();
    expect((await readAll(tmp())).map((r) => [r.seq, r.data])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
      [4, 'd'],
    ]);
  });

  it('reports corruption in the middle with the file and offset', async () => {
    await threeRecords(tmp());
    const file = join(tmp(), SEG1);
    const text = await readFile(file, 'utf8');
    const second = text.indexOf('\n') + 1;
    await writeFile(file, text.slice(0, second + 20) + 'X' + text.slice(second + 21));
    const err = await readAll(tmp()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JournalCorruptError);
    expect(err).toMatchObject({ code: 'JOURNAL_CORRUPT', file, offset: second });
    expect((err as Error).message).toContain(file);
    await expect(Journal.open(tmp())).rejects.toBeInstanceOf(JournalCorruptError);
  });
});

describe('failed journal', () => {
  it('rejects pending and future appends after a write error and keeps only durable bytes', async () => {
    let failNext = false;
    const io: Partial<JournalIo> = {
      // On failure, write half of the batch for real first: a torn write that must be cut back.
      write: async (fh: FileHandle, buf: Buffer, pos: number) => {
        if (!failNext) return (await fh.write(buf, 0, buf.length, pos)).bytesWritten;
        await fh.write(buf, 0, buf.length >> 1, pos);
        throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      },
    };
    const errors: Error[] = [];
    const j = await Journal.open(tmp(), { io, onError: (e) => errors.push(e) });
    await j.append('kept');
    const goodSize = (await stat(join(tmp(), SEG1))).size;
    failNext = true;
    const pending = [j.append('lost1'), j.append('lost2')];
    for (const p of pending) await expect(p).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(pending[0]).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      name: 'StoreUnavailableError',
    });
    expect(j.failed).toBe(true);
    await expect(j.append('later')).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(() => j.appendNoWait('later')).toThrow(StoreUnavailableError);
    await expect(j.rotate()).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(errors).toHaveLength(1);
    expect((await stat(join(tmp(), SEG1))).size).toBe(goodSize);
    await j.close();
    expect((await readAll(tmp())).map((r) => r.data)).toEqual(['kept']);
  });

  it('fails when fdatasync fails', async () => {
    const io: Partial<JournalIo> = {
      datasync: () => Promise.reject(Object.assign(new Error('EIO'), { code: 'EIO' })),
    };
    const j = await Journal.open(tmp(), { io });
    await expect(j.append('x')).rejects.toBeInstanceOf(StoreUnavailableError);
    await j.close();
    expect(await readAll(tmp())).toEqual([]);
  });

  it('survives a real ENOSPC on a tiny tmpfs', async (ctx) => {
    const mnt = join(tmp(), 'tiny');
    try {
      execFileSync('mkdir', ['-p', mnt]);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt], { stdio: 'pipe' });
    } catch {
      console.warn(
        'skipping real ENOSPC test: cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN)',
      );
      ctx.skip();
      return;
    }
    try {
      const j = await Journal.open(mnt);
      const acked: number[] = [];
      let failure: unknown;
      for (let i = 0; i < 10_000 && failure === undefined; i++) {
        await Promise.all(
          Array.from({ length: 4 }, async (_, k) => {
            const n = i * 4 + k;
            await j.append({ n, pad: 'x'.repeat(500) }).then(
              () => acked.push(n),
              (e: unknown) => (failure = e),
            );
          }),
        );
      }
      expect(failure).toBeInstanceOf(StoreUnavailableError);
      expect(((failure as Error).cause as NodeJS.ErrnoException).code).toBe('ENOSPC');
      await j.close();
      const recs = await readAll(mnt);
      expect(recs.map((r) => (r.data as { n: number }).n)).toEqual(acked);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });
});

describe('journal reading edge cases', () => {
  it('reads records that straddle the 1 MiB read chunks', async () => {
    const j = await Journal.open(tmp());
    const big = Array.from({ length: 12 }, (_, i) => String(i).repeat(300_000 + i));
    await Promise.all(big.map((b) => j.append(b)));
    await j.close();
    expect((await readAll(tmp())).map((r) => r.data)).toEqual(big);
  });

  it('treats an empty directory as an empty journal', async () => {
    expect(await readAll(tmp())).toEqual([]);
  });

  it('reports a record in a middle segment damaged at its tail', async () => {
    const j = await Journal.open(tmp());
    await j.append(1);
    await j.rotate();
    await j.append(2);
    await j.close();
    const file = join(tmp(), SEG1);
    await truncate(file, (await stat(file)).size - 2);
    await expect(readAll(tmp())).rejects.toBeInstanceOf(JournalCorruptError);
  });
});
