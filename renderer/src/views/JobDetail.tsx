// One job: summary, why it waits, actions, downloads, a results preview, its pictures and the task table.
import { useEffect, useState } from 'react';
import type { JobSummary, TaskRow } from '../../../shared/api.js';
import { ATTEMPT_STATES } from '../../../shared/states.js';
import { api, download } from '../api.js';
import { ErrorText, JobActions, ProgressBar, StateBadge, WhyNotRunning } from '../components.js';
import { clock, count, eta, short } from '../format.js';
import { go } from '../router.js';
import { grid, useJob } from '../store.js';
import { ContactSheet } from './ContactSheet.js';
import { TaskDetail } from './TaskDetail.js';
import { TaskTable } from './TaskTable.js';

function ResultsPreview({ job }: { job: JobSummary }) {
  const [rows, setRows] = useState<TaskRow[]>([]);
  const done = job.counts.succeeded > 0;
  const final = job.state !== 'running' && job.state !== 'queued';
  useEffect(() => {
    if (!done) return;
    void api<{ tasks: TaskRow[] }>('GET', `/jobs/${job.id}/tasks?state=succeeded&limit=5`).then(
      (l) => setRows(l.tasks),
      () => setRows([]),
    );
    // Refreshed when results first appear and when the job ends, not on every task.
  }, [job.id, done, final]);
  if (rows.length === 0) return null;
  return (
    <details className="card" open={final}>
      <summary>Results preview (first {rows.length})</summary>
      <pre className="json" data-testid="results-preview">
        {rows.map((r) => `${r.idx}: ${short(r.output, 200)}`).join('\n')}
      </pre>
    </details>
  );
}

function Downloads({ job }: { job: JobSummary }) {
  const [error, setError] = useState<unknown>(null);
  const save = (path: string, file: string) =>
    void download(path, file).then(() => setError(null), setError);
  return (
    <div className="actions">
      <button
        type="button"
        onClick={() => save(`/jobs/${job.id}/results`, `${job.name}-${job.id}.ndjson`)}
      >
        Download results (NDJSON)
      </button>
      {job.runtime === 'command' && (
        <button
          type="button"
          onClick={() => save(`/jobs/${job.id}/outputs.zip`, `${job.name}-${job.id}-outputs.zip`)}
        >
          Download output files (zip)
        </button>
      )}
      <ErrorText error={error} />
    </div>
  );
}

export function JobDetail({ id, task }: { id: string; task: number | null }) {
  const job = useJob(id);
  const [filter, setFilter] = useState<string | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    // Older jobs may not be in the live list: fetch this one directly.
    if (!job) void api<JobSummary>('GET', `/jobs/${id}`).then((j) => grid.upsertJob(j), setError);
  }, [id, job]);
  if (!job) return error ? <ErrorText error={error} /> : <p className="muted">Loading…</p>;
  const stateCount = (s: string): number | null => {
    const c = job.counts;
    if (s === 'pending') return c.pending;
    if (s === 'running') return c.running;
    if (s === 'succeeded' || s === 'failed' || s === 'cancelled') return c[s];
    return null;
  };
  return (
    <div className={`job-detail ${task !== null ? 'with-panel' : ''}`}>
      <section aria-labelledby="job-title" className="job-main">
        <header className="page-head">
          <h1 id="job-title" data-testid="job-title">
            {job.name} <StateBadge state={job.state} />
          </h1>
          <JobActions job={job} />
        </header>
        <ProgressBar job={job} />
        <dl className="stats">
          <div>
            <dt>Tasks</dt>
            <dd>{count(job.taskCount)}</dd>
          </div>
          <div>
            <dt>Done</dt>
            <dd data-testid="done-count">{count(job.counts.succeeded)}</dd>
          </div>
          <div>
            <dt>Failed</dt>
            <dd>{count(job.counts.failed)}</dd>
          </div>
          <div>
            <dt>Running</dt>
            <dd data-testid="running-count">{count(job.counts.running)}</dd>
          </div>
          <div>
            <dt>Tasks/s</dt>
            <dd>{job.throughput}</dd>
          </div>
          <div>
            <dt>ETA</dt>
            <dd>{job.state === 'running' ? eta(job.etaSec) : '—'}</dd>
          </div>
          <div>
            <dt>Priority</dt>
            <dd>{job.priority}</dd>
          </div>
          <div>
            <dt>Runtime</dt>
            <dd>{job.runtime}</dd>
          </div>
          <div>
            <dt>Submitted</dt>
            <dd>{clock(job.createdAt)}</dd>
          </div>
          <div>
            <dt>Owner</dt>
            <dd>{job.owner ?? '—'}</dd>
          </div>
        </dl>
        <WhyNotRunning job={job} />
        <Downloads job={job} />
        <ResultsPreview job={job} />
        <ContactSheet
          key={id}
          job={job}
          current={task}
          onOpen={(idx) => go(`/jobs/${id}/tasks/${idx}`)}
        />
        <div className="filters" role="group" aria-label="Filter tasks by state">
          {[undefined, ...ATTEMPT_STATES].map((s) => {
            const n = s ? stateCount(s) : job.taskCount;
            return (
              <button
                type="button"
                key={s ?? 'all'}
                aria-pressed={filter === s}
                onClick={() => setFilter(s)}
              >
                {s ?? 'all'}
                {n !== null ? ` (${count(n)})` : ''}
              </button>
            );
          })}
        </div>
        <TaskTable job={job} filter={filter} onOpen={(idx) => go(`/jobs/${id}/tasks/${idx}`)} />
      </section>
      {task !== null && (
        <TaskDetail key={`${id}:${task}`} jobId={id} idx={task} onClose={() => go(`/jobs/${id}`)} />
      )}
    </div>
  );
}
