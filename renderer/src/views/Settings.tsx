// Coordinator settings (admin): name, where it listens, the join token to copy, token rotation,
// and the tabs to People and the audit log.
import { useEffect, useState, type ReactNode } from 'react';
import type { RotateResult, Settings as Data } from '../../../shared/gui-api.js';
import { api, setToken } from '../api.js';
import { ConfirmButton, ErrorText, NotAllowed } from '../components.js';
import { OWNER_USER, adminRefusal, session, useMe } from '../session.js';
import { grid } from '../store.js';

const TABS = [
  { view: 'settings', href: '#/settings', label: 'Coordinator' },
  { view: 'people', href: '#/settings/people', label: 'People' },
  { view: 'audit', href: '#/settings/audit', label: 'Audit log' },
] as const;

/** A Settings page: the tabs, then the page, for an admin; the reason for anyone else. */
export function SettingsPage({
  current,
  title,
  children,
}: {
  current: (typeof TABS)[number]['view'];
  title: string;
  children: ReactNode;
}) {
  const refusal = adminRefusal(useMe(), title);
  return (
    <section aria-labelledby="st-title">
      <h1 id="st-title">Settings</h1>
      <nav className="tabs" aria-label="Settings">
        {TABS.map((t) => (
          <a key={t.view} href={t.href} aria-current={t.view === current ? 'page' : undefined}>
            {t.label}
          </a>
        ))}
      </nav>
      {refusal === null ? children : <NotAllowed reason={refusal} />}
    </section>
  );
}

export function CopyRow({ id, value }: { id: string; value: string }) {
  const [copied, setCopied] = useState(false);
  useEffect(() => setCopied(false), [value]);
  return (
    <div className="copy-row">
      <input id={id} className="mono" readOnly value={value} onFocus={(e) => e.target.select()} />
      <button
        type="button"
        onClick={() =>
          void navigator.clipboard.writeText(value).then(
            () => setCopied(true),
            () => setCopied(false),
          )
        }
      >
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  );
}

export function Settings() {
  return (
    <SettingsPage current="settings" title="The coordinator's settings">
      <CoordinatorSettings />
    </SettingsPage>
  );
}

function CoordinatorSettings() {
  const me = useMe();
  const [data, setData] = useState<Data | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [newAdmin, setNewAdmin] = useState<string | null>(null);
  useEffect(() => void api<Data>('GET', '/settings').then(setData, setError), []);

  const rotateJoin = async () => {
    const r = await api<RotateResult>('POST', '/settings/rotate/join');
    setData((d) => d && { ...d, joinToken: r.token });
  };
  const rotateAdmin = async () => {
    // The old token no longer opens anything: a tab signed in with it switches at once (an admin
    // with a personal token keeps theirs); a 401 for the old one meanwhile does not sign it out.
    const r = await session.during(
      api<RotateResult>('POST', '/settings/rotate/admin').then((r) => {
        if (me.user === OWNER_USER) {
          setToken(r.token);
          grid.restart();
        }
        return r;
      }),
    );
    setNewAdmin(r.token);
  };

  return (
    <>
      <ErrorText error={error} />
      {data && (
        <dl className="settings card">
          <dt>Coordinator name</dt>
          <dd>{data.name}</dd>
          <dt>Coordinator id</dt>
          <dd className="mono">{data.coordinatorId}</dd>
          <dt>Address</dt>
          <dd className="mono" data-testid="address">
            {data.url}
          </dd>
          <dt>Network</dt>
          <dd data-testid="network">
            Listening on <span className="mono">{data.listen.address}</span> port{' '}
            <span className="mono">{data.listen.port}</span>
            {data.listen.address === '127.0.0.1' || data.listen.address === '::1'
              ? ' (this machine only)'
              : ''}
            {data.interfaces.length > 0 && (
              <ul className="small muted interfaces">
                {data.interfaces.map((i) => (
                  <li key={`${i.name}-${i.address}`}>
                    {i.name}: <span className="mono">{i.address}</span>
                  </li>
                ))}
              </ul>
            )}
            <div className="muted small">
              Change them with <code>colony coordinator --host H --port P</code> (or{' '}
              <code>colony up --lan</code>).
            </div>
          </dd>
          <dt>
            <label htmlFor="join-token">Join token</label>
          </dt>
          <dd>
            <CopyRow id="join-token" value={data.joinToken} />
            <div className="muted small">
              Contributors join with <code>colony contributor --join &lt;token&gt;</code>. Anyone
              with it can take tasks: share it like a password.
            </div>
            <ConfirmButton
              label="Rotate join token"
              confirmLabel="Rotate"
              question="Machines not yet joined will need the new token; joined ones keep working."
              onConfirm={rotateJoin}
            />
          </dd>
          <dt>Admin token</dt>
          <dd>
            {newAdmin && (
              <>
                <label htmlFor="admin-token" className="small">
                  New admin token{me.user === OWNER_USER ? ' (this tab already uses it)' : ''}
                </label>
                <CopyRow id="admin-token" value={newAdmin} />
              </>
            )}
            <ConfirmButton
              label="Rotate admin token"
              confirmLabel="Rotate"
              question="Every other browser and CLI using the old token must sign in again."
              onConfirm={rotateAdmin}
            />
          </dd>
        </dl>
      )}
    </>
  );
}
