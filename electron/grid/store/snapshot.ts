// Atomic, checksummed snapshots of the sql.js database and the pruning of what they make obsolete.
//
// File `snapshot-<seq, 16 digits>.db` = 64-byte header + the bytes of `db.export()`.
// Header: magic "CLNYSNAP" | u32 file format | u32 store format | u64 seq | u64 length | sha256(32),
// little-endian. The seq is the last journal record the database includes (and the file's name).
// The sha256 covers the header's first 32 bytes and the body (file format 3; formats 1 and 2, still
// read, covered the body only, so a damaged seq or store format went unnoticed). File format 1
// (before store formats) left the store-format word 0. A file or store format newer than this build
// knows is refused (StoreTooNewError), never taken for damage; a store format is believed only once
// the checksum over it holds.
import { createHash } from 'node:crypto';
import { open, readFile, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { fsyncDir, padSeq } from './durable-fs.js';
import { StoreCorruptError, StoreTooNewError } from './errors.js';
import { listSegments } from './journal-reader.js';

export interface SnapshotInfo {
  file: string;
  seq: number;
}

const MAGIC = Buffer.from('CLNYSNAP', 'latin1');
const VERSION = 3;
/** The first file format whose checksum covers the header too. */
const HEADER_SUMMED = 3;
const HEADER_BYTES = 64;
const SNAPSHOT_RE = /^snapshot-(\d{16})\.db$/;
const TEMP_SUFFIX = '.tmp';

export function snapshotName(seq: number): string {
  return `snapshot-${padSeq(seq)}.db`;
}

/** Valid-looking snapshot files, newest first. */
export async function listSnapshots(dir: string): Promise<SnapshotInfo[]> {
  const out: SnapshotInfo[] = [];
  for (const name of await readdir(dir)) {
    const m = SNAPSHOT_RE.exec(name);
    if (m) out.push({ file: join(dir, name), seq: Number(m[1]) });
  }
  return out.sort((a, b) => b.seq - a.seq);
}

export interface Snapshot {
  seq: number;
  /** Store format of the database inside (0: written before store formats). */
  format: number;
  bytes: Uint8Array;
}

function encodeHeader(seq: number, bytes: Uint8Array, format: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(h, 0);
  h.writeUInt32LE(VERSION, 8);
  h.writeUInt32LE(format, 12);
  h.writeBigUInt64LE(BigInt(seq), 16);
  h.writeBigUInt64LE(BigInt(bytes.length), 24);
  createHash('sha256').update(h.subarray(0, 32)).update(bytes).digest().copy(h, 32);
  return h;
}

/** Temp file → fsync → rename → fsync of the directory: a reader sees the old file or the whole new one. */
export async function writeSnapshot(
  dir: string,
  seq: number,
  bytes: Uint8Array,
  format = 0,
): Promise<string> {
  const file = join(dir, snapshotName(seq));
  const temp = file + TEMP_SUFFIX;
  const fh = await open(temp, 'w', 0o600);
  try {
    await fh.writev([encodeHeader(seq, bytes, format), bytes]);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw err;
  }
  await fh.close();
  await rename(temp, file);
  await fsyncDir(dir);
  return file;
}

/**
 * Reads and verifies one snapshot; throws StoreCorruptError naming what is wrong, or
 * StoreTooNewError for a file or store format newer than `knownFormat` (checked before the body).
 */
export async function readSnapshot(file: string, knownFormat = Infinity): Promise<Snapshot> {
  const buf = await readFile(file);
  const bad = (why: string): never => {
    throw new StoreCorruptError(`snapshot ${file} is unusable: ${why}`);
  };
  if (buf.length < HEADER_BYTES || !buf.subarray(0, 8).equals(MAGIC)) bad('bad header');
  const fileFormat = buf.readUInt32LE(8);
  if (fileFormat < 1) bad(`unknown format version ${fileFormat}`);
  if (fileFormat > VERSION)
    throw new StoreTooNewError(
      dirname(file),
      fileFormat,
      VERSION,
      `snapshot ${basename(file)}'s file format`,
    );
  const format = fileFormat === 1 ? 0 : buf.readUInt32LE(12);
  const seq = Number(buf.readBigUInt64LE(16));
  const length = Number(buf.readBigUInt64LE(24));
  if (buf.length !== HEADER_BYTES + length)
    bad(`length ${buf.length - HEADER_BYTES}, header says ${length}`);
  const bytes = buf.subarray(HEADER_BYTES);
  const hash = createHash('sha256');
  if (fileFormat >= HEADER_SUMMED) hash.update(buf.subarray(0, 32));
  if (!hash.update(bytes).digest().equals(buf.subarray(32, 64))) bad('checksum mismatch');
  const named = SNAPSHOT_RE.exec(basename(file));
  if (named && Number(named[1]) !== seq) bad(`header says seq ${seq}, its name ${named[1]}`);
  if (format > knownFormat)
    throw new StoreTooNewError(dirname(file), format, knownFormat, `snapshot ${basename(file)}`);
  return { seq, format, bytes };
}

/**
 * The newest snapshot that verifies, or undefined (start from an empty database and replay the
 * whole journal). Damaged ones are renamed `*.corrupt` so that pruning never counts them as one of
 * the two kept snapshots, and are left for inspection.
 */
export async function loadNewestSnapshot(
  dir: string,
  logger?: Logger,
  knownFormat = Infinity,
): Promise<Snapshot | undefined> {
  for (const snap of await listSnapshots(dir)) {
    try {
      return await readSnapshot(snap.file, knownFormat);
    } catch (err) {
      if (!(err instanceof StoreCorruptError)) throw err;
      logger?.error(
        { err, file: snap.file },
        'snapshot: corrupt, falling back to the previous one',
      );
      await rename(snap.file, `${snap.file}.corrupt`);
    }
  }
  return undefined;
}

/** Temp files of snapshots interrupted by a crash. */
export async function removeSnapshotTemps(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    if (name.startsWith('snapshot-') && name.endsWith(TEMP_SUFFIX))
      await rm(join(dir, name), { force: true });
  }
}

/**
 * Keeps the newest `keep` snapshots and the journal segments the oldest kept one needs, so a
 * damaged newest snapshot can be replaced by the previous one plus the journal. With fewer than
 * `keep` snapshots the whole journal stays: the fallback is then an empty database.
 */
export async function pruneSnapshots(dir: string, keep = 2): Promise<void> {
  const snaps = await listSnapshots(dir);
  for (const old of snaps.slice(keep)) await rm(old.file, { force: true });
  const oldestKept = snaps[keep - 1];
  if (snaps.length < keep || !oldestKept) return;
  const segs = await listSegments(dir);
  for (let i = 0; i + 1 < segs.length; i++) {
    // Segment i holds seqs [first_i, first_{i+1} - 1]; replay of the oldest kept starts at its seq + 1.
    if (segs[i + 1]!.firstSeq <= oldestKept.seq + 1) await rm(segs[i]!.file, { force: true });
  }
}
