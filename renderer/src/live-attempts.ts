// The attempts out on contributors now, by id: which job and task each is, and whether it has
// started or still waits in a contributor's work buffer (from the timeline route, live from events).
import { useEffect, useState } from 'react';
import type { Timeline, TimelineAttempt } from '../../shared/gui-api.js';
import { api } from './api.js';
import { grid } from './store.js';

export interface LiveAttempts {
  byId: Map<string, TimelineAttempt>;
  /** Started and running, by contributor id. */
  running: Map<string, number>;
  /** Handed over and not started (waiting in the work buffer), by contributor id. */
  buffered: Map<string, number>;
}

export function isBuffered(a: TimelineAttempt): boolean {
  return a.endedAt === null && a.startedAt === null;
}

function summarise(list: TimelineAttempt[]): LiveAttempts {
  const out: LiveAttempts = { byId: new Map(), running: new Map(), buffered: new Map() };
  for (const a of list) {
    if (a.endedAt !== null) continue;
    out.byId.set(a.attemptId, a);
    const m = isBuffered(a) ? out.buffered : out.running;
    m.set(a.contributorId, (m.get(a.contributorId) ?? 0) + 1);
  }
  return out;
}

export function total(m: Map<string, number>): number {
  let n = 0;
  for (const v of m.values()) n += v;
  return n;
}

export function useLiveAttempts(): LiveAttempts | null {
  const [live, setLive] = useState<LiveAttempts | null>(null);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = () =>
      api<Timeline>('GET', `/timeline?since=${Date.now()}&limit=5000`).then(
        (t) => !stopped && setLive(summarise(t.attempts)),
        () => undefined,
      );
    const soon = () => {
      if (timer === undefined)
        timer = setTimeout(() => {
          timer = undefined;
          void load();
        }, 300);
    };
    void load();
    const off = grid.onAnyTask(soon);
    const slow = setInterval(soon, 15_000);
    return () => {
      stopped = true;
      clearTimeout(timer);
      clearInterval(slow);
      off();
    };
  }, []);
  return live;
}
