// The grid over time: one lane per contributor slot, one bar per attempt, live from the event stream.
import { useEffect, useMemo, useState } from 'react';
import type { ContributorInfo } from '../../../shared/api.js';
import type { Timeline as TimelineData, TimelineAttempt } from '../../../shared/gui-api.js';
import { api } from '../api.js';
import { ErrorText } from '../components.js';
import { duration } from '../format.js';
import { go } from '../router.js';
import { displayNames, grid, useGrid } from '../store.js';

const WINDOWS = [
  { label: '5 min', ms: 5 * 60_000 },
  { label: '15 min', ms: 15 * 60_000 },
  { label: '1 h', ms: 60 * 60_000 },
  { label: '4 h', ms: 4 * 60 * 60_000 },
];
const TICK_STEPS = [10, 30, 60, 120, 300, 600, 900, 1800, 3600].map((s) => s * 1000);
const LIMIT = 2000;

interface Bar {
  a: TimelineAttempt;
  start: number;
  end: number;
  /** Handed over but not started: waiting in the contributor's work buffer. */
  buffered: boolean;
}

interface Lane {
  contributorId: string;
  label: string;
  /** Slot number from 0, or null for the work buffer (attempts handed over, not started). */
  slot: number | null;
  bars: Bar[];
}

/** A steady colour per job from its id (FNV-1a, spread round the colour wheel by the golden angle). */
export function jobColour(jobId: string): string {
  let h = 0x811c9dc5;
  for (const ch of jobId) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return `hsl(${Math.round((h % 1000) * 137.508) % 360} 62% 50%)`;
}

/** Bars packed into slot lanes: each bar goes to the first lane free at its start. */
export function lanesOf(
  attempts: TimelineAttempt[],
  contributors: ContributorInfo[],
  now: number,
): Lane[] {
  const names = displayNames(contributors);
  const byContributor = new Map<string, Bar[]>();
  for (const a of attempts) {
    const buffered = a.endedAt === null && a.startedAt === null;
    const start = a.startedAt ?? a.assignedAt;
    const end = a.endedAt ?? now;
    const list = byContributor.get(a.contributorId) ?? [];
    list.push({ a, start, end: Math.max(end, start), buffered });
    byContributor.set(a.contributorId, list);
  }
  const ids = new Set([
    ...contributors.filter((c) => c.state === 'online').map((c) => c.id),
    ...byContributor.keys(),
  ]);
  const lanes: Lane[] = [];
  for (const id of [...ids].sort((x, y) => (names.get(x) ?? x).localeCompare(names.get(y) ?? y))) {
    const info = contributors.find((c) => c.id === id);
    const slots = Math.max(1, info?.caps?.slots ?? 1);
    const all = (byContributor.get(id) ?? []).sort((x, y) => x.start - y.start);
    const bars = all.filter((b) => !b.buffered);
    const waiting = all.filter((b) => b.buffered);
    const free: number[] = Array.from({ length: slots }, () => -Infinity);
    const placed: Bar[][] = Array.from({ length: slots }, () => []);
    for (const bar of bars) {
      let lane = free.findIndex((t) => t <= bar.start);
      if (lane < 0) {
        lane = free.length;
        free.push(-Infinity);
        placed.push([]);
      }
      free[lane] = bar.end;
      placed[lane]?.push(bar);
    }
    const label = names.get(id) ?? id.slice(0, 8);
    placed.forEach((b, slot) => lanes.push({ contributorId: id, label, slot, bars: b }));
    // The work buffer is not a slot: its attempts wait there, so they get a lane of their own.
    if (waiting.length > 0) lanes.push({ contributorId: id, label, slot: null, bars: waiting });
  }
  return lanes;
}

function laneName(lane: Lane): string {
  return lane.slot === null ? 'work buffer' : `slot ${lane.slot + 1}`;
}

function tickLabel(t: number, step: number): string {
  const d = new Date(t);
  const hm = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  return step < 60_000 ? `${hm}:${String(d.getSeconds()).padStart(2, '0')}` : hm;
}

function ticks(from: number, to: number): { t: number; label: string }[] {
  const step = TICK_STEPS.find((s) => (to - from) / s <= 8) ?? 3_600_000;
  const out: { t: number; label: string }[] = [];
  for (let t = Math.ceil(from / step) * step; t <= to; t += step)
    out.push({ t, label: tickLabel(t, step) });
  return out;
}

function useTimeline(windowMs: number): {
  data: TimelineData | null;
  error: unknown;
  now: number;
} {
  const [data, setData] = useState<TimelineData | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      try {
        const d = await api<TimelineData>(
          'GET',
          `/timeline?since=${Date.now() - windowMs}&limit=${LIMIT}`,
        );
        if (stopped) return;
        setData(d);
        setError(null);
      } catch (err) {
        if (!stopped) setError(err);
      }
    };
    // Task events arrive in bursts: one fetch a quarter second after the first of a burst.
    const soon = () => {
      if (timer === undefined)
        timer = setTimeout(() => {
          timer = undefined;
          void load();
        }, 250);
    };
    void load();
    const off = grid.onAnyTask(soon);
    // Running bars grow with the clock; a slow full refresh catches anything missed.
    const tick = setInterval(() => setNow(Date.now()), 1000);
    const slow = setInterval(soon, 30_000);
    return () => {
      stopped = true;
      clearTimeout(timer);
      clearInterval(tick);
      clearInterval(slow);
      off();
    };
  }, [windowMs]);
  return { data, error, now };
}

