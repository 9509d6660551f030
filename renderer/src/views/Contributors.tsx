// The machines of the grid as a console for hundreds of them: filter and sort by state, group,
// reason and isolation; state and why, capacity, slots in use, heartbeat age, current tasks, CPU
// donated today; bulk pause / resume / drain / set groups, a fleet policy, and revoking a machine.
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { ContributorUsage } from '../../../shared/gui-api.js';
import { api } from '../api.js';
import { ConfirmButton, ErrorText, StateBadge } from '../components.js';
import {
  choices,
  filterRows,
  NO_FILTER,
  rowOf,
  sortRows,
  type ConsoleFilter,
  type ConsoleRow,
  type SortKey,
} from '../contributors-console.js';
import { adminRefusal, useMe } from '../session.js';
import { ago, duration } from '../format.js';
import { isBuffered, useLiveAttempts, type LiveAttempts } from '../live-attempts.js';
import { displayNames, grid, useGrid } from '../store.js';
import { Pairing } from './Pairing.js';

/** Rows shown at once; more on request (the rest are filtered and sorted all the same). */
const PAGE = 100;

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

/** What runs on a contributor: live attempts (from task events) where known, else its list. */
function CurrentTasks({ ids, live }: { ids: string[]; live: LiveAttempts | null }) {
  if (ids.length === 0) return <>—</>;
  return (
    <>
      {ids.map((attemptId, i) => {
        const a = live?.byId.get(attemptId);
        return (
          <span key={attemptId}>
            {i > 0 && ', '}
            {a ? (
              <a href={`#/jobs/${a.jobId}/tasks/${a.idx}`}>
                {a.jobName} #{a.idx}
                {isBuffered(a) ? ' (buffered)' : ''}
              </a>
            ) : (
              <span className="mono">{attemptId}</span>
            )}
          </span>
        );
      })}
    </>
  );
}

export function Contributors() {
  const me = useMe();
  const isAdmin = me.role === 'admin';
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
  const revoked = useMemo(() => new Set(usage?.revoked ?? []), [usage]);
  const live = useLiveAttempts();
  const names = displayNames(contributors);
  const [filter, setFilter] = useState<ConsoleFilter>(NO_FILTER);
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: 'name', desc: false });
  const [shown, setShown] = useState(PAGE);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const all = useMemo(
    () => contributors.map((c) => rowOf(c, revoked.has(c.id))),
    [contributors, revoked],
  );
  const rows = useMemo(
    () => sortRows(filterRows(all, filter), sort.key, sort.desc),
    [all, filter, sort],
  );
  const currentOf = (id: string, listed: string[]): string[] =>
    live
      ? [...live.byId.values()]
          .filter((a) => a.contributorId === id)
          .sort((x, y) => x.assignedAt - y.assignedAt)
          .map((a) => a.attemptId)
      : listed;
  const revoke = async (id: string) => {
    await api('POST', `/contributors/${encodeURIComponent(id)}/revoke`);
    loadUsage();
    await grid.reloadContributors();
  };
  const set = (k: keyof ConsoleFilter) => (v: string) => {
    setFilter((f) => ({ ...f, [k]: v }));
    setShown(PAGE);
  };
  const sortBy = (key: SortKey) => setSort((s) => ({ key, desc: s.key === key ? !s.desc : false }));
  const th = (key: SortKey, label: string, className?: string) => (
    <th
      scope="col"
      className={className}
      aria-sort={sort.key === key ? (sort.desc ? 'descending' : 'ascending') : 'none'}
    >
      <button type="button" className="link sort" onClick={() => sortBy(key)}>
        {label}
        {sort.key === key ? (sort.desc ? ' ▼' : ' ▲') : ''}
      </button>
    </th>
  );
  const visible = rows.slice(0, shown);
  const allVisibleSelected = rows.length > 0 && rows.every((r) => selected.has(r.c.id));
  const toggle = (id: string) =>
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });
  return (
    <section aria-labelledby="co-title">
      <h1 id="co-title">Contributors</h1>
      {isAdmin ? (
        <Pairing />
      ) : (
        <p className="muted small" data-testid="admin-only-note">
          {adminRefusal(me, 'Approving machines and revoking them')}.
        </p>
      )}
      {contributors.length === 0 ? (
        <p className="empty">
          No contributor yet. On each machine: <code>colony contributor --join TOKEN</code>.
        </p>
      ) : (
        <>
          <Filters all={all} filter={filter} set={set} />
          <p className="muted small" data-testid="console-count">
            {rows.length === all.length
              ? `${all.length} machines`
              : `${rows.length} of ${all.length} machines`}
            {selected.size > 0 ? ` · ${selected.size} selected` : ''}
          </p>
          {isAdmin && (
            <BulkActions
              selected={[...selected]}
              clear={() => setSelected(new Set())}
              groups={choices(all, (r) => r.groups)}
            />
          )}
          <table className="contributors">
            <thead>
              <tr>
                {isAdmin && (
                  <th scope="col">
                    <input
                      type="checkbox"
                      aria-label="Select all shown by the filter"
                      checked={allVisibleSelected}
                      onChange={() =>
                        setSelected(
                          allVisibleSelected ? new Set() : new Set(rows.map((r) => r.c.id)),
                        )
                      }
                    />
                  </th>
                )}
                {th('name', 'Machine')}
                {th('state', 'State')}
                {th('why', 'Why')}
                {th('groups', 'Groups')}
                <th scope="col" className="num">
                  Cores
                </th>
                <th scope="col" className="num">
                  Memory
                </th>
                <th scope="col">Platform</th>
                {th('isolation', 'Isolation')}
                {th('version', 'Version')}
                {th('slots', 'Slots: running · buffered / offered', 'num')}
                {th('lastSeen', 'Last heartbeat')}
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
              {visible.map((r) => (
                <Row
                  key={r.c.id}
                  r={r}
                  name={names.get(r.c.id) ?? r.c.name}
                  isAdmin={isAdmin}
                  selected={selected.has(r.c.id)}
                  toggle={toggle}
                  now={now}
                  live={live}
                  current={currentOf(r.c.id, r.c.running)}
                  cpuToday={usage ? duration(usage.cpuMs[r.c.id] ?? 0) : '—'}
                  revoke={revoked.has(r.c.id) ? undefined : () => revoke(r.c.id)}
                />
              ))}
            </tbody>
          </table>
          {rows.length > shown && (
            <button type="button" onClick={() => setShown((n) => n + PAGE * 5)}>
              Show more ({rows.length - shown} not shown)
            </button>
          )}
          {isAdmin && <FleetPolicyForm groups={choices(all, (r) => r.groups)} />}
        </>
      )}
    </section>
  );
}

