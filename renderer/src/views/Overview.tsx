// The grid at a glance: machines, cores, throughput over the last hour, backlog, running jobs.
import { useEffect, useRef, useState } from 'react';
import type { Overview as Data } from '../../../shared/gui-api.js';
import { api } from '../api.js';
import { ErrorText, ProgressBar } from '../components.js';
import { count } from '../format.js';
import { useGrid } from '../store.js';

function Chart({ points }: { points: Data['throughput'] }) {
  const w = 600;
  const h = 140;
  const max = Math.max(0.01, ...points.map((p) => p.perSec));
  const step = w / Math.max(1, points.length);
  const now = points[points.length - 1]?.perSec ?? 0;
  return (
    <figure className="chart">
      <svg
        viewBox={`0 0 ${w} ${h}`}
        role="img"
        aria-label={`Tasks per second over the last hour; now ${now.toFixed(2)}, peak ${max.toFixed(2)}`}
        preserveAspectRatio="none"
      >
        {points.map((p, i) => {
          const bh = (p.perSec / max) * (h - 4);
          return (
            <rect key={p.t} x={i * step + 1} y={h - bh} width={Math.max(1, step - 2)} height={bh} />
          );
        })}
      </svg>
      <figcaption className="muted small">
        Tasks finished per second, one bar a minute over the last hour (peak {max.toFixed(2)}/s)
      </figcaption>
    </figure>
  );
}

export function Overview() {
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
  const running = jobs.filter((j) => j.state === 'running' || j.state === 'queued');
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
              <div className="big">
                {data.cores.inUse} / {data.cores.offered}
              </div>
              <div>cores in use / on offer</div>
            </div>
            <div className="card stat">
              <div className="big">{count(data.backlog)}</div>
              <div>tasks queued</div>
            </div>
            <div className="card stat">
              <div className="big">{data.jobs.running}</div>
              <div>jobs running</div>
              <div className="muted small">{data.jobs.queued} queued</div>
            </div>
          </div>
          <Chart points={data.throughput} />
        </>
      )}
      <h2>Active jobs</h2>
      {running.length === 0 ? (
        <p className="empty">
          Nothing running. <a href="#/submit">Submit a job</a>.
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
