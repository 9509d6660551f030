// Small pieces shared by the views: state badges, progress bars, the "why" box, job actions.
import { useState } from 'react';
import type { JobSummary } from '../../shared/api.js';
import { api, ApiError } from './api.js';
import { percent } from './format.js';
import { jobChangeRefusal, useMe } from './session.js';
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
      {/* A summary read mid-change can count a task running and done at once: never past 100 %. */}
      <span
        className="seg run"
        style={{ width: w(Math.max(0, Math.min(running, total - succeeded - failed - cancelled))) }}
      />
      <span className="seg off" style={{ width: w(cancelled) }} />
      <span className="label" data-testid="progress-label">
        {percent(done, job.taskCount)}
      </span>
    </div>
  );
}

/** The API's reason for a job with work and nothing running, or why it failed as a whole. */
export function WhyNotRunning({ job }: { job: JobSummary }) {
  if (job.error)
    return (
      <div className="why" role="alert" data-testid="job-error">
        <strong>Why did it fail?</strong> {job.error}
      </div>
    );
  if (!job.reason) return null;
  return (
    <div className="why" role="status" data-testid="why">
      <strong>Why isn’t it running?</strong> {job.reason}
    </div>
  );
}

/** Where a person without the role for a page ends up (a typed-in address, an old bookmark). */
export function NotAllowed({ reason }: { reason: string }) {
  return (
    <p className="notice" role="status" data-testid="not-allowed">
      {reason}
    </p>
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

/**
 * Cancel, re-run failed tasks, raise priority: each answers with the job's new summary. Someone
 * whose role cannot change this job sees them disabled, with the reason.
 */
export function JobActions({ job, compact = false }: { job: JobSummary; compact?: boolean }) {
  const refusal = jobChangeRefusal(useMe(), job);
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
  const off = busy || refusal !== null;
  const why = refusal ?? undefined;
  return (
    <div className="actions" data-refusal={why}>
      {live && (
        <button
          type="button"
          className="danger"
          disabled={off}
          title={why}
          onClick={() => void act('cancel')}
          aria-label={`Cancel ${job.name}`}
        >
          Cancel
        </button>
      )}
      {job.counts.failed > 0 && (
        <button type="button" disabled={off} title={why} onClick={() => void act('retry')}>
          Re-run failed
        </button>
      )}
      {live && (
        <button
          type="button"
          disabled={off}
          onClick={() => void act('priority', { priority: Math.min(1000, job.priority + 1) })}
          title={why ?? `Priority ${job.priority}; higher runs first`}
          aria-label={compact ? `Raise priority of ${job.name}` : undefined}
        >
          {compact ? '▲' : 'Raise priority'}
        </button>
      )}
      {refusal && !compact && (live || job.counts.failed > 0) && (
        <span className="muted small" data-testid="action-refusal">
          {refusal}
        </span>
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
