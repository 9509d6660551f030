// Gathers an attempt's stdout, stderr and ctx.log lines (the last N bytes of each) and uploads them
// as blobs for its result, so `colony logs` and the GUI can show them after the attempt ended.
import { createHash } from 'node:crypto';
import type { AttemptLogs, LogStream } from '../../../../shared/protocol.js';

/** Default bound of each stream kept for a result: the last 1 MiB. */
export const DEFAULT_LOG_BYTES = 1024 * 1024;

/** Keeps the last `limit` bytes written to it, and counts the bytes it dropped. */
class ByteTail {
  private chunks: Buffer[] = [];
  private size = 0;
  dropped = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    if (this.limit <= 0) {
      this.dropped += chunk.length;
      return;
    }
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - (this.chunks[0]?.length ?? 0) >= this.limit) {
      const first = this.chunks.shift() as Buffer;
      this.size -= first.length;
      this.dropped += first.length;
    }
  }

  bytes(): Buffer {
    const all = Buffer.concat(this.chunks);
    const cut = Math.max(0, all.length - this.limit);
    return all.subarray(cut);
  }

  droppedTotal(): number {
    return this.dropped + Math.max(0, this.size - this.limit);
  }
}

export class AttemptOutput {
  private readonly tails = new Map<LogStream, ByteTail>();

  constructor(private readonly limit = DEFAULT_LOG_BYTES) {}

  /** Raw output of the task: a chunk of stdout or stderr as written, or one ctx.log line. */
  write(stream: LogStream, data: string | Buffer): void {
    let tail = this.tails.get(stream);
    if (!tail) this.tails.set(stream, (tail = new ByteTail(this.limit)));
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    tail.push(stream === 'log' ? Buffer.concat([bytes, Buffer.from('\n')]) : bytes);
  }

  /** Uploads each stream that wrote something; a stream that cannot be uploaded is left out. */
  async upload(put: (data: Buffer, sha256: string) => Promise<void>): Promise<AttemptLogs> {
    const logs: AttemptLogs = {};
    for (const [stream, tail] of this.tails) {
      const data = tail.bytes();
      if (data.length === 0 && tail.droppedTotal() === 0) continue;
      const sha256 = createHash('sha256').update(data).digest('hex');
      await put(data, sha256);
      logs[stream] = { sha256, size: data.length, dropped: tail.droppedTotal() };
    }
    return logs;
  }
}
