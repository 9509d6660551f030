// One machine of the fleet: its groups, remote state, the fleet policy that applies (fields, which
// are locked, by whom and why), its recent owner-policy reasons and the CPU it donated per hour.
import { useEffect, useState } from 'react';
import type { FleetControlState, FleetPolicy } from '../../../shared/fleet-policy.js';
import { api } from '../api.js';
import { ErrorText, StateBadge } from '../components.js';
import { clock, duration } from '../format.js';
import { adminRefusal, useMe } from '../session.js';
import { useGrid } from '../store.js';

interface FleetPage {
  id: string;
  groups: string[];
  tags: string[];
  groupsSetByAdmin: boolean;
  policy: FleetPolicy | null;
  machinePolicy: FleetPolicy | null;
  control: FleetControlState;
  state: 'paused' | 'draining' | 'drained' | null;
  status: { state: string; reason: string } | null;
  reasons: { at: number; state: string; reason: string }[];
  donatedCpu: { hour: number; cpuMs: number }[];
}

function flatten(o: Record<string, unknown>, prefix = ''): [string, unknown][] {
  return Object.entries(o).flatMap(([k, v]) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) && k !== 'busyPrograms'
      ? flatten(v as Record<string, unknown>, `${prefix}${k}.`)
      : [[`${prefix}${k}`, v] as [string, unknown]],
  );
}

export function ContributorPage({ id }: { id: string }) {
  const me = useMe();
  const { contributors } = useGrid();
  const c = contributors.find((x) => x.id === id);
  const [page, setPage] = useState<FleetPage | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (me.role !== 'admin') return;
    const load = () =>
      api<FleetPage>('GET', `/contributors/${encodeURIComponent(id)}/fleet`).then(
        (p) => {
          setPage(p);
          setError(null);
        },
        (err: unknown) => setError(err),
      );
    void load();
    const t = setInterval(() => void load(), 5000);
    return () => clearInterval(t);
  }, [id, me.role]);
  const max = Math.max(1, ...(page?.donatedCpu.map((h) => h.cpuMs) ?? [1]));
  return (
    <section aria-labelledby="cp-title">
      <p>
        <a href="#/contributors">← Contributors</a>
      </p>
      <h1 id="cp-title">{c?.name ?? id}</h1>
      <p className="muted small">{id}</p>
      {me.role !== 'admin' ? (
        <p className="muted">{adminRefusal(me, 'The fleet page of a machine')}.</p>
      ) : (
        <>
          <ErrorText error={error} />
          {page && (
            <>
              <dl className="stats">
                <div>
                  <dt>Remote</dt>
                  <dd data-testid="remote-state">
                    <StateBadge state={page.state ?? 'none'} />
                    {page.control.by ? (
                      <span className="small">
                        {' '}
                        by {page.control.by}
                        {page.control.reason ? `: ${page.control.reason}` : ''}
                      </span>
                    ) : null}
                  </dd>
                </div>
                <div>
                  <dt>Groups</dt>
                  <dd data-testid="machine-groups">
                    {page.groups.join(', ') || '—'}{' '}
                    <span className="muted small">
                      {page.groupsSetByAdmin ? '(set by an admin)' : '(its tags)'}
                    </span>
                  </dd>
                </div>
                <div>
                  <dt>Owner policy now</dt>
                  <dd>
                    {page.status ? `${page.status.state}: ${page.status.reason}` : 'not connected'}
                  </dd>
                </div>
              </dl>
              <h2>Fleet policy</h2>
              {page.policy ? (
                <table className="fleet-fields" data-testid="fleet-policy">
                  <thead>
                    <tr>
                      <th scope="col">Field</th>
                      <th scope="col">Value</th>
                      <th scope="col">Locked</th>
                      <th scope="col">From</th>
                    </tr>
                  </thead>
                  <tbody>
                    {flatten(page.policy.settings).map(([field, value]) => {
                      const locked = (page.policy?.locked as string[]).includes(field);
                      return (
                        <tr key={field}>
                          <td className="mono">{field}</td>
                          <td className="mono">{JSON.stringify(value)}</td>
                          <td>
                            {locked ? (
                              <span className="badge state-paused">
                                locked{page.policy?.by ? ` by ${page.policy.by} (admin)` : ''}
                              </span>
                            ) : (
                              <span className="muted">owner may change</span>
                            )}
                          </td>
                          <td className="small">{page.policy?.sources?.[field] ?? ''}</td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              ) : (
                <p className="muted">None: the owner&apos;s own policy applies.</p>
              )}
              {page.policy?.reason && <p className="small">Why: {page.policy.reason}</p>}
              <h2>Recent reasons</h2>
              {page.reasons.length === 0 ? (
                <p className="muted">None seen since it connected.</p>
              ) : (
                <ol className="reasons" data-testid="reasons">
                  {[...page.reasons].reverse().map((r) => (
                    <li key={`${r.at}-${r.reason}`}>
                      <span className="mono small">{clock(r.at)}</span>{' '}
                      <StateBadge state={r.state} /> {r.reason}
                    </li>
                  ))}
                </ol>
              )}
              <h2>Donated CPU, last 24 hours</h2>
              <div className="cpu-bars" role="img" aria-label="CPU donated per hour, last 24 hours">
                {page.donatedCpu.map((h) => (
                  <span
                    key={h.hour}
                    className="cpu-bar"
                    title={`${clock(h.hour)}: ${duration(h.cpuMs)}`}
                    style={{ height: `${Math.max(2, (h.cpuMs / max) * 60)}px` }}
                  />
                ))}
              </div>
              <p className="small muted">
                {duration(page.donatedCpu.reduce((n, h) => n + h.cpuMs, 0))} in all
              </p>
            </>
          )}
        </>
      )}
    </section>
  );
}
