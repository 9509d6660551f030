// Coordinator settings: name, address, and the join token that contributors need, ready to copy.
import { useEffect, useState } from 'react';
import type { Settings as Data } from '../../../shared/gui-api.js';
import { api } from '../api.js';
import { ErrorText } from '../components.js';

export function Settings() {
  const [data, setData] = useState<Data | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [copied, setCopied] = useState(false);
  useEffect(() => void api<Data>('GET', '/settings').then(setData, setError), []);
  const copy = (text: string) =>
    void navigator.clipboard.writeText(text).then(
      () => setCopied(true),
      () => setCopied(false),
    );
  return (
    <section aria-labelledby="st-title">
      <h1 id="st-title">Settings</h1>
      <ErrorText error={error} />
      {data && (
        <dl className="settings card">
          <dt>Coordinator name</dt>
          <dd>{data.name}</dd>
          <dt>Coordinator id</dt>
          <dd className="mono">{data.coordinatorId}</dd>
          <dt>Address</dt>
          <dd className="mono">{data.url}</dd>
          <dt>
            <label htmlFor="join-token">Join token</label>
          </dt>
          <dd>
            <div className="copy-row">
              <input
                id="join-token"
                className="mono"
                readOnly
                value={data.joinToken}
                onFocus={(e) => e.target.select()}
              />
              <button type="button" onClick={() => copy(data.joinToken)}>
                {copied ? 'Copied' : 'Copy'}
              </button>
            </div>
            <div className="muted small">
              Contributors join with <code>colony contributor --join &lt;token&gt;</code>. Anyone
              with it can take tasks: share it like a password.
            </div>
          </dd>
          <dt>Rotate tokens</dt>
          <dd className="muted">
            {/* Rotation from the GUI needs a route that the trust issue will add. */}
            Not from the GUI yet: run <code>colony token join --rotate</code> or{' '}
            <code>colony token admin --rotate</code> on the coordinator.
          </dd>
        </dl>
      )}
    </section>
  );
}
