// Settings → Audit log (admin): who changed what, when and from where, newest first, filtered by
// user and action, a page at a time.
import { useEffect, useState, type FormEvent } from 'react';
import type { AuditEntry } from '../../../shared/api.js';
import { api } from '../api.js';
import { ErrorText } from '../components.js';
import { clock } from '../format.js';
import { SettingsPage } from './Settings.js';

type Entry = AuditEntry;

export const AUDIT_PAGE = 50;

/** Kinds of action to filter by: a prefix matches all of its kind (`job` is every job change). */
const ACTIONS = [
  'job',
  'job.submit',
  'job.cancel',
  'job.retry',
  'job.priority',
  'user',
  'user.add',
  'user.remove',
  'user.token',
  'user.weight',
  'user.share',
  'settings.rotate',
  'contributor',
];

interface Filter {
  user: string;
  action: string;
}

export function Audit() {
  return (
    <SettingsPage current="audit" title="The audit log">
      <AuditLog />
    </SettingsPage>
  );
}

function AuditLog() {
  const [filter, setFilter] = useState<Filter>({ user: '', action: '' });
  const [draft, setDraft] = useState<Filter>(filter);
  // `before` of each page shown so far: the last is this page's, popping one goes back newer.
  const [cursors, setCursors] = useState<(number | undefined)[]>([undefined]);
  const [page, setPage] = useState<{ entries: Entry[]; more: boolean } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const before = cursors[cursors.length - 1];
  useEffect(() => {
    const q = new URLSearchParams({ order: 'newest', limit: String(AUDIT_PAGE + 1) });
    if (before !== undefined) q.set('before', String(before));
    if (filter.user) q.set('user', filter.user);
    if (filter.action) q.set('action', filter.action);
    api<Entry[]>('GET', `/audit?${q.toString()}`).then(
      (rows) => {
        setPage({ entries: rows.slice(0, AUDIT_PAGE), more: rows.length > AUDIT_PAGE });
        setError(null);
      },
      (err: unknown) => {
        setPage(null);
        setError(err);
      },
    );
  }, [before, filter]);
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setFilter({ user: draft.user.trim(), action: draft.action });
    setCursors([undefined]);
  };
  const last = page?.entries[page.entries.length - 1];
  return (
    <>
      <form className="filters audit-filters" onSubmit={apply} aria-label="Filter the audit log">
        <label>
          Who
          <input
            value={draft.user}
            placeholder="any user"
            onChange={(e) => setDraft((d) => ({ ...d, user: e.target.value }))}
          />
        </label>
        <label>
          What
          <select
            value={draft.action}
            onChange={(e) => setDraft((d) => ({ ...d, action: e.target.value }))}
          >
            <option value="">any action</option>
            {ACTIONS.map((a) => (
              <option key={a} value={a}>
                {a.includes('.') ? a : `${a}.* (all)`}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      <ErrorText error={error} />
      {page && page.entries.length === 0 && (
        <p className="empty">
          {filter.user || filter.action
            ? 'Nothing matches this filter.'
            : 'Nothing recorded yet: every change a person makes through the API shows up here.'}
        </p>
      )}
      {page && page.entries.length > 0 && (
        <table className="audit">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">What</th>
              <th scope="col">Target</th>
              <th scope="col">Result</th>
              <th scope="col">From</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {page.entries.map((e) => (
              <tr key={e.seq} data-audit={e.seq}>
                <td>{clock(e.at)}</td>
                <td>
                  {e.user} <span className="muted small">{e.role}</span>
                </td>
                <td className="mono">{e.action}</td>
                <td className="mono">{e.target ?? '—'}</td>
                <td className={e.status >= 400 ? 'error' : 'ok'}>
                  {e.status >= 400 ? `refused (${e.status})` : `done (${e.status})`}
                </td>
                <td className="mono small">{e.address ?? '—'}</td>
                <td className="small">{e.detail ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="actions pager">
        <button
          type="button"
          disabled={cursors.length <= 1}
          onClick={() => setCursors((c) => c.slice(0, -1))}
        >
          ← Newer
        </button>
        <span className="muted small">Page {cursors.length}</span>
        <button
          type="button"
          disabled={!page?.more || !last}
          onClick={() => last && setCursors((c) => [...c, last.seq])}
        >
          Older →
        </button>
      </div>
    </>
  );
}
