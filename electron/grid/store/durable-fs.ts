// Small filesystem helpers that make creations and renames survive a power cut.
import { mkdir, open } from 'node:fs/promises';

/**
 * fsync a directory so that a file created, renamed or deleted in it is durable; without this a
 * crash can lose the directory entry of a file whose contents were fsynced.
 */
export async function fsyncDir(dir: string): Promise<void> {
  // Windows cannot open a directory as a file; NTFS journals its metadata, so there is nothing to do.
  if (process.platform === 'win32') return;
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Create a private directory (0o700: job data is not for other local users) if it is missing. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

/** Zero-padded so that file names sort like the numbers they carry. */
export function padSeq(seq: number): string {
  return String(seq).padStart(16, '0');
}
