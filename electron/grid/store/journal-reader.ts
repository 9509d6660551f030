// Reads journal segments: framing, CRC check, torn-tail detection and ordered replay across segments.
//
// Framing (one record per line): `<crc32 of the JSON, 8 lowercase hex> <JSON>\n`, where the JSON
// is `{"seq":<n>,"v":<store format>,"data":<payload>}` (`v` absent: written before formats, 0).
// JSON.stringify never emits a raw newline, so `\n` is an
// unambiguous terminator; a line without its `\n` was never fully written and never acknowledged.
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32Hex } from './crc32.js';
import { JournalCorruptError } from './errors.js';

export interface JournalRecord<T = unknown> {
  seq: number;
  /** The store format of the Colony that wrote it (absent in journals from before formats: 0). */
  v?: number;
  data: T;
}

export interface SegmentInfo {
  file: string;
  firstSeq: number;
  size: number;
}

/** Where a segment stops being readable; `torn` is set when bytes after `goodEnd` are discarded. */
export interface ScanResult {
  goodEnd: number;
  lastSeq: number;
  torn?: { offset: number; reason: string };
}

const SEGMENT_RE = /^journal-(\d{16})\.log$/;
const HEX8_RE = /^[0-9a-f]{8}$/;
const CHUNK = 1 << 20;

export function segmentName(firstSeq: number): string {
  return `journal-${String(firstSeq).padStart(16, '0')}.log`;
}

export async function listSegments(dir: string): Promise<SegmentInfo[]> {
  const names = await readdir(dir);
  const segs: SegmentInfo[] = [];
  for (const name of names) {
    const m = SEGMENT_RE.exec(name);
    if (!m) continue;
    const file = join(dir, name);
    segs.push({ file, firstSeq: Number(m[1]), size: (await stat(file)).size });
  }
  return segs.sort((a, b) => a.firstSeq - b.firstSeq);
}

type Parsed = { ok: true; record: JournalRecord } | { ok: false; reason: string };

function parseLine(line: Buffer, complete: boolean): Parsed {
  if (!complete) return { ok: false, reason: 'record has no line end (torn write)' };
  if (line.length < 10 || line[8] !== 0x20) return { ok: false, reason: 'bad framing' };
  const hex = line.toString('latin1', 0, 8);
  if (!HEX8_RE.test(hex)) return { ok: false, reason: 'bad framing' };
  const json = line.subarray(9);
  if (crc32Hex(json) !== hex) return { ok: false, reason: 'CRC mismatch' };
  let value: unknown;
  try {
    value = JSON.parse(json.toString('utf8'));
  } catch {
    return { ok: false, reason: 'bad JSON behind a good CRC' };
  }
  const rec = value as Partial<JournalRecord> | null;
  if (
    typeof rec !== 'object' ||
    rec === null ||
    !Number.isSafeInteger(rec.seq) ||
    !('data' in rec)
  ) {
    return { ok: false, reason: 'record is not {seq, data}' };
  }
  return { ok: true, record: rec as JournalRecord };
}

/** Lines of a file with their byte offsets; the last one is `complete: false` if it lacks `\n`. */
async function* readLines(
  file: string,
): AsyncGenerator<{ offset: number; end: number; line: Buffer; complete: boolean }> {
  const fh = await open(file, 'r');
  try {
    let carry = Buffer.alloc(0);
    let carryOffset = 0;
    const chunk = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const { bytesRead } = await fh.read(chunk, 0, CHUNK, carryOffset + carry.length);
      if (bytesRead === 0) break;
      const buf = carry.length ? Buffer.concat([carry, chunk.subarray(0, bytesRead)]) : chunk;
      const len = carry.length + bytesRead;
      let start = 0;
      for (let nl = buf.indexOf(10, start); nl !== -1 && nl < len; nl = buf.indexOf(10, start)) {
        yield {
          offset: carryOffset + start,
          end: carryOffset + nl + 1,
          line: buf.subarray(start, nl),
          complete: true,
        };
        start = nl + 1;
      }
      // Copy: `chunk` is reused by the next read.
      carry = Buffer.from(buf.subarray(start, len));
      carryOffset += start;
    }
    if (carry.length > 0) {
      yield { offset: carryOffset, end: carryOffset + carry.length, line: carry, complete: false };
    }
  } finally {
    await fh.close();
  }
}

/**
 * Yields the segment's records in order and fills `result`. A bad record is tolerated only if
 * nothing valid follows it in this segment (a torn tail); otherwise it is reported as corruption.
 */
export async function* scanSegment(
  seg: SegmentInfo,
  result: ScanResult,
): AsyncGenerator<JournalRecord> {
  result.goodEnd = 0;
  result.lastSeq = seg.firstSeq - 1;
  delete result.torn;
  for await (const { offset, end, line, complete } of readLines(seg.file)) {
    const parsed = parseLine(line, complete);
    if (result.torn) {
      if (parsed.ok) {
        const why = `${result.torn.reason}, followed by a valid record at byte ${offset}`;
        throw new JournalCorruptError(seg.file, result.torn.offset, why);
      }
      continue;
    }
    if (!parsed.ok) {
      result.torn = { offset, reason: parsed.reason };
      continue;
    }
    const expected = result.lastSeq + 1;
    if (parsed.record.seq !== expected) {
      const why = `expected seq ${expected}, found ${parsed.record.seq}`;
      throw new JournalCorruptError(seg.file, offset, why);
    }
    result.goodEnd = end;
    result.lastSeq = expected;
    yield parsed.record;
  }
}

/**
 * Records with `seq >= fromSeq` across all segments, in order and without gaps. A torn tail of the
 * last written segment ends the journal (the writer truncates it on open); a damaged record with
 * anything valid after it, in this segment or a later one, throws JournalCorruptError.
 */
export async function* readJournal(dir: string, fromSeq = 1): AsyncGenerator<JournalRecord> {
  const segs = await listSegments(dir);
  let expected = fromSeq;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    const next = segs[i + 1];
    if (next && next.firstSeq <= fromSeq) continue; // wholly before fromSeq
    const result: ScanResult = { goodEnd: 0, lastSeq: 0 };
    for await (const rec of scanSegment(seg, result)) {
      if (rec.seq < fromSeq) continue;
      if (rec.seq !== expected) {
        const why = `journal gap: expected seq ${expected}, found ${rec.seq}`;
        throw new JournalCorruptError(seg.file, 0, why);
      }
      expected++;
      yield rec;
    }
    if (result.torn && segs.slice(i + 1).some((s) => s.size > 0)) {
      const why = `${result.torn.reason}, in a segment followed by newer segments`;
      throw new JournalCorruptError(seg.file, result.torn.offset, why);
    }
  }
}
