// Rebuild the scheduler's memory from the store after a (re)start: unfinished jobs and live attempts.
import type { JobRowExtracted, StoreReader } from '../../store/reader.js';
import type { JobSpec } from '../../../../shared/job-file.js';
import { JobRuntime } from './job-runtime.js';
import { NdjsonCursor } from './ndjson-cursor.js';
import type { LiveAttempt } from './session.js';

function runtimeFromRow(
  read: StoreReader,
  r: JobRowExtracted,
  blobPath?: (sha: string) => string,
): JobRuntime {
  const spec = JSON.parse(r.spec) as JobSpec;
  const job = new JobRuntime(
    r.id,
    r.seq,
    spec,
    r.priority,
    r.state,
    r.taskCount,
    r.extracted,
    r.createdAt,
  );
  job.owner = r.submittedBy ?? 'owner';
  for (const idx of read.pendingTasks(job.id)) job.requeue(idx);
  if (spec.tasks.inputsBlob && blobPath)
    job.cursor = new NdjsonCursor(blobPath(spec.tasks.inputsBlob), r.cursor);
  return job;
}

/** The runtime of one job (finished ones too: a retry brings it back), its pending tasks re-queued. */
export function runtimeOf(
  read: StoreReader,
  jobId: string,
  blobPath?: (sha: string) => string,
): JobRuntime | undefined {
  const row = read.jobExtracted(jobId);
  return row && runtimeFromRow(read, row, blobPath);
}

export function loadRuntimes(
  read: StoreReader,
  blobPath?: (sha: string) => string,
): { runtimes: JobRuntime[]; maxSeq: number } {
  const runtimes = read.unfinishedJobs().map((r) => runtimeFromRow(read, r, blobPath));
  return { runtimes, maxSeq: read.maxJobSeq() };
}

/** Attempts that were live when the coordinator stopped: kept until their contributor reports back. */
export function loadLiveAttempts(read: StoreReader): LiveAttempt[] {
  return read.liveAttempts().map((r) => ({
    attemptId: r.id,
    jobId: r.jobId,
    idx: r.idx,
    number: r.number,
    contributorId: r.contributor as string,
    assignedAt: r.assignedAt,
    ...(r.state === 'running' ? { startedAt: r.assignedAt } : {}),
    speculative: r.speculative,
    logs: [],
  }));
}

/** Past usage older than this many half-lives is left out: it weighs less than a millionth. */
const USAGE_HALF_LIVES_KEPT = 20;

/**
 * Each user's past slot-time (ms) decayed to `now`, from the attempts that ended: what the engine
 * charged as they ended (duration from assignment to end, halved every `halfLifeMs` since), so a
 * restart neither forgets nor changes fair share's memory.
 */
export function loadUsage(read: StoreReader, now: number, halfLifeMs: number): Map<string, number> {
  const usage = new Map<string, number>();
  for (const { user, assignedAt, endedAt } of read.endedAttempts(
    now - USAGE_HALF_LIVES_KEPT * halfLifeMs,
  )) {
    const ms = Math.max(0, endedAt - assignedAt);
    const decayed = ms * 2 ** (-Math.max(0, now - endedAt) / halfLifeMs);
    usage.set(user, (usage.get(user) ?? 0) + decayed);
  }
  return usage;
}
