// Leases and contact: lost contributors, hard timeouts, probes of slow attempts, speculative copies.
import { CLOSE } from '../../../../shared/protocol.js';
import type { Engine } from './engine.js';
import type { LiveAttempt } from './session.js';

/** Missing this many promised heartbeats in a row means the contributor is lost (docs/concepts.md). */
export const MISSED_HEARTBEATS = 3;
/** An attempt running this many times its job's median gets a probe. */
export const PROBE_FACTOR = 3;
/** Near the end of a job, an attempt running this many times the median gets a speculative copy. */
export const SPECULATE_FACTOR = 2;
/** Below this, attempts are never probed: short tasks are not worth the chatter. */
export const MIN_PROBE_MS = 1_000;

/** One pass of the contact loop; the caller runs it on a timer (and tests call it with their clock). */
export function contactTick(engine: Engine): void {
  const now = engine.now();
  for (const session of engine.sessionList()) {
    if (now - session.lastSeen <= MISSED_HEARTBEATS * session.heartbeatMs) continue;
    engine.log.warn(
      { contributorId: session.id, silentMs: now - session.lastSeen },
      'contributor lost',
    );
    engine.dropContributor(session.id, CLOSE.shuttingDown, 'contributor lost (missed heartbeats)');
  }
  for (const attempt of engine.liveAttempts()) checkAttempt(engine, attempt, now);
  engine.dispatch();
}

function checkAttempt(engine: Engine, attempt: Readonly<LiveAttempt>, now: number): void {
  const session = engine.session(attempt.contributorId);
  // Attempts from before a restart whose contributor never came back.
  if (!session) {
    if (engine.uptimeMs > engine.reconnectGraceMs)
      engine.endInBackground(attempt.attemptId, {
        state: 'lost',
        error: 'contributor did not come back',
      });
    return;
  }
  const job = engine.job(attempt.jobId);
  if (!job) return;
  const runningMs = now - (attempt.startedAt ?? attempt.assignedAt);
  // The contributor enforces the timeout itself; this is the backstop if it does not.
  const hardLimit = job.spec.limits.timeoutSec * 1000 + MISSED_HEARTBEATS * session.heartbeatMs;
  // Measured from the start: a prefetched attempt may wait for a slot before it runs.
  if (!attempt.suspended && runningMs > hardLimit) {
    engine.endInBackground(attempt.attemptId, {
      state: 'failed',
      error: `timed out after ${job.spec.limits.timeoutSec} s`,
    });
    engine.sendCancel(attempt, 'hard timeout');
    return;
  }
  const median = job.medianMs();
  if (median === undefined || attempt.suspended) return;
  const probeAfter = Math.max(MIN_PROBE_MS, PROBE_FACTOR * median);
  if (
    runningMs > probeAfter &&
    (attempt.probedAt === undefined ||
      now - attempt.probedAt > MISSED_HEARTBEATS * session.heartbeatMs)
  ) {
    engine.markProbed(attempt.attemptId, now);
    session.send({ type: 'probe', attemptId: attempt.attemptId });
  }
  const nearEnd = job.backlog === 0;
  if (
    nearEnd &&
    !attempt.speculative &&
    runningMs > Math.max(MIN_PROBE_MS, SPECULATE_FACTOR * median)
  ) {
    if (engine.liveCopies(job.id, attempt.idx) === 1) engine.offerSpeculation(job.id, attempt.idx);
  }
}
