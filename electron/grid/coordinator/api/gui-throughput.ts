// Tasks finished per minute over the last hour, for the overview chart: kept live from events, and
// seeded from the store on the first request (a scan of every attempt: not in the start-up path).
import type { Engine } from '../engine/engine.js';

const MINUTE = 60_000;
const WINDOW_MINUTES = 60;

export class ThroughputHistory {
  /** minute number (ms / 60 000) → tasks that succeeded in it */
  private readonly perMinute = new Map<number, number>();

  /** Attempts that ended before this are counted by the seed; later ones by the events. */
  private readonly liveSince: number;
  private seeded = false;

  constructor(private readonly engine: Engine) {
    this.liveSince = engine.now();
    // Counting events keeps the overview O(60) instead of a scan of every attempt per request.
    engine.events.on('task', (_job, _idx, state) => {
      if (state === 'succeeded') this.add(Math.floor(engine.now() / MINUTE), 1);
    });
  }

  private seed(): void {
    this.seeded = true;
    const since = this.engine.now() - WINDOW_MINUTES * MINUTE;
    for (const { minute, n } of this.engine.read.succeededPerMinute(since, this.liveSince))
      this.add(minute, n);
  }

  private add(minute: number, n: number): void {
    this.perMinute.set(minute, (this.perMinute.get(minute) ?? 0) + n);
    for (const m of this.perMinute.keys())
      if (m < minute - WINDOW_MINUTES) this.perMinute.delete(m);
  }

  /** Oldest first, one point a minute, in tasks per second. */
  lastHour(): { t: number; perSec: number }[] {
    if (!this.seeded) this.seed();
    const now = Math.floor(this.engine.now() / MINUTE);
    const out: { t: number; perSec: number }[] = [];
    for (let m = now - WINDOW_MINUTES + 1; m <= now; m++)
      out.push({ t: m * MINUTE, perSec: (this.perMinute.get(m) ?? 0) / 60 });
    return out;
  }
}
