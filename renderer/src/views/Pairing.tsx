// Pairing requests from machines without a join token: approve or deny (docs/trust.md).
import { useEffect, useState } from 'react';
import { api, ApiError } from '../api.js';
import { ErrorText } from '../components.js';
import { ago } from '../format.js';

/** Mirrors `PairingRequest` of the coordinator's credentials.ts until it moves to shared/. */
interface PairingRequest {
  contributorId: string;
  name: string;
  user: string | null;
  fingerprint: string;
  state: 'pending' | 'approved' | 'denied';
  createdAt: number;
}

export function Pairing() {
  const [requests, setRequests] = useState<PairingRequest[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const load = () =>
    api<PairingRequest[]>('GET', '/pairing').then(
      (r) => {
        setRequests(r);
        setError(null);
      },
      (err: unknown) =>
        err instanceof ApiError && err.status === 404 ? setRequests([]) : setError(err),
    );
  // Pairing requests carry no event of their own yet: re-read every few seconds while shown.
  useEffect(() => {
    void load();
    const t = setInterval(() => void load(), 5000);
    return () => clearInterval(t);
  }, []);
  const decide = async (id: string, decision: 'approve' | 'deny') => {
    setBusy(id);
    try {
      await api('POST', `/contributors/${encodeURIComponent(id)}/${decision}`);
      await load();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };
  const pending = (requests ?? []).filter((r) => r.state === 'pending');
  return (
    <section className="card pairing" aria-labelledby="pair-title" data-testid="pairing">
      <h2 id="pair-title">Pairing requests</h2>
      <ErrorText error={error} />
      {pending.length === 0 ? (
        <p className="muted">
          None waiting. Machines that ask to join without a token show up here to approve or deny;
          or give them the join token from <a href="#/settings">Settings</a>.
        </p>
      ) : (
        <ul className="pairings">
          {pending.map((r) => (
            <li key={r.contributorId} data-pairing={r.contributorId}>
              <div>
                <strong>{r.name}</strong>
                {r.user ? ` (${r.user})` : ''}{' '}
                <span className="muted small">asked {ago(r.createdAt)}</span>
                <div className="mono small muted">key {r.fingerprint.slice(0, 16)}…</div>
              </div>
              <div className="actions">
                <button
                  type="button"
                  className="primary"
                  disabled={busy !== null}
                  onClick={() => void decide(r.contributorId, 'approve')}
                >
                  Approve
                </button>
                <button
                  type="button"
                  className="danger"
                  disabled={busy !== null}
                  onClick={() => void decide(r.contributorId, 'deny')}
                >
                  Deny
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
