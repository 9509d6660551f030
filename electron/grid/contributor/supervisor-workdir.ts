// Per-attempt working directories: fresh folder, staged read-only files linked in, outputs moved out.
import { lstat, mkdir, rename, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import fg from 'fast-glob';
import { ExecError, FileNameError } from '../worker/errors.js';

export interface StagedFile {
  name: string;
  path: string;
}

export interface OutputFile {
  name: string;
  path: string;
  size: number;
}

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** Attempt ids become folder names: keep them to one harmless path segment. */
export function checkAttemptId(attemptId: string): void {
  if (!SAFE_ID.test(attemptId) || attemptId.includes('..')) {
    throw new ExecError(
      'BAD_ATTEMPT_ID',
      `attempt id ${JSON.stringify(attemptId)} must match ${SAFE_ID.source}`,
    );
  }
}

/** A job-relative name (data/a.csv or a glob) that cannot climb out of the workdir. */
export function checkRelativeName(name: string, what: string): string {
  const normal = path.posix.normalize(name.replaceAll('\\', '/'));
  if (
    name === '' ||
    path.posix.isAbsolute(normal) ||
    /^[A-Za-z]:/.test(normal) ||
    normal.split('/').includes('..')
  ) {
    throw new FileNameError(
      `${what} ${JSON.stringify(name)} must be a relative path inside the job folder`,
    );
  }
  return normal;
}

/**
 * Creates `<workRoot>/<attemptId>/` (replacing a leftover from a crash) and symlinks each staged
 * file at its relative name. Symlinks, not copies: staged files can be large and are shared by all
 * attempts of a job. Returns name → absolute path inside the workdir, for `ctx.files`.
 */
export async function prepareWorkdir(
  workRoot: string,
  attemptId: string,
  files: readonly StagedFile[],
): Promise<{ workdir: string; files: Record<string, string> }> {
  checkAttemptId(attemptId);
  const workdir = path.join(workRoot, attemptId);
  await rm(workdir, { recursive: true, force: true });
  await mkdir(workdir, { recursive: true });
  const staged: Record<string, string> = {};
  for (const file of files) {
    const name = checkRelativeName(file.name, 'staged file');
    const target = path.join(workdir, name);
    await mkdir(path.dirname(target), { recursive: true });
    await symlink(path.resolve(file.path), target);
    staged[name] = target;
  }
  return { workdir, files: staged };
}

/**
 * Moves the files matching `patterns` from the workdir to `<outputRoot>/<attemptId>/<name>` so
 * they survive the workdir's removal; the caller removes them once uploaded. Only regular files
 * are taken: a symlink (staged input, or one a task planted to /etc/…) is never collected.
 */
export async function collectOutputs(
  workdir: string,
  patterns: readonly string[],
  outputRoot: string,
  attemptId: string,
): Promise<OutputFile[]> {
  if (patterns.length === 0) return [];
  const safe = patterns.map((p) => checkRelativeName(p, 'output pattern'));
  const names = await fg(safe, {
    cwd: workdir,
    onlyFiles: true,
    followSymbolicLinks: false,
  });
  const collected: OutputFile[] = [];
  for (const name of names.sort()) {
    const from = path.join(workdir, name);
    const info = await lstat(from);
    if (!info.isFile()) continue;
    const to = path.join(outputRoot, attemptId, name);
    await mkdir(path.dirname(to), { recursive: true });
    await rename(from, to);
    collected.push({ name, path: to, size: info.size });
  }
  return collected;
}

export async function removeWorkdir(workRoot: string, attemptId: string): Promise<void> {
  await rm(path.join(workRoot, attemptId), { recursive: true, force: true, maxRetries: 3 });
}

export async function removeOutputs(outputRoot: string, attemptId: string): Promise<void> {
  checkAttemptId(attemptId);
  await rm(path.join(outputRoot, attemptId), { recursive: true, force: true, maxRetries: 3 });
}
