// The contributor panel: this computer's part in the grid — the coordinator it serves, what runs
// now and how far along, CPU given today and in total, pause/resume, and the owner's settings.
import { useCallback, useEffect, useState } from 'react';
import type { SnoozeKind } from '../../../shared/owner-policy.js';
import type { PanelSensors, PanelStatus } from '../../../shared/panel-api.js';
import { ErrorText, StateBadge } from '../components.js';
import { clock, duration } from '../format.js';
import { panelApi, panelToken } from '../panel-api.js';
import { PolicySettings } from './panel-settings.js';

const PAUSES: { kind: SnoozeKind; label: string }[] = [
  { kind: '1h', label: 'Pause for 1 hour' },
  { kind: 'until-tomorrow', label: 'Pause until tomorrow' },
  { kind: 'until-resumed', label: 'Pause until I resume' },
];

/** What the owner policy sees, each line saying why where this computer cannot tell. */
function Sensors({ s }: { s: PanelSensors }) {
  const p = s.programs;
  const f = s.fullScreen;
  const t = s.temperature;
  return (
    <>
      <dt>Busy programs</dt>
      <dd data-testid="sensor-programs">
        {'unknown' in p
          ? `cannot tell: ${p.unknown}`
          : p.busy.length
            ? `running: ${p.busy.join(', ')}`
            : 'none of the listed programs is running'}
      </dd>
      <dt>Full-screen window</dt>
      <dd data-testid="sensor-fullscreen">
        {'unknown' in f ? `cannot tell: ${f.unknown}` : f.on ? 'one is in front' : 'none in front'}
      </dd>
      <dt>CPU temperature</dt>
      <dd data-testid="sensor-temperature">
        {'unknown' in t ? `cannot tell: ${t.unknown}` : `${Math.round(t.celsius)} °C (${t.sensor})`}
      </dd>
    </>
  );
}

function usePanelStatus(): [PanelStatus | null, unknown, () => void] {
  const [status, setStatus] = useState<PanelStatus | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => {
    panelApi<PanelStatus>('GET', '/status').then(
      (s) => {
        setStatus(s);
        setError(null);
      },
      (err: unknown) => setError(err),
    );
  }, []);
  useEffect(() => {
    load();
    // Loopback and small: a short poll keeps progress bars moving without an event stream.
    const t = setInterval(load, 1500);
    return () => clearInterval(t);
  }, [load]);
  return [status, error, load];
}

export function Panel() {
  const [status, error, reload] = usePanelStatus();
  const [actError, setActError] = useState<unknown>(null);
  if (!panelToken())
    return (
      <main className="owner-panel" id="main">
        <h1>Colony contributor</h1>
        <p className="error" role="alert">
          Open the address that <code>colony contributor</code> prints (it carries this computer’s
          panel token).
        </p>
      </main>
    );
  const act = (path: string, body?: unknown) => {
    setActError(null);
    panelApi('POST', path, body).then(reload, setActError);
  };
  const policy = status?.policy;
  return (
    <main className="owner-panel" id="main">
      <header className="page-head">
        <h1>This computer in the grid</h1>
      </header>
      <ErrorText error={error} />
      {status && (
        <div className="panel-grid">
          <section className="card" aria-labelledby="pn-state">
            <h2 id="pn-state">Now</h2>
            <p data-testid="panel-state">
              <StateBadge state={policy?.state ?? (status.running.length ? 'working' : 'online')} />{' '}
              {policy?.reason ?? 'No owner policy: works whenever asked'}
              {policy?.until ? ` (until ${clock(policy.until)})` : ''}
            </p>
            <div className="actions">
              {policy?.state === 'paused' && status.snooze ? (
                <button type="button" onClick={() => act('/resume')}>
                  Resume
                </button>
              ) : (
                PAUSES.map((p) => (
                  <button
                    key={p.kind}
                    type="button"
                    onClick={() => act('/pause', { kind: p.kind })}
                  >
                    {p.label}
                  </button>
                ))
              )}
            </div>
            <ErrorText error={actError} />
            <dl className="settings">
              <dt>Coordinator</dt>
              <dd data-testid="panel-coordinator">
                <span className="mono">{status.coordinator.url}</span>{' '}
                <StateBadge state={status.coordinator.connected ? 'online' : 'offline'} />
                {status.coordinator.id && (
                  <div className="muted small mono">{status.coordinator.id}</div>
                )}
              </dd>
              <dt>This contributor</dt>
              <dd className="mono small">{status.contributorId}</dd>
              <dt>Workers</dt>
              <dd>
                {status.slots.capacity - status.slots.free} busy of {status.slots.capacity} (up to{' '}
                {status.slots.max})
              </dd>
              {status.whenActive && (
                <>
                  <dt>Mode</dt>
                  <dd data-testid="panel-mode">{status.whenActive}</dd>
                </>
              )}
              {status.sensors && <Sensors s={status.sensors} />}
              <dt>CPU given today</dt>
              <dd data-testid="cpu-today">{duration(status.cpu.todayMs)}</dd>
              <dt>CPU given in total</dt>
              <dd data-testid="cpu-total">{duration(status.cpu.totalMs)}</dd>
            </dl>
          </section>
          <section className="card" aria-labelledby="pn-tasks">
            <h2 id="pn-tasks">Tasks running here</h2>
            {status.running.length === 0 ? (
              <p className="muted">None right now.</p>
            ) : (
              <ul className="panel-tasks">
                {status.running.map((r) => (
                  <li key={r.attemptId} data-attempt={r.attemptId}>
                    <span className="mono small">
                      {r.jobId} #{r.idx}
                    </span>{' '}
                    <span className="muted small">{r.phase}</span>
                    <progress
                      max={1}
                      value={r.progress ?? 0}
                      aria-label={`task ${r.idx} of ${r.jobId}`}
                    />
                    {r.message && <span className="muted small"> {r.message}</span>}
                  </li>
                ))}
              </ul>
            )}
          </section>
          <PolicySettings />
        </div>
      )}
    </main>
  );
}
