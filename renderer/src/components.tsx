// Small pieces shared by the views: state badges, progress bars, the "why" box, job actions.
import { useState } from 'react';
import type { JobSummary } from '../../shared/api.js';
import { api, ApiError } from './api.js';
import { percent } from './format.js';
import { grid } from './store.js';

export function StateBadge({ state }: { state: string }) {
  return <span className={`badge state-${state}`}>{state}</span>;
}

export function ProgressBar({ job }: { job: JobSummary }) {
  const { succeeded, failed, running, cancelled } = job.counts;
  const total = Math.max(1, job.taskCount);
  const done = succeeded + failed;
  const w = (n: number) => `${(n / total) * 100}%`;
  return (
    <div
      className="progress"
      role="progressbar"
      aria-label={`${job.name} progress`}
      aria-valuemin={0}
      aria-valuemax={job.taskCount}
      aria-valuenow={done}
      aria-valuetext={percent(done, job.taskCount)}
    >
      <span className="seg ok" style={{ width: w(succeeded) }} />
      <span className="seg bad" style={{ width: w(failed) }} />
      <span className="seg run" style={{ width: w(running) }} />
      <span className="seg off" style={{ width: w(cancelled) }} />
      <span className="label" data-testid="progress-label">
        {percent(done, job.taskCount)}
      </span>
    </div>
  );
}

/** The API's reason for a job with work and nothing running, in words. */
export function WhyNotRunning({ job }: { job: JobSummary }) {
  if (!job.reason) return null;
  return (
    <div className="why" role="status" data-testid="why">
      <strong>Why isn’t it running?</strong> {job.reason}
    </div>
  );
}

export function ErrorText({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {error instanceof Error ? error.message : JSON.stringify(error)}
    </p>
  );
}

/** Cancel, re-run failed tasks, raise priority: each answers with the job's new summary. */
export function JobActions({ job, compact = false }: { job: JobSummary; compact?: boolean }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const act = async (path: string, body?: unknown) => {
    setBusy(true);
    setError(null);
    try {
      grid.upsertJob(await api<JobSummary>('POST', `/jobs/${job.id}/${path}`, body));
    } catch (err) {
      setError(err instanceof ApiError ? err : new Error(String(err)));
    } finally {
      setBusy(false);
    }
  };
  const live = job.state === 'queued' || job.state === 'running';
  return (
    <div className="actions">
      {live && (
        <button
          type="button"
          className="danger"
          disabled={busy}
          onClick={() => void act('cancel')}
          aria-label={`Cancel ${job.name}`}
        >
          Cancel
        </button>
      )}
      {job.counts.failed > 0 && (
        <button type="button" disabled={busy} onClick={() => void act('retry')}>
          Re-run failed
        </button>
      )}
      {live && (
        <button
          type="button"
          disabled={busy}
          onClick={() => void act('priority', { priority: Math.min(1000, job.priority + 1) })}
          title={`Priority ${job.priority}; higher runs first`}
        >
          {compact ? '▲' : 'Raise priority'}
        </button>
      )}
      <ErrorText error={error} />
    </div>
  );
}

/** A destructive action asked twice: the first click shows what it does and a confirm button. */
export function ConfirmButton({
  label,
  confirmLabel,
  question,
  onConfirm,
  className = 'danger',
}: {
  label: string;
  confirmLabel: string;
  question: string;
  onConfirm: () => Promise<void>;
  className?: string;
}) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  if (!asking)
    return (
      <button type="button" className={className} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  return (
    <span className="confirm" role="group" aria-label={question}>
      <span className="small">{question}</span>{' '}
      <button
        type="button"
        className={className}
        disabled={busy}
        onClick={() => {
          setBusy(true);
          setError(null);
          onConfirm()
            .then(
              () => setAsking(false),
              (err: unknown) => setError(err),
            )
            .finally(() => setBusy(false));
        }}
      >
        {confirmLabel}
      </button>{' '}
      <button type="button" disabled={busy} onClick={() => setAsking(false)}>
        Keep
      </button>
      <ErrorText error={error} />
    </span>
  );
}