export function Timeline() {
  const [windowMs, setWindowMs] = useState(WINDOWS[1]?.ms ?? 15 * 60_000);
  const { data, error, now } = useTimeline(windowMs);
  const { contributors, status } = useGrid();
  const to = now;
  const from = to - windowMs;
  const attempts = useMemo(() => data?.attempts ?? [], [data]);
  const lanes = useMemo(() => lanesOf(attempts, contributors, to), [attempts, contributors, to]);
  const jobs = useMemo(() => {
    const m = new Map<string, string>();
    for (const a of attempts)
      if (a.endedAt === null || a.endedAt >= from) m.set(a.jobId, a.jobName);
    return [...m];
  }, [attempts, from]);
  const x = (t: number) => Math.min(100, Math.max(0, ((t - from) / windowMs) * 100));
  const axis = ticks(from, to);
  const running = attempts.filter((a) => a.state === 'running').length;
  const buffered = attempts.filter((a) => a.state === 'assigned').length;
  return (
    <section aria-labelledby="timeline-title">
      <header className="page-head">
        <h1 id="timeline-title">Timeline</h1>
        <div className="filters" role="group" aria-label="Time window">
          {WINDOWS.map((w) => (
            <button
              type="button"
              key={w.ms}
              aria-pressed={windowMs === w.ms}
              onClick={() => setWindowMs(w.ms)}
            >
              last {w.label}
            </button>
          ))}
        </div>
      </header>
      <p className="muted">
        One lane per contributor slot, one bar per attempt, coloured by job; hover a bar for its
        task and times, click it to open the task.{' '}
        <span data-testid="timeline-running">{running}</span> running, {buffered} handed over and
        waiting in a work buffer
        {status !== 'live' && (
          <strong className="error"> — not live: the event stream is down</strong>
        )}
        .
      </p>
      <ErrorText error={error} />
      {data?.truncated && (
        <p className="muted">Only the newest {LIMIT} attempts are shown: pick a shorter window.</p>
      )}
      <div className="timeline card" data-testid="timeline">
        {lanes.length === 0 && <p className="muted">No contributor online and nothing ran here.</p>}
        {lanes.map((lane) => (
          <div
            className="lane"
            key={`${lane.contributorId}:${lane.slot ?? 'buffer'}`}
            data-lane={`${lane.contributorId}:${lane.slot ?? 'buffer'}`}
          >
            <div className="lane-label" title={lane.contributorId}>
              {lane.slot === 0 ? lane.label : ''}
              <span className="muted"> {laneName(lane)}</span>
            </div>
            <svg className="lane-bars" role="list" aria-label={`${lane.label} ${laneName(lane)}`}>
              {axis.map((t) => (
                <line
                  key={t.t}
                  className="grid-line"
                  x1={`${x(t.t)}%`}
                  x2={`${x(t.t)}%`}
                  y1="0"
                  y2="100%"
                />
              ))}
              {lane.bars
                .filter((b) => b.end >= from)
                .map((b) => {
                  const left = x(b.start);
                  const width = Math.max(0.3, x(b.end) - left);
                  const title = [
                    `${b.a.jobName} · task ${b.a.idx} · attempt ${b.a.number}`,
                    `${b.buffered ? 'waiting in the work buffer' : b.a.state}`,
                    `${new Date(b.start).toLocaleTimeString()} – ${
                      b.a.endedAt === null ? 'now' : new Date(b.a.endedAt).toLocaleTimeString()
                    } (${duration(b.end - b.start)})`,
                    `on ${lane.label}`,
                  ].join('\n');
                  return (
                    <rect
                      key={b.a.attemptId}
                      role="listitem"
                      aria-label={title.replace(/\n/g, ', ')}
                      className={`bar state-${b.buffered ? 'buffered' : b.a.state}`}
                      data-state={b.buffered ? 'buffered' : b.a.state}
                      data-job={b.a.jobId}
                      data-task={b.a.idx}
                      x={`${left}%`}
                      width={`${width}%`}
                      y="3"
                      height="16"
                      rx="2"
                      fill={jobColour(b.a.jobId)}
                      onClick={() => go(`/jobs/${b.a.jobId}/tasks/${b.a.idx}`)}
                    >
                      <title>{title}</title>
                    </rect>
                  );
                })}
            </svg>
          </div>
        ))}
        <div className="lane axis">
          <div className="lane-label muted">local time</div>
          <svg className="lane-bars" aria-hidden="true">
            {axis.map((t) => (
              <g key={t.t}>
                <line x1={`${x(t.t)}%`} x2={`${x(t.t)}%`} y1="0" y2="5" className="tick" />
                <text x={`${x(t.t)}%`} y="18" textAnchor="middle" className="tick-label">
                  {t.label}
                </text>
              </g>
            ))}
          </svg>
        </div>
      </div>
      {jobs.length > 0 && (
        <ul className="legend" aria-label="Jobs">
          {jobs.map(([id, name]) => (
            <li key={id}>
              <svg width="12" height="12" aria-hidden="true">
                <rect width="12" height="12" rx="2" fill={jobColour(id)} />
              </svg>{' '}
              <a href={`#/jobs/${id}`}>{name}</a>
            </li>
          ))}
          <li className="muted">
            outline: running · red outline: failed · faded: cancelled or lost · dashed: waiting in a
            work buffer
          </li>
        </ul>
      )}
    </section>
  );
}
