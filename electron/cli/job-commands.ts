// The per-task commands of the CLI: tasks, logs, outputs (files by sha256, resumable), retry, priority.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { ContributorInfo, JobSummary, TaskLogs, TaskRow } from '../../shared/api.js';
import { ColonyError } from '../../shared/errors.js';
import { blobRefSchema, type BlobRef } from '../../shared/job-file.js';
import { ATTEMPT_STATES, type AttemptState } from '../../shared/states.js';
import type { ApiClient } from './client.js';
import { firstLine } from './output.js';

const PAGE = 1000;
const enc = encodeURIComponent;

/** Every task of a job (or those in `state`), a page at a time. */
export async function* allTasks(
  client: ApiClient,
  jobId: string,
  state?: AttemptState,
): AsyncGenerator<TaskRow> {
  for (let offset = 0; ; offset += PAGE) {
    const q = new URLSearchParams({ offset: String(offset), limit: String(PAGE) });
    if (state) q.set('state', state);
    const page = await client.json<{ total: number; tasks: TaskRow[] }>(
      'GET',
      `/jobs/${enc(jobId)}/tasks?${q.toString()}`,
    );
    yield* page.tasks;
    if (page.tasks.length < PAGE || offset + PAGE >= page.total) return;
  }
}

export async function oneTask(client: ApiClient, jobId: string, idx: number): Promise<TaskRow> {
  const detail = await client.json<{ task: TaskRow }>('GET', `/jobs/${enc(jobId)}/tasks/${idx}`);
  return detail.task;
}

export function parseState(text: string | undefined): AttemptState | undefined {
  if (text === undefined) return undefined;
  if (!(ATTEMPT_STATES as readonly string[]).includes(text))
    throw new ColonyError(
      'BAD_INPUT',
      `--state: ${text} is not a task state; say one of ${ATTEMPT_STATES.join(', ')}`,
    );
  return text as AttemptState;
}

export function parseIndex(text: string, what: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n))
    throw new ColonyError('BAD_INPUT', `${what}: ${text} is not a number (0, 1, 2, …)`);
  return n;
}

function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return '-';
  if (value < 1000) return `${Math.round(value)}ms`;
  if (value < 60_000) return `${(value / 1000).toFixed(1)}s`;
  return `${Math.floor(value / 60_000)}m${String(Math.round((value % 60_000) / 1000)).padStart(2, '0')}s`;
}

/** `colony tasks`: one line per task, as `condor_q -nobatch` lists jobs. */
export async function listTasks(
  client: ApiClient,
  jobId: string,
  o: { state?: string; json?: boolean },
  out: NodeJS.WritableStream,
): Promise<number> {
  const state = parseState(o.state);
  const contributors = await client.json<ContributorInfo[]>('GET', '/contributors');
  // Two machines with one name (two contributors on one host) are told apart by a short id.
  const shared = new Set(
    contributors.map((c) => c.name).filter((n, i, all) => all.indexOf(n) !== i),
  );
  const names = new Map(
    contributors.map((c) => [c.id, shared.has(c.name) ? `${c.name}#${c.id.slice(0, 4)}` : c.name]),
  );
  if (!o.json)
    out.write(
      `${'TASK'.padStart(7)}  ${'STATE'.padEnd(9)}  TRIES  ${'CONTRIBUTOR'.padEnd(16)}  ${'WALL'.padStart(7)}  ERROR\n`,
    );
  let n = 0;
  for await (const t of allTasks(client, jobId, state)) {
    n++;
    const last = t.attempts[t.attempts.length - 1];
    if (o.json) {
      out.write(`${JSON.stringify(t)}\n`);
      continue;
    }
    const who = last?.contributorId ? (names.get(last.contributorId) ?? last.contributorId) : '-';
    const error = t.error ? firstLine(t.error, 70) : '';
    out.write(
      `${String(t.idx).padStart(7)}  ${t.state.padEnd(9)}  ${String(t.attempts.length).padStart(5)}  ${who.slice(0, 16).padEnd(16)}  ${ms(last?.wallMs).padStart(7)}  ${error}`.trimEnd() +
        '\n',
    );
  }
  if (!o.json && n === 0) out.write(`(no task${state ? ` is ${state}` : ''})\n`);
  return 0;
}

