// The machines of the grid: state and why, capacity, slots in use, heartbeat age, current tasks,
// CPU donated today, and revoking a machine's credential.
import { useCallback, useEffect, useState } from 'react';
import type { ContributorInfo } from '../../../shared/api.js';
import type { ContributorUsage } from '../../../shared/gui-api.js';
import { api } from '../api.js';
import { ConfirmButton, StateBadge } from '../components.js';
import { ago, clock, duration } from '../format.js';
import { grid, useGrid } from '../store.js';
import { Pairing } from './Pairing.js';

function stateOf(c: ContributorInfo): { state: string; why: string } {
  if (c.state === 'offline') return { state: 'offline', why: `last seen ${ago(c.lastSeen)}` };
  const p = c.policy;
  if (!p) return { state: c.slotsInUse > 0 ? 'working' : 'online', why: '' };
  const until = p.until ? ` until ${clock(p.until)}` : '';
  return { state: p.state, why: `${p.reason}${until}` };
}

/** "Today" as the person looking at the screen means it: their local midnight. */
function localMidnight(): number {
  const d = new Date();
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

function useUsage(): [ContributorUsage | null, () => void] {
  const [usage, setUsage] = useState<ContributorUsage | null>(null);
  const load = useCallback(() => {
    api<ContributorUsage>('GET', `/contributors/usage?since=${localMidnight()}`).then(
      setUsage,
      () => undefined, // keep the last numbers; the connection badge tells about outages
    );
  }, []);
  return [usage, load];
}

export function Contributors() {
  const { contributors } = useGrid();
  const [usage, loadUsage] = useUsage();
  // Re-render once a second so "last heartbeat" ages on screen without asking the API.
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    loadUsage();
    const t = setInterval(() => setNow(Date.now()), 1000);
    // Heartbeats carry no event: while this view is open, re-read the list every few seconds.
    const r = setInterval(() => {
      void grid.reloadContributors();
      loadUsage();
    }, 5000);
    return () => {
      clearInterval(t);
      clearInterval(r);
    };
  }, [loadUsage]);
  const revoked = new Set(usage?.revoked ?? []);
  const revoke = async (id: string) => {
    await api('POST', `/contributors/${encodeURIComponent(id)}/revoke`);
    loadUsage();
    await grid.reloadContributors();
  };
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
              <th scope="col" className="num">
                CPU today
              </th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {contributors.map((c) => {
              const s = revoked.has(c.id)
                ? { state: 'revoked', why: 'credential revoked' }
                : stateOf(c);
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
                  <td className="num" data-testid="cpu-today">
                    {usage ? duration(usage.cpuMs[c.id] ?? 0) : '—'}
                  </td>
                  <td>
                    {!revoked.has(c.id) && (
                      <ConfirmButton
                        label="Revoke"
                        confirmLabel={`Revoke ${c.name}`}
                        question="It is disconnected now and must pair or join again."
                        onConfirm={() => revoke(c.id)}
                      />
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
