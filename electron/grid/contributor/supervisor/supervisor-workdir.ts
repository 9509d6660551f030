// Per-attempt working directories: fresh folder, staged read-only files linked in, outputs copied out.
import { constants as fsConstants, type Stats } from 'node:fs';
import {
  copyFile,
  link as linkFile,
  lstat,
  mkdir,
  open,
  readdir,
  realpath,
  rename,
  rm,
  symlink,
} from 'node:fs/promises';
import path from 'node:path';
import fg from 'fast-glob';
import { ExecError, FileNameError } from '../../worker/errors.js';

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
 * Puts a verified cache blob into a worker's staged folder (read-only to the task) and returns its
 * path there. Hard link when `link` (the sandbox mounts that folder read-only, so nothing can write
 * through it) or a copy (the permission model alone cannot stop a write through a link).
 */
export async function stageFile(
  stagedDir: string,
  blobPath: string,
  link: boolean,
): Promise<string> {
  const target = path.join(stagedDir, path.basename(blobPath));
  if (await lstat(target).catch(() => undefined)) return target;
  await mkdir(stagedDir, { recursive: true });
  const temp = `${target}.${process.pid}.tmp`;
  await rm(temp, { force: true });
  if (link) {
    try {
      await linkFile(blobPath, temp);
    } catch {
      await copyFile(blobPath, temp, fsConstants.COPYFILE_FICLONE);
    }
  } else await copyFile(blobPath, temp, fsConstants.COPYFILE_FICLONE);
  await rename(temp, target);
  return target;
}

/**
 * Creates `<home>/<attemptId>/` (replacing a leftover from a crash) and symlinks each staged
 * file at its relative name. Returns name → absolute path inside the workdir, for `ctx.files`.
 */
export async function prepareWorkdir(
  home: string,
  attemptId: string,
  files: readonly StagedFile[],
): Promise<{ workdir: string; files: Record<string, string> }> {
  checkAttemptId(attemptId);
  const workdir = path.join(home, attemptId);
  // Attempt ids are new each time: a folder already there is a leftover from a crash.
  const made = await mkdir(workdir).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST' && err.code !== 'ENOENT') throw err;
      return false;
    },
  );
  if (!made) {
    await rm(workdir, { recursive: true, force: true });
    await mkdir(workdir, { recursive: true });
  }
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

export interface OutputLimits {
  maxFiles: number;
  maxBytes: number;
}

/** A collected output broke a rule; the attempt fails with this message, naming the file. */
export class OutputError extends Error {}

// The names the protocol carries: relative, no `..` by either separator, no control characters.
function sendableName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= 1000 &&
    !name.startsWith('/') &&
    !/^[A-Za-z]:/.test(name) &&
    !name.split(/[\\/]/).includes('..') &&
    ![...name].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)
  );
}

/**
 * Copies the files matching `patterns` from the workdir to `<outputRoot>/<attemptId>/<name>` so
 * they survive the workdir's removal; the caller removes them once uploaded. Every component of
 * every path is checked: no symlink anywhere (a staged input, a symlink the task planted to
 * `../..` or /etc), the real path inside the workdir, opened with O_NOFOLLOW, copied never moved.
 * A bad name, a planted link or too many or too large files throws OutputError at once.
 */
export async function collectOutputs(
  workdir: string,
  patterns: readonly string[],
  outputRoot: string,
  attemptId: string,
  limits: OutputLimits,
  stagedNames: ReadonlySet<string> = new Set(),
): Promise<OutputFile[]> {
  if (patterns.length === 0) return [];
  const safe = patterns.map((p) => checkRelativeName(p, 'output pattern'));
  const dest = path.join(outputRoot, attemptId);
  await rm(dest, { recursive: true, force: true });
  try {
    return await collectInto(workdir, safe, outputRoot, attemptId, limits, stagedNames);
  } catch (err) {
    await rm(dest, { recursive: true, force: true }); // nothing half-collected stays behind
    throw err;
  }
}

