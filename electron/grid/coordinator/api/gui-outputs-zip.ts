// A job's collected output files as one zip, streamed: task-<n>/<name> per file, stored uncompressed.
import { Readable } from 'node:stream';
import { Zip, ZipPassThrough } from 'fflate';
import { blobRefSchema, type BlobRef } from '../../../../shared/job-file.js';
import type { BlobStore } from '../../store/blobs.js';
import type { Views } from './views.js';

/** Output files recorded on a task's output (the store puts them under `files`). */
function outputFiles(output: unknown): BlobRef[] {
  if (typeof output !== 'object' || output === null || !('files' in output)) return [];
  const files = output.files;
  if (!Array.isArray(files)) return [];
  return files.flatMap((f) => {
    const parsed = blobRefSchema.safeParse(f);
    return parsed.success ? [parsed.data] : [];
  });
}

export function outputsZip(views: Views, blobs: BlobStore, jobId: string): Readable {
  async function* chunks(): AsyncGenerator<Uint8Array> {
    const ready: Uint8Array[] = [];
    let failure: Error | null = null;
    const zip = new Zip((err, chunk) => {
      if (err) failure = err;
      else ready.push(chunk);
    });
    for (const line of views.results(jobId)) {
      for (const file of outputFiles(line.output)) {
        // Outputs are mostly already compressed (images, archives): storing keeps the CPU free.
        const entry = new ZipPassThrough(`task-${line.task}/${file.name}`);
        zip.add(entry);
        for await (const data of blobs.createReadStream(file.sha256) as AsyncIterable<Buffer>) {
          entry.push(data);
          if (failure) throw failure as Error;
          yield* ready.splice(0);
        }
        entry.push(new Uint8Array(0), true);
        yield* ready.splice(0);
      }
    }
    zip.end();
    if (failure) throw failure as Error;
    yield* ready.splice(0);
  }
  return Readable.from(chunks());
}
