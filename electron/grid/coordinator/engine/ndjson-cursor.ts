// Reads one JSON input per line from an input blob, from a byte cursor, without loading the file.
// One line splitter (LF, CRLF or a lone CR ends a line; the last line needs no terminator) serves
// validation at submit, the dry run's preview and extraction at dispatch, so they count alike.
import { openSync, readSync, closeSync, createReadStream } from 'node:fs';
import { JSON_LIMITS, readJson } from '../../../../shared/bounded-json.js';
import { ColonyError, ValidationError } from '../../../../shared/errors.js';

const CHUNK = 64 * 1024;
const LF = 10;
const CR = 13;

/** A line and the byte offset just after its terminator. */
export interface Line {
  text: string;
  /** 1-based line number, blank lines included. */
  lineNo: number;
  end: number;
}

/** Splits bytes fed in chunks into lines, keeping absolute byte offsets. */
export class LineSplitter {
  private buf = Buffer.alloc(0);
  /** Absolute offset of buf[0]. */
  private bufStart: number;
  /** Relative offset of the next unread byte. */
  private pos = 0;
  private lineNo: number;

  constructor(offset = 0, lineNo = 0) {
    this.bufStart = offset;
    this.lineNo = lineNo;
  }

  /** Absolute offset of the next byte to feed. */
  get fedUpTo(): number {
    return this.bufStart + this.buf.length;
  }

  push(chunk: Buffer): void {
    // Drop what was read already so the buffer holds at most one partial line and a chunk.
    this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk]);
    this.bufStart += this.pos;
    this.pos = 0;
  }

  /** The next whole line; at `eof` also a last line without terminator. Undefined: feed more. */
  next(eof: boolean): Line | undefined {
    const { buf, pos } = this;
    if (pos >= buf.length) return undefined;
    const lf = buf.indexOf(LF, pos);
    // A CR only matters if it comes before the next LF (or there is no LF in the buffer).
    const crSearchEnd = lf < 0 ? buf.length : lf;
    let cr = -1;
    const crAt = buf.subarray(pos, crSearchEnd).indexOf(CR);
    if (crAt >= 0) cr = pos + crAt;
    let end: number;
    let next: number;
    if (cr >= 0) {
      if (cr + 1 < buf.length) {
        end = cr;
        next = buf[cr + 1] === LF ? cr + 2 : cr + 1;
      } else if (eof) {
        end = cr;
        next = cr + 1;
      } else return undefined; // CR at the end of what we have: CRLF or lone CR? Need a byte more.
    } else if (lf >= 0) {
      end = lf;
      next = lf + 1;
    } else if (eof) {
      end = buf.length;
      next = buf.length;
    } else return undefined;
    this.pos = next;
    this.lineNo++;
    return { text: buf.toString('utf8', pos, end), lineNo: this.lineNo, end: this.bufStart + next };
  }
}

/** One input line as JSON, through the bounded reader; errors name the line. */
function parseLine(line: Line): unknown {
  return readJson(line.text, JSON_LIMITS.input, `line ${line.lineNo}`);
}

export class NdjsonCursor {
  private splitter: LineSplitter;
  private eof = false;

  constructor(
    private readonly file: string,
    /** Byte offset of the next unread line. */
    public offset: number,
  ) {
    this.splitter = new LineSplitter(offset);
  }

  /** The next input and the cursor after it, or undefined at the end of the file. Throws if a line is bad. */
  next(): { input: unknown; cursor: number } | undefined {
    for (;;) {
      const line = this.splitter.next(this.eof);
      if (line) {
        this.offset = line.end;
        if (line.text.trim() === '') continue;
        return { input: parseLine(line), cursor: this.offset };
      }
      if (this.eof) return undefined;
      this.fill();
    }
  }

  private fill(): void {
    const chunk = Buffer.alloc(CHUNK);
    const fd = openSync(this.file, 'r');
    let n: number;
    try {
      n = readSync(fd, chunk, 0, CHUNK, this.splitter.fedUpTo);
    } finally {
      closeSync(fd);
    }
    if (n === 0) this.eof = true;
    else this.splitter.push(chunk.subarray(0, n));
  }
}

/** Every non-blank line of an input blob, in order, read as a stream; stops early if the caller does. */
export async function* ndjsonLines(file: string): AsyncGenerator<Line> {
  const splitter = new LineSplitter();
  for await (const chunk of createReadStream(file, { highWaterMark: CHUNK })) {
    splitter.push(chunk as Buffer);
    for (let line = splitter.next(false); line; line = splitter.next(false))
      if (line.text.trim() !== '') yield line;
  }
  for (let line = splitter.next(true); line; line = splitter.next(true))
    if (line.text.trim() !== '') yield line;
}

/** Count the inputs of an input blob, checking each line is JSON within limits (the error names the line). */
export async function countNdjson(file: string, maxLines: number): Promise<number> {
  let count = 0;
  for await (const line of ndjsonLines(file)) {
    try {
      parseLine(line);
    } catch (err) {
      if (!(err instanceof ColonyError)) throw err;
      throw new ValidationError('bad job', [{ field: 'tasks.inputsFile', message: err.message }]);
    }
    if (++count > maxLines) break;
  }
  return count;
}

/** The first `n` inputs, for a preview (a line that is not JSON shows as its text). */
export async function firstInputs(file: string, n: number): Promise<unknown[]> {
  const out: unknown[] = [];
  if (n <= 0) return out;
  for await (const line of ndjsonLines(file)) {
    try {
      out.push(parseLine(line));
    } catch {
      out.push(line.text.slice(0, 1000));
    }
    if (out.length >= n) break;
  }
  return out;
}