async function collectInto(
  workdir: string,
  safe: string[],
  outputRoot: string,
  attemptId: string,
  limits: OutputLimits,
  stagedNames: ReadonlySet<string>,
): Promise<OutputFile[]> {
  const realWorkdir = await realpath(workdir);
  // The glob never follows a symlinked folder; a pattern that names one is refused outright.
  for (const pattern of safe) await refuseLinkedPrefix(workdir, pattern, stagedNames);
  const names = await fg(safe, { cwd: workdir, onlyFiles: false, followSymbolicLinks: false });
  const collected: OutputFile[] = [];
  let total = 0;
  for (const name of names.sort()) {
    if (stagedNames.has(name)) continue; // the job's own inputs, linked in by us
    if (!sendableName(name))
      throw new OutputError(`output file ${JSON.stringify(name)} has a name that cannot be sent`);
    const parts = name.split('/');
    let at = workdir;
    let info: Stats | undefined;
    for (const [i, part] of parts.entries()) {
      at = path.join(at, part);
      info = await lstat(at);
      if (info.isSymbolicLink())
        throw new OutputError(
          `output file ${JSON.stringify(name)} goes through a symbolic link (${parts.slice(0, i + 1).join('/')})`,
        );
    }
    if (!info?.isFile()) continue; // a directory matched by the glob
    const real = await realpath(at);
    if (!real.startsWith(realWorkdir + path.sep))
      throw new OutputError(`output file ${JSON.stringify(name)} is outside the workdir`);
    if (collected.length + 1 > limits.maxFiles)
      throw new OutputError(
        `more than ${limits.maxFiles} output files (limits.maxOutputFiles); ${JSON.stringify(name)} is one too many`,
      );
    const to = path.join(outputRoot, attemptId, name);
    await mkdir(path.dirname(to), { recursive: true });
    const size = await copyNoFollow(at, to, info, limits.maxBytes - total, name);
    total += size;
    collected.push({ name, path: to, size });
  }
  return collected;
}

/** Throws when a literal leading part of `pattern` (before any glob) is a symlink in the workdir. */
async function refuseLinkedPrefix(
  workdir: string,
  pattern: string,
  stagedNames: ReadonlySet<string>,
): Promise<void> {
  const parts = pattern.split('/');
  let at = workdir;
  for (const [i, part] of parts.entries()) {
    if (fg.isDynamicPattern(part)) return;
    at = path.join(at, part);
    const info = await lstat(at).catch(() => undefined);
    if (!info) return;
    if (info.isSymbolicLink() && !stagedNames.has(parts.slice(0, i + 1).join('/')))
      throw new OutputError(
        `output ${JSON.stringify(pattern)} goes through a symbolic link (${parts.slice(0, i + 1).join('/')})`,
      );
  }
}

/** Copies `from` (opened with O_NOFOLLOW, checked to be the file lstat saw) to a new file `to`. */
async function copyNoFollow(
  from: string,
  to: string,
  seen: Stats,
  budget: number,
  name: string,
): Promise<number> {
  const src = await open(from, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
  try {
    const st = await src.stat();
    if (!st.isFile() || st.ino !== seen.ino || st.dev !== seen.dev)
      throw new OutputError(`output file ${JSON.stringify(name)} changed while being collected`);
    if (st.size > budget)
      throw new OutputError(
        `output files exceed their size limit (limits.maxOutputBytes) at ${JSON.stringify(name)}`,
      );
    const dest = await open(to, 'wx', 0o600);
    try {
      const buf = Buffer.allocUnsafe(1024 * 1024);
      let copied = 0;
      for (;;) {
        const { bytesRead } = await src.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        copied += bytesRead;
        if (copied > budget)
          throw new OutputError(
            `output files exceed their size limit (limits.maxOutputBytes) at ${JSON.stringify(name)}`,
          );
        await dest.write(buf, 0, bytesRead);
      }
      return copied;
    } finally {
      await dest.close();
    }
  } finally {
    await src.close();
  }
}

export async function removeWorkdir(home: string, attemptId: string): Promise<void> {
  await rm(path.join(home, attemptId), { recursive: true, force: true, maxRetries: 3 });
}

/** Bytes and entries under `dir`, counting at most `maxEntries` entries (then it stops). */
export async function dirUsage(
  dir: string,
  maxEntries = 20_000,
): Promise<{ bytes: number; entries: number }> {
  let bytes = 0;
  let entries = 0;
  const queue = [dir];
  while (queue.length > 0 && entries < maxEntries) {
    const d = queue.pop()!;
    let list;
    try {
      list = await readdir(d, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of list) {
      if (++entries >= maxEntries) break;
      const p = path.join(d, e.name);
      if (e.isDirectory()) queue.push(p);
      else if (e.isFile()) bytes += (await lstat(p).catch(() => undefined))?.size ?? 0;
    }
  }
  return { bytes, entries };
}

export async function removeOutputs(outputRoot: string, attemptId: string): Promise<void> {
  checkAttemptId(attemptId);
  await rm(path.join(outputRoot, attemptId), { recursive: true, force: true, maxRetries: 3 });
}
