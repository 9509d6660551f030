// Gives a cached task-module blob the `.mjs` name Node needs to import it as an ES module.
import { link, mkdir, copyFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * Returns `<cacheDir>/modules/<sha>.mjs`, hard-linked to `blobPath` (copied when the two are on
 * different file systems). Idempotent: an existing file of the same size is reused.
 */
export async function ensureModuleFile(
  cacheDir: string,
  sha: string,
  blobPath: string,
): Promise<string> {
  if (!/^[a-f0-9]{64}$/.test(sha)) throw new Error(`not a sha256: ${sha}`);
  const dir = path.join(cacheDir, 'modules');
  const target = path.join(dir, `${sha}.mjs`);
  const [existing, blob] = await Promise.all([stat(target).catch(() => undefined), stat(blobPath)]);
  if (existing && existing.size === blob.size) return target;
  // A same-named file of another size is a torn copy from an earlier crash: replace it.
  if (existing) await rm(target, { force: true });
  await mkdir(dir, { recursive: true });
  try {
    await link(blobPath, target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return target;
    if (code !== 'EXDEV' && code !== 'EPERM') throw err;
    await copyFile(blobPath, target);
  }
  return target;
}
