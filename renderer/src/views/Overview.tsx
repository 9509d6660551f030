// The grid at a glance: machines, cores, throughput over the last hour, backlog, running jobs.
import { useEffect, useRef, useState } from 'react';
import type { Overview as Data } from '../../../shared/gui-api.js';
import { api } from '../api.js';
import { ErrorText, ProgressBar } from '../components.js';
import { count } from '../format.js';
import { total, useLiveAttempts } from '../live-attempts.js';
import { submitRefusal, useMe } from '../session.js';
import { grid, useGrid } from '../store.js';

/** A round top for the y axis: 1, 2 or 5 times a power of ten, at least `max`. */
function niceMax(max: number): number {
  const p = 10 ** Math.floor(Math.log10(max));
  return ([1, 2, 5, 10].find((m) => m * p >= max) ?? 10) * p;
}

function rate(perSec: number): string {
  return perSec >= 10 ? perSec.toFixed(0) : perSec >= 1 ? perSec.toFixed(1) : perSec.toFixed(2);
}

function Chart({ points }: { points: Data['throughput'] }) {
  const w = 640;
  const h = 180;
  const left = 56;
  const bottom = 26;
  const top = 8;
  const plotW = w - left - 8;
  const plotH = h - top - bottom;
  const peak = Math.max(0, ...points.map((p) => p.perSec));
  const now = points[points.length - 1]?.perSec ?? 0;
  if (peak === 0)
    return (
      <figure className="chart" data-testid="chart-empty">
        <p className="muted">
          No task finished in the last hour: the throughput chart starts with the first.
        </p>
      </figure>
    );
  const yMax = niceMax(peak);
  const step = plotW / Math.max(1, points.length);
  const y = (v: number) => top + plotH - (v / yMax) * plotH;
  const minutes = [60, 45, 30, 15, 0];
  return (
    <figure className="chart">
      <svg
        viewBox={`0 0 ${w} ${h}`}
        role="img"
        aria-label={`Tasks finished per second over the last hour; now ${rate(now)}/s, peak ${rate(peak)}/s`}
      >
        {[0, yMax / 2, yMax].map((v) => (
          <g key={v}>
            <line className="axis-grid" x1={left} x2={w - 8} y1={y(v)} y2={y(v)} />
            <text className="axis-label" x={left - 6} y={y(v) + 4} textAnchor="end">
              {rate(v)}/s
            </text>
          </g>
        ))}
        {points.map((p, i) => {
          const bh = (p.perSec / yMax) * plotH;
          return (
            <rect
              key={p.t}
              x={left + i * step + 1}
              y={top + plotH - bh}
              width={Math.max(1, step - 2)}
              height={bh}
            >
              <title>{`${new Date(p.t).toLocaleTimeString()}: ${rate(p.perSec)} tasks/s`}</title>
            </rect>
          );
        })}
        <line className="axis" x1={left} x2={w - 8} y1={top + plotH} y2={top + plotH} />
        {minutes.map((m) => (
          <text
            key={m}
            className="axis-label"
            x={left + plotW * (1 - m / 60)}
            y={h - 8}
            textAnchor={m === 60 ? 'start' : m === 0 ? 'end' : 'middle'}
          >
            {m === 0 ? 'now' : `−${m} min`}
          </text>
        ))}
      </svg>
      <figcaption className="muted small">
        Tasks finished per second (y), one bar a minute over the last hour (x); now {rate(now)}/s,
        peak {rate(peak)}/s
      </figcaption>
    </figure>
  );
}

export function Overview() {
  const me = useMe();
  const { version, jobs } = useGrid();
  const [data, setData] = useState<Data | null>(null);
  const [error, setError] = useState<unknown>(null);
  const last = useRef(0);
  useEffect(() => {
    // Live events mark the numbers stale; refetching at most every 3 s keeps the API calm.
    const wait = Math.max(0, last.current + 3000 - Date.now());
    const timer = setTimeout(() => {
      last.current = Date.now();
      void api<Data>('GET', '/overview').then(setData, setError);
    }, wait);
    return () => clearTimeout(timer);
  }, [version]);
  useEffect(() => {
    const t = setInterval(() => void api<Data>('GET', '/overview').then(setData, setError), 60_000);
    return () => clearInterval(t);
  }, []);
  const live = useLiveAttempts();
  // The cards and the list below count the same jobs: the live list of this page.
  const running = jobs.filter((j) => j.state === 'running' || j.state === 'queued');
  const runningJobs = jobs.filter((j) => j.state === 'running').length;
  const queuedJobs = jobs.filter((j) => j.state === 'queued').length;
  // The server's count disagreeing with this page's list means the list missed a change: re-read it.
  const serverJobs = data ? `${data.jobs.running}/${data.jobs.queued}` : null;
  const lastReload = useRef(0);
  useEffect(() => {
    if (serverJobs === null || serverJobs === `${runningJobs}/${queuedJobs}`) return;
    if (Date.now() - lastReload.current < 10_000) return;
    lastReload.current = Date.now();
    void grid.reload();
  }, [serverJobs, runningJobs, queuedJobs]);
  return (
    <section aria-labelledby="ov-title">
      <h1 id="ov-title">Overview</h1>
      <ErrorText error={error} />
      {data && (
        <>
          <div className="cards">
            <div className="card stat">
              <div className="big">{data.contributors.online}</div>
              <div>contributors online</div>
              <div className="muted small">
                {data.contributors.working} working · {data.contributors.paused} paused ·{' '}
                {data.contributors.offline} offline
              </div>
            </div>
            <div className="card stat">
              <div className="big" data-testid="slots-running">
                {live ? total(live.running) : data.cores.inUse} / {data.cores.offered}
              </div>
              <div>slots running / on offer</div>
              {live && (
                <div className="muted small" data-testid="slots-buffered">
                  + {total(live.buffered)} handed over, waiting in work buffers
                </div>
              )}
            </div>
            <div className="card stat">
              <div className="big">{count(data.backlog)}</div>
              <div>tasks queued</div>
            </div>
            <div className="card stat">
              <div className="big">{runningJobs}</div>
              <div>{runningJobs === 1 ? 'job running' : 'jobs running'}</div>
              <div className="muted small">{queuedJobs} queued</div>
            </div>
          </div>
          <Chart points={data.throughput} />
        </>
      )}
      <h2>Active jobs</h2>
      {running.length === 0 ? (
        <p className="empty">
          Nothing running.{' '}
          {submitRefusal(me) === null && (
            <>
              <a href="#/submit">Submit a job</a>.
            </>
          )}
        </p>
      ) : (
        <ul className="active-jobs">
          {running.map((j) => (
            <li key={j.id}>
              <a href={`#/jobs/${j.id}`}>{j.name}</a>
              <ProgressBar job={j} />
              {j.reason && <div className="why-inline">⚠ {j.reason}</div>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
