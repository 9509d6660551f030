// The machines of the grid: state and why, capacity, slots in use, heartbeat age, current tasks.
import { useEffect, useState } from 'react';
import type { ContributorInfo } from '../../../shared/api.js';
import { StateBadge } from '../components.js';
import { ago, clock } from '../format.js';
import { grid, useGrid } from '../store.js';
import { Pairing } from './Pairing.js';

function stateOf(c: ContributorInfo): { state: string; why: string } {
  if (c.state === 'offline') return { state: 'offline', why: `last seen ${ago(c.lastSeen)}` };
  const p = c.policy;
  if (!p) return { state: c.slotsInUse > 0 ? 'working' : 'online', why: '' };
  const until = p.until ? ` until ${clock(p.until)}` : '';
  return { state: p.state, why: `${p.reason}${until}` };
}

export function Contributors() {
  const { contributors } = useGrid();
  // Re-render once a second so "last heartbeat" ages on screen without asking the API.
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    // Heartbeats carry no event: while this view is open, re-read the list every few seconds.
    const r = setInterval(() => void grid.reloadContributors(), 5000);
    return () => {
      clearInterval(t);
      clearInterval(r);
    };
  }, []);
  return (
    <section aria-labelledby="co-title">
      <h1 id="co-title">Contributors</h1>
      <Pairing />
      {contributors.length === 0 ? (
        <p className="empty">
          No contributor yet. On each machine: <code>colony contributor --join TOKEN</code>.
        </p>
      ) : (
        <table className="contributors">
          <thead>
            <tr>
              <th scope="col">Machine</th>
              <th scope="col">State</th>
              <th scope="col">Why</th>
              <th scope="col" className="num">
                Cores
              </th>
              <th scope="col" className="num">
                Memory
              </th>
              <th scope="col">Platform</th>
              <th scope="col" className="num">
                Slots in use
              </th>
              <th scope="col">Last heartbeat</th>
              <th scope="col">Current tasks</th>
            </tr>
          </thead>
          <tbody>
            {contributors.map((c) => {
              const s = stateOf(c);
              return (
                <tr key={c.id} data-contributor={c.id}>
                  <td>
                    <strong>{c.name}</strong>
                    <div className="muted small">{c.id}</div>
                  </td>
                  <td>
                    <StateBadge state={s.state} />
                  </td>
                  <td>{s.why || '—'}</td>
                  <td className="num">{c.caps?.cores ?? '—'}</td>
                  <td className="num">
                    {c.caps ? `${(c.caps.memoryMb / 1024).toFixed(1)} GB` : '—'}
                  </td>
                  <td>
                    {c.caps ? `${c.caps.platform}/${c.caps.arch}` : '—'}
                    <div className="muted small">
                      {c.caps?.runtimes.join(', ')}
                      {c.caps?.tags.length ? ` · ${c.caps.tags.join(', ')}` : ''}
                    </div>
                  </td>
                  <td className="num">
                    {c.slotsInUse} / {c.caps?.slots ?? '—'}
                  </td>
                  <td>{c.state === 'online' ? ago(c.lastSeen, now) : '—'}</td>
                  <td className="mono small">{c.running.length ? c.running.join(', ') : '—'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
