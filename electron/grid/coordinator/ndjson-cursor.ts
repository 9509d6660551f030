// Reads one JSON input per line from an input blob, from a byte cursor, without loading the file.
import { openSync, readSync, closeSync, createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { ValidationError } from '../../../shared/errors.js';

const CHUNK = 64 * 1024;

export class NdjsonCursor {
  private buf = Buffer.alloc(0);
  private bufStart: number;

  constructor(
    private readonly file: string,
    /** Byte offset of the next unread line. */
    public offset: number,
  ) {
    this.bufStart = offset;
  }

  /** The next input and the cursor after it, or undefined at the end of the file. */
  next(): { input: unknown; cursor: number } | undefined {
    for (;;) {
      const rel = this.offset - this.bufStart;
      const nl = this.buf.indexOf(10, rel);
      if (nl >= 0) {
        const line = this.buf.subarray(rel, nl).toString('utf8').trim();
        this.offset = this.bufStart + nl + 1;
        if (line !== '') return { input: JSON.parse(line) as unknown, cursor: this.offset };
        continue;
      }
      if (!this.fill()) {
        const line = this.buf.subarray(rel).toString('utf8').trim();
        this.offset = this.bufStart + this.buf.length;
        return line === ''
          ? undefined
          : { input: JSON.parse(line) as unknown, cursor: this.offset };
      }
    }
  }

  private fill(): boolean {
    const keep = this.buf.subarray(this.offset - this.bufStart);
    const chunk = Buffer.alloc(CHUNK);
    const fd = openSync(this.file, 'r');
    let n: number;
    try {
      n = readSync(fd, chunk, 0, CHUNK, this.bufStart + this.buf.length);
    } finally {
      closeSync(fd);
    }
    this.bufStart = this.offset;
    this.buf = Buffer.concat([keep, chunk.subarray(0, n)]);
    return n > 0;
  }
}

/** Count the inputs of an input blob, checking each line is JSON (the error names the line). */
export async function countNdjson(file: string, maxLines: number): Promise<number> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let count = 0;
  let lineNo = 0;
  for await (const raw of lines) {
    lineNo++;
    const line = raw.trim();
    if (line === '') continue;
    try {
      JSON.parse(line);
    } catch {
      lines.close();
      throw new ValidationError('bad job', [
        { field: 'tasks.inputsFile', message: `line ${lineNo} is not JSON` },
      ]);
    }
    if (++count > maxLines) {
      lines.close();
      break;
    }
  }
  return count;
}
