// The jobs list: state, progress, counts, throughput, ETA, owner, priority, and what to do about them.
import { useState } from 'react';
import { JobActions, ProgressBar, StateBadge } from '../components.js';
import { count, eta } from '../format.js';
import { submitRefusal, useMe } from '../session.js';
import { useGrid } from '../store.js';

export function Jobs() {
  const me = useMe();
  const all = useGrid().jobs;
  const [mine, setMine] = useState(false);
  const jobs = mine ? all.filter((j) => (j.owner ?? 'owner') === me.user) : all;
  const refusal = submitRefusal(me);
  return (
    <section aria-labelledby="jobs-title">
      <header className="page-head">
        <h1 id="jobs-title">Jobs</h1>
        <div className="head-tools">
          <div className="filters" role="group" aria-label="Whose jobs">
            <button type="button" aria-pressed={!mine} onClick={() => setMine(false)}>
              Everyone&apos;s
            </button>
            <button type="button" aria-pressed={mine} onClick={() => setMine(true)}>
              Mine
            </button>
          </div>
          {refusal === null && (
            <a className="button primary" href="#/submit">
              Submit a job
            </a>
          )}
        </div>
      </header>
      {jobs.length === 0 ? (
        <p className="empty">
          {mine ? 'None of yours. ' : 'No jobs yet. '}
          {refusal === null ? (
            <>
              <a href="#/submit">Submit one</a> or run <code>colony submit job.yaml</code>.
            </>
          ) : (
            refusal
          )}
        </p>
      ) : (
        <table className="jobs">
          <thead>
            <tr>
              <th scope="col">Job</th>
              <th scope="col">State</th>
              <th scope="col" className="w-progress">
                Progress
              </th>
              <th scope="col" className="num">
                Done
              </th>
              <th scope="col" className="num">
                Failed
              </th>
              <th scope="col" className="num">
                Running
              </th>
              <th scope="col" className="num">
                Tasks/s
              </th>
              <th scope="col">ETA</th>
              <th scope="col">Owner</th>
              <th scope="col" className="num">
                Priority
              </th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {jobs.map((job) => (
              <tr key={job.id} data-job={job.id}>
                <td>
                  <a href={`#/jobs/${job.id}`}>{job.name}</a>
                  <div className="muted small">{job.id}</div>
                  {(job.error ?? job.reason) && (
                    <div className="why-inline">⚠ {job.error ?? job.reason}</div>
                  )}
                </td>
                <td>
                  <StateBadge state={job.state} />
                </td>
                <td>
                  <ProgressBar job={job} />
                </td>
                <td className="num">
                  {count(job.counts.succeeded)} / {count(job.taskCount)}
                </td>
                <td className="num">{count(job.counts.failed)}</td>
                <td className="num">{count(job.counts.running)}</td>
                <td className="num">{job.throughput}</td>
                <td>{job.state === 'running' ? eta(job.etaSec) : '—'}</td>
                <td>{job.owner ?? '—'}</td>
                <td className="num">{job.priority}</td>
                <td>
                  <JobActions job={job} compact />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