function Filters({
  all,
  filter,
  set,
}: {
  all: ConsoleRow[];
  filter: ConsoleFilter;
  set: (k: keyof ConsoleFilter) => (v: string) => void;
}) {
  const select = (k: keyof ConsoleFilter, label: string, options: string[]) => (
    <label>
      {label}{' '}
      <select value={filter[k]} onChange={(e) => set(k)(e.target.value)}>
        <option value="">any</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <div className="filters" role="search" aria-label="Filter machines">
      <label>
        Machine{' '}
        <input
          type="search"
          value={filter.text}
          placeholder="name or id"
          onChange={(e) => set('text')(e.target.value)}
        />
      </label>
      {select(
        'state',
        'State',
        choices(all, (r) => [r.state]),
      )}
      {select(
        'group',
        'Group',
        choices(all, (r) => r.groups),
      )}
      {select(
        'isolation',
        'Isolation',
        choices(all, (r) => [r.isolation]),
      )}
      {select(
        'version',
        'Version',
        choices(all, (r) => [r.version]),
      )}
      <label>
        Reason{' '}
        <input
          type="search"
          value={filter.reason}
          placeholder="e.g. battery"
          onChange={(e) => set('reason')(e.target.value)}
        />
      </label>
    </div>
  );
}

function Row({
  r,
  name,
  isAdmin,
  selected,
  toggle,
  now,
  live,
  current,
  cpuToday,
  revoke,
}: {
  r: ConsoleRow;
  name: string;
  isAdmin: boolean;
  selected: boolean;
  toggle: (id: string) => void;
  now: number;
  live: LiveAttempts | null;
  current: string[];
  cpuToday: string;
  revoke: (() => Promise<void>) | undefined;
}) {
  const c = r.c;
  return (
    <tr data-contributor={c.id} className={selected ? 'selected' : undefined}>
      {isAdmin && (
        <td>
          <input
            type="checkbox"
            aria-label={`Select ${name}`}
            checked={selected}
            onChange={() => toggle(c.id)}
          />
        </td>
      )}
      <td>
        <a href={`#/contributors/${encodeURIComponent(c.id)}`}>
          <strong>{name}</strong>
        </a>
        <div className="muted small">{c.id}</div>
      </td>
      <td>
        <StateBadge state={r.state} />
      </td>
      <td data-testid="why">{r.why || '—'}</td>
      <td data-testid="groups">{r.groups.join(', ') || '—'}</td>
      <td className="num">{c.caps?.cores ?? '—'}</td>
      <td className="num">{c.caps ? `${(c.caps.memoryMb / 1024).toFixed(1)} GB` : '—'}</td>
      <td>
        {c.caps ? `${c.caps.platform}/${c.caps.arch}` : '—'}
        <div className="muted small">{c.caps?.runtimes.join(', ')}</div>
      </td>
      <td data-testid="isolation">
        {r.isolation}
        {c.caps?.network ? <div className="muted small">network allowed</div> : null}
      </td>
      <td data-testid="version">{r.version}</td>
      <td className="num">
        {live ? (
          <span data-testid="slots">
            {live.running.get(c.id) ?? 0} · {live.buffered.get(c.id) ?? 0} / {c.caps?.slots ?? '—'}
          </span>
        ) : (
          `${c.slotsInUse} / ${c.caps?.slots ?? '—'}`
        )}
      </td>
      <td>{c.state === 'online' ? ago(c.lastSeen, now) : '—'}</td>
      <td className="small" data-testid="current-tasks">
        <CurrentTasks ids={current} live={live} />
      </td>
      <td className="num" data-testid="cpu-today">
        {cpuToday}
      </td>
      <td>
        {isAdmin && revoke && (
          <ConfirmButton
            label="Revoke"
            confirmLabel={`Revoke ${c.name}`}
            question="It is disconnected now and must pair or join again."
            onConfirm={revoke}
          />
        )}
      </td>
    </tr>
  );
}

