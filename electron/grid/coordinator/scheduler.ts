// Which job a free slot should serve: requirements first, then priority, then fair share.
import { mismatch } from '../../../shared/requirements.js';
import type { Capabilities } from '../../../shared/protocol.js';
import type { JobRuntime } from './job-runtime.js';

/**
 * The job to take the next task from for a contributor with `caps`, or undefined when none fits.
 * Among the highest-priority runnable jobs, the one with the fewest live attempts wins (fair share
 * of slots between equals), then the oldest.
 */
export function pickJob(
  jobs: Iterable<JobRuntime>,
  caps: Capabilities,
  want: (job: JobRuntime) => boolean = (job) => job.hasWork,
): JobRuntime | undefined {
  let best: JobRuntime | undefined;
  for (const job of jobs) {
    if (job.state !== 'queued' && job.state !== 'running') continue;
    if (!want(job)) continue;
    if (mismatch(job.spec.requirements, job.spec.runtime, caps) !== null) continue;
    if (!best || better(job, best)) best = job;
  }
  return best;
}

function better(a: JobRuntime, b: JobRuntime): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.live.size !== b.live.size) return a.live.size < b.live.size;
  return a.seq < b.seq;
}