function printLogs(logs: TaskLogs, stream: string | undefined, out: NodeJS.WritableStream): void {
  const names = stream
    ? [stream as keyof TaskLogs['streams']]
    : (['stdout', 'stderr', 'log'] as const);
  const titles = { stdout: 'stdout', stderr: 'stderr', log: 'ctx.log' } as const;
  let printed = 0;
  for (const name of names) {
    const s = logs.streams[name];
    if (!s) continue;
    if (!stream) out.write(`--- ${titles[name]} (attempt ${logs.attempt}, ${logs.state}) ---\n`);
    if (s.dropped > 0) out.write(`[… ${s.dropped} earlier bytes not kept]\n`);
    out.write(s.text);
    if (s.text.length > 0 && !s.text.endsWith('\n')) out.write('\n');
    printed++;
  }
  if (printed === 0 && !stream)
    out.write(`(attempt ${logs.attempt} ${logs.state} and kept no output)\n`);
}

/** `colony logs`: an attempt's stdout, stderr and ctx.log; --follow prints live lines until it ends. */
export async function showLogs(
  client: ApiClient,
  jobId: string,
  idxText: string,
  o: { attempt?: string; follow?: boolean; stream?: string; json?: boolean },
  out: NodeJS.WritableStream,
  pollMs = 1000,
): Promise<number> {
  const idx = parseIndex(idxText, 'TASK');
  const attempt = o.attempt === undefined ? undefined : parseIndex(o.attempt, '--attempt');
  if (o.stream !== undefined && !['stdout', 'stderr', 'log'].includes(o.stream))
    throw new ColonyError('BAD_INPUT', `--stream: say stdout, stderr or log (not ${o.stream})`);
  const path = (after?: number) => {
    const q = new URLSearchParams();
    if (attempt !== undefined) q.set('attempt', String(attempt));
    if (after !== undefined) q.set('after', String(after));
    const qs = q.toString();
    return `/jobs/${enc(jobId)}/tasks/${idx}/logs${qs ? `?${qs}` : ''}`;
  };
  let logs = await fetchLogsWhenStarted(client, path(), o.follow === true, pollMs);
  if (o.json) {
    out.write(`${JSON.stringify(logs, null, 2)}\n`);
    return 0;
  }
  if (!logs.live) {
    printLogs(logs, o.stream, out);
    return 0;
  }
  // Running: its live lines (stdout, stderr and ctx.log as they came).
  for (;;) {
    for (const line of logs.lines) out.write(`${line}\n`);
    if (!o.follow) {
      out.write(`(attempt ${logs.attempt} is running; --follow to keep printing)\n`);
      return 0;
    }
    await new Promise((r) => setTimeout(r, pollMs));
    const next = await client.json<TaskLogs>('GET', path(logs.next));
    if (!next.live || next.attemptId !== logs.attemptId) {
      // It ended: the lines written since the last poll come from what it kept.
      const ended = await client.json<TaskLogs>(
        'GET',
        `/jobs/${enc(jobId)}/tasks/${idx}/logs?attempt=${logs.attempt}`,
      );
      for (const line of unseenLines(ended, logs.next)) out.write(`${line}\n`);
      out.write(
        `(attempt ${logs.attempt} ended: ${ended.state}; colony logs ${jobId} ${idx} --attempt ${logs.attempt} shows all it kept)\n`,
      );
      return 0;
    }
    logs = next;
  }
}

/**
 * The lines an ended attempt wrote after the `seen` live lines already printed. Exact when it wrote
 * to one stream only and kept all of it (the common case); otherwise none (the hint says how to
 * see everything).
 */
export function unseenLines(ended: TaskLogs, seen: number): string[] {
  const streams = Object.values(ended.streams).filter((s) => s.text !== '');
  if (streams.length !== 1 || (streams[0]?.dropped ?? 1) > 0) return [];
  const lines = (streams[0]?.text ?? '').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.slice(seen);
}