/** Pause, resume, drain or set the groups of the selected machines at once. */
function BulkActions({
  selected,
  clear,
  groups,
}: {
  selected: string[];
  clear: () => void;
  groups: string[];
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState('');
  const [group, setGroup] = useState('');
  const act = (what: string, path: string, body: unknown) => {
    setBusy(true);
    setError(null);
    setDone('');
    api('POST', path, body)
      .then(
        async () => {
          setDone(`${what}: ${selected.length} machine${selected.length === 1 ? '' : 's'}`);
          await grid.reloadContributors();
        },
        (err: unknown) => setError(err),
      )
      .finally(() => setBusy(false));
  };
  const none = selected.length === 0 || busy;
  return (
    <div className="bulk" role="group" aria-label="Actions on the selected machines">
      <button
        type="button"
        disabled={none}
        onClick={() => act('paused', '/fleet/pause', { ids: selected })}
      >
        Pause
      </button>{' '}
      <button
        type="button"
        disabled={none}
        onClick={() => act('resumed', '/fleet/resume', { ids: selected })}
      >
        Resume
      </button>{' '}
      <button
        type="button"
        disabled={none}
        onClick={() => act('draining', '/fleet/drain', { ids: selected })}
      >
        Drain
      </button>{' '}
      <label>
        Groups{' '}
        <input
          list="known-groups"
          value={group}
          placeholder="lab, floor-2 (empty: tags)"
          size={28}
          onChange={(e) => setGroup(e.target.value)}
        />
      </label>
      <datalist id="known-groups">
        {groups.map((g) => (
          <option key={g} value={g} />
        ))}
      </datalist>{' '}
      <button
        type="button"
        disabled={none}
        onClick={() =>
          act('groups set', '/fleet/groups', {
            ids: selected,
            groups: group
              .split(',')
              .map((g) => g.trim())
              .filter(Boolean),
          })
        }
      >
        Set groups
      </button>{' '}
      <button type="button" className="link" disabled={selected.length === 0} onClick={clear}>
        Clear selection
      </button>
      {done && (
        <span className="small" role="status">
          {' '}
          {done}
        </span>
      )}
      <ErrorText error={error} />
    </div>
  );
}

/** A fleet policy for a group: owner-policy fields as JSON, and the fields owners may only tighten. */
function FleetPolicyForm({ groups }: { groups: string[] }) {
  const [group, setGroup] = useState('');
  const [text, setText] = useState('{ "maxWorkers": 1 }');
  const [lock, setLock] = useState('maxWorkers');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState('');
  const submit = () => {
    setError(null);
    setDone('');
    let settings: unknown;
    try {
      settings = JSON.parse(text);
    } catch (err) {
      setError(new Error(`not JSON: ${(err as Error).message}`));
      return;
    }
    api<{ machines: string[] }>('PUT', '/fleet/policy', {
      group,
      settings,
      lock: lock
        .split(',')
        .map((f) => f.trim())
        .filter(Boolean),
      ...(reason ? { reason } : {}),
    }).then(
      (r) => setDone(`set on group ${group} (${r.machines.length} machines)`),
      (err: unknown) => setError(err),
    );
  };
  return (
    <details className="fleet-policy">
      <summary>Fleet policy for a group</summary>
      <p className="muted small">
        Owner-policy fields (docs: owner policy) for every machine of the group; locked fields may
        only be made stricter by the owners.
      </p>
      <label>
        Group{' '}
        <select value={group} onChange={(e) => setGroup(e.target.value)}>
          <option value="">choose…</option>
          {groups.map((g) => (
            <option key={g} value={g}>
              {g}
            </option>
          ))}
        </select>
      </label>
      <label className="block">
        Settings (JSON)
        <textarea rows={4} value={text} onChange={(e) => setText(e.target.value)} />
      </label>
      <label>
        Lock{' '}
        <input
          value={lock}
          onChange={(e) => setLock(e.target.value)}
          placeholder="maxWorkers,schedule"
        />
      </label>{' '}
      <label>
        Reason <input value={reason} onChange={(e) => setReason(e.target.value)} />
      </label>{' '}
      <button type="button" disabled={!group} onClick={submit}>
        Set policy
      </button>
      {done && (
        <span className="small" role="status">
          {' '}
          {done}
        </span>
      )}
      <ErrorText error={error} />
    </details>
  );
}
