// Which job a free slot should serve: requirements first, then a user's cap, then fair share
// between users (by weight, then decayed past usage), then within a user's jobs priority, then
// fair share of jobs.
import { mismatch } from '../../../../shared/requirements.js';
import type { Capabilities } from '../../../../shared/protocol.js';
import type { JobRuntime } from './job-runtime.js';

/** What the scheduler knows of people: fair-share weights and decayed past usage. */
export interface Shares {
  /** A user's weight (1 unless set): 2 gets twice the slots of 1 when both have work. */
  weight(user: string): number;
  /** A user's past slot-time (ms), decayed by the configured half-life. */
  usage(user: string): number;
  /** The most attempts a user may have live at once (their cap), or undefined: no cap. */
  limit?(user: string): number | undefined;
}

export const EQUAL_SHARES: Shares = { weight: () => 1, usage: () => 0 };

/** Live attempts per user, over all their unfinished jobs. */
export function liveByUser(jobs: Iterable<JobRuntime>): Map<string, number> {
  const live = new Map<string, number>();
  for (const job of jobs) live.set(job.owner, (live.get(job.owner) ?? 0) + job.live.size);
  return live;
}

/**
 * The job to take the next task from for a contributor with `caps`, or undefined when none fits.
 * A user at their cap gets nothing more, even from an idle slot. Among users with a runnable job, the one with the fewest live attempts per weight wins (then
 * the least decayed past usage per weight): a user with one job and one with ten get equal slots.
 * Among that user's jobs: the highest priority, then the fewest live attempts, then the oldest.
 */
export function pickJob(
  jobs: Iterable<JobRuntime>,
  caps: Capabilities,
  want: (job: JobRuntime) => boolean = (job) => job.hasWork,
  shares: Shares = EQUAL_SHARES,
): JobRuntime | undefined {
  const all = [...jobs];
  const live = liveByUser(all);
  const score = new Map<string, [number, number]>();
  const scoreOf = (user: string): [number, number] => {
    let s = score.get(user);
    if (!s) {
      const w = shares.weight(user);
      score.set(user, (s = [(live.get(user) ?? 0) / w, shares.usage(user) / w]));
    }
    return s;
  };
  const capped = new Map<string, boolean>();
  const atCap = (user: string): boolean => {
    let c = capped.get(user);
    if (c === undefined) {
      const limit = shares.limit?.(user);
      capped.set(user, (c = limit !== undefined && (live.get(user) ?? 0) >= limit));
    }
    return c;
  };
  let best: JobRuntime | undefined;
  for (const job of all) {
    if (job.state !== 'queued' && job.state !== 'running') continue;
    if (!want(job)) continue;
    if (atCap(job.owner)) continue;
    if (mismatch(job.spec.requirements, job.spec.runtime, caps, job.spec.network) !== null)
      continue;
    if (!best || better(job, best, scoreOf)) best = job;
  }
  return best;
}

function better(
  a: JobRuntime,
  b: JobRuntime,
  scoreOf: (user: string) => [number, number],
): boolean {
  if (a.owner !== b.owner) {
    const [sa, sb] = [scoreOf(a.owner), scoreOf(b.owner)];
    if (sa[0] !== sb[0]) return sa[0] < sb[0];
    if (sa[1] !== sb[1]) return sa[1] < sb[1];
  }
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.live.size !== b.live.size) return a.live.size < b.live.size;
  return a.seq < b.seq;
}