async function fetchLogsWhenStarted(
  client: ApiClient,
  path: string,
  follow: boolean,
  pollMs: number,
): Promise<TaskLogs> {
  for (;;) {
    try {
      return await client.json<TaskLogs>('GET', path);
    } catch (err) {
      // With --follow, a task that has not run yet is waited for.
      if (!follow || !(err instanceof ColonyError) || !/has not run yet/.test(err.message))
        throw err;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** The output files of one task, from its stored output (`{..., files: [BlobRef]}`). */
function outputFiles(task: TaskRow): BlobRef[] {
  const files = (task.output as { files?: unknown } | undefined)?.files;
  if (!Array.isArray(files)) return [];
  return files.flatMap((f) => {
    const parsed = blobRefSchema.safeParse(f);
    return parsed.success ? [parsed.data] : [];
  });
}

async function sha256Of(path: string): Promise<string | undefined> {
  try {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) hash.update(chunk);
    return hash.digest('hex');
  } catch {
    return undefined;
  }
}

/** Downloads one blob to `dest` through a temp file, checking size and sha256 before the rename. */
async function download(client: ApiClient, file: BlobRef, dest: string): Promise<void> {
  const res = await client.request('GET', `/blobs/${file.sha256}`);
  if (!res.body) throw new ColonyError('INTERNAL', `blob ${file.sha256}: empty answer`);
  await mkdir(dirname(dest), { recursive: true });
  // One fixed temp name: a run interrupted mid-file leaves one file that the next run replaces.
  const temp = `${dest}.colony-part`;
  const hash = createHash('sha256');
  let size = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  try {
    await pipeline(
      Readable.fromWeb(res.body as WebReadableStream<Uint8Array>),
      count,
      createWriteStream(temp),
    );
    const got = hash.digest('hex');
    if (got !== file.sha256 || size !== file.size)
      throw new ColonyError(
        'BLOB_HASH_MISMATCH',
        `${file.name}: downloaded ${size} bytes with sha256 ${got}, expected ${file.size} bytes with ${file.sha256}`,
      );
    await rename(temp, dest);
  } finally {
    await rm(temp, { force: true });
  }
}

/** Where a task's output file goes: `<out>/<task>/<name>`, never outside it. */
function destination(outDir: string, idx: number, name: string): string {
  const taskDir = join(outDir, String(idx));
  const dest = resolve(taskDir, name);
  const rel = relative(taskDir, dest);
  if (rel === '' || rel.startsWith('..') || rel.startsWith(sep) || resolve(rel) === rel)
    throw new ColonyError(
      'BAD_INPUT',
      `output name ${JSON.stringify(name)} leaves its task folder`,
    );
  return dest;
}

/** `colony outputs`: every output file of a job (or one task) to `<out>/<task>/<name>`, verified. */
export async function fetchOutputs(
  client: ApiClient,
  jobId: string,
  o: { task?: string; out?: string; json?: boolean },
  log: NodeJS.WritableStream,
): Promise<number> {
  const job = await client.json<JobSummary>('GET', `/jobs/${enc(jobId)}`);
  const outDir = resolve(o.out ?? `${jobId}-outputs`);
  const tasks =
    o.task !== undefined
      ? [await oneTask(client, jobId, parseIndex(o.task, '--task'))]
      : allTasks(client, jobId, 'succeeded');
  let written = 0;
  let kept = 0;
  let bytes = 0;
  const failed: string[] = [];
  for await (const task of tasks) {
    for (const file of outputFiles(task)) {
      const dest = destination(outDir, task.idx, file.name);
      const have = await stat(dest).catch(() => undefined);
      if (have?.isFile() && have.size === file.size && (await sha256Of(dest)) === file.sha256) {
        kept++;
        continue;
      }
      try {
        await download(client, file, dest);
        written++;
        bytes += file.size;
      } catch (err) {
        failed.push(`task ${task.idx} ${file.name}: ${(err as Error).message}`);
      }
    }
  }
  const summary = {
    job: job.id,
    dir: outDir,
    written,
    alreadyThere: kept,
    bytes,
    failed,
  };
  if (o.json) log.write(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    log.write(
      `${written} file${written === 1 ? '' : 's'} written (${bytes} bytes), ${kept} already there, to ${outDir}\n`,
    );
    for (const f of failed) log.write(`  not written: ${f}\n`);
    if (written + kept + failed.length === 0)
      log.write(
        `  job ${job.id} has no output files${job.state === 'succeeded' ? '' : ` yet (it is ${job.state})`}; outputs: in the job file lists what to collect\n`,
      );
  }
  return failed.length > 0 ? 1 : 0;
}
