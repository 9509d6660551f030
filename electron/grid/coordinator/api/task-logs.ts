// One attempt's output for `GET /jobs/:id/tasks/:idx/logs`: live lines while it runs, the kept tails once ended.
import { open } from 'node:fs/promises';
import type { TaskLogs } from '../../../../shared/api.js';
import { ColonyError } from '../../../../shared/errors.js';
import { LOG_STREAMS } from '../../../../shared/protocol.js';
import type { BlobStore } from '../../store/blobs.js';
import type { Engine } from '../engine/engine.js';
import type { Views } from './views.js';

/** A stream's blob is read from its end, at most this much (a contributor chose its size). */
const MAX_STREAM_READ = 4 * 1024 * 1024;

async function readTail(path: string): Promise<{ text: string; skipped: number } | undefined> {
  let file;
  try {
    file = await open(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const { size } = await file.stat();
    const length = Math.min(size, MAX_STREAM_READ);
    const buf = Buffer.alloc(length);
    await file.read(buf, 0, length, size - length);
    return { text: buf.toString('utf8'), skipped: size - length };
  } finally {
    await file.close();
  }
}

export async function taskLogs(
  deps: { engine: Engine; views: Views; blobs: BlobStore },
  jobId: string,
  idx: number,
  query: { attempt?: number; after?: number },
): Promise<TaskLogs> {
  if (!deps.views.job(jobId)) throw new ColonyError('NOT_FOUND', 'no such job');
  const task = deps.views.tasks(jobId, { offset: idx, limit: 1 })?.tasks[0];
  if (!task || task.idx !== idx)
    throw new ColonyError('NOT_FOUND', `job ${jobId} has no task ${idx}`);
  if (task.attempts.length === 0)
    throw new ColonyError('NOT_FOUND', `task ${idx} has not run yet (it is ${task.state})`);
  const attempt =
    query.attempt === undefined
      ? task.attempts[task.attempts.length - 1]
      : task.attempts.find((a) => a.number === query.attempt);
  if (!attempt)
    throw new ColonyError(
      'NOT_FOUND',
      `task ${idx} has no attempt ${query.attempt} (it has ${task.attempts.length})`,
    );
  const base = {
    attempt: attempt.number,
    attemptId: attempt.attemptId,
    state: attempt.state,
    contributorId: attempt.contributorId,
  };
  const live = deps.engine.liveAttempt(attempt.attemptId);
  if (live) {
    const total = live.logTotal ?? live.logs.length;
    const first = total - live.logs.length; // number of the oldest line still kept
    const from = Math.max(0, (query.after ?? 0) - first);
    return { ...base, live: true, lines: live.logs.slice(from), next: total, streams: {} };
  }
  const streams: TaskLogs['streams'] = {};
  for (const name of LOG_STREAMS) {
    const ref = attempt.logs?.[name];
    if (!ref) continue;
    const tail = await readTail(deps.blobs.path(ref.sha256));
    streams[name] = tail
      ? { text: tail.text, dropped: ref.dropped + tail.skipped }
      : { text: '', dropped: ref.dropped + ref.size };
  }
  return { ...base, live: false, lines: [], next: 0, streams };
}
