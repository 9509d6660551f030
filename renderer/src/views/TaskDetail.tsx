// One task: input, output or error, every attempt, the live progress and log of a running one,
// and once it ended its kept stdout, stderr and ctx.log and its output files.
import { useEffect, useRef, useState } from 'react';
import type { TaskLogs } from '../../../shared/api.js';
import type { TaskDetail as Detail } from '../../../shared/gui-api.js';
import { api } from '../api.js';
import { ErrorText, StateBadge } from '../components.js';
import { clock, duration } from '../format.js';
import { grid, useContributorNames } from '../store.js';
import { OutputFiles, outputFilesOf } from './output-files.js';

const STREAM_TITLES = { stdout: 'stdout', stderr: 'stderr', log: 'ctx.log' } as const;

/** An ended attempt's kept output, as printed; `key` (attempt and state) says when to fetch again. */
function EndedLogs({ jobId, idx, attempt }: { jobId: string; idx: number; attempt: number }) {
  const [logs, setLogs] = useState<TaskLogs | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let stopped = false;
    api<TaskLogs>('GET', `/jobs/${jobId}/tasks/${idx}/logs?attempt=${attempt}`).then(
      (l) => !stopped && (setLogs(l), setError(null)),
      (err: unknown) => !stopped && setError(err),
    );
    return () => {
      stopped = true;
    };
  }, [jobId, idx, attempt]);
  if (error) return <ErrorText error={error} />;
  if (!logs) return <p className="muted">Loading the output…</p>;
  const names = (['stdout', 'stderr', 'log'] as const).filter((n) => logs.streams[n]);
  if (names.length === 0)
    return (
      <p className="muted" data-testid="no-logs">
        Attempt {logs.attempt} printed nothing and logged nothing.
      </p>
    );
  return (
    <>
      {names.map((n) => {
        const s = logs.streams[n];
        if (!s) return null;
        return (
          <div key={n}>
            <h4>
              {STREAM_TITLES[n]}
              {s.dropped > 0 && (
                <span className="muted">
                  {' '}
                  (the first {s.dropped.toLocaleString()} bytes not kept)
                </span>
              )}
            </h4>
            <pre className={`log ${n === 'stderr' ? 'error' : ''}`} data-testid={`log-${n}`}>
              {s.text.length ? s.text : '(empty)'}
            </pre>
          </div>
        );
      })}
    </>
  );
}

/** The output without what is shown on its own (files; a command's stdout, shown as printed). */
function outputShown(output: unknown, stdoutKept: boolean): unknown {
  if (typeof output !== 'object' || output === null || Array.isArray(output)) return output;
  const rest: Record<string, unknown> = { ...(output as Record<string, unknown>) };
  delete rest.files;
  if (stdoutKept) delete rest.stdout;
  return rest;
}

function useTaskDetail(jobId: string, idx: number): { detail: Detail | null; error: unknown } {
  const [detail, setDetail] = useState<Detail | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      clearTimeout(timer);
      try {
        const d = await api<Detail>('GET', `/jobs/${jobId}/tasks/${idx}`);
        if (stopped) return;
        setDetail(d);
        grid.taskRow(jobId, d.task);
        setError(null);
        // Progress and log lines carry no event: follow a running attempt once a second.
        if (d.live.length > 0) timer = setTimeout(() => void load(), 1000);
      } catch (err) {
        if (!stopped) setError(err);
      }
    };
    void load();
    const off = grid.onTask(jobId, (i) => {
      if (i === idx) void load();
    });
    return () => {
      stopped = true;
      clearTimeout(timer);
      off();
    };
  }, [jobId, idx]);
  return { detail, error };
}

export function TaskDetail({
  jobId,
  idx,
  onClose,
}: {
  jobId: string;
  idx: number;
  onClose: () => void;
}) {
  const { detail, error } = useTaskDetail(jobId, idx);
  const names = useContributorNames();
  const panel = useRef<HTMLElement>(null);
  useEffect(() => panel.current?.focus(), [idx]);
  const task = detail?.task;
  const [attempt, setAttempt] = useState<number | null>(null);
  useEffect(() => setAttempt(null), [jobId, idx]);
  const lastAttempt = task?.attempts[task.attempts.length - 1];
  const shownAttempt = attempt ?? lastAttempt?.number ?? 1;
  return (
    <aside
      className="panel"
      ref={panel}
      tabIndex={-1}
      aria-label={`Task ${idx}`}
      data-testid="task-detail"
      onKeyDown={(e) => e.key === 'Escape' && onClose()}
    >
      <header className="page-head">
        <h2>
          Task {idx} {task && <StateBadge state={task.state} />}
        </h2>
        <button type="button" onClick={onClose} aria-label="Close task details">
          ✕
        </button>
      </header>
      <ErrorText error={error} />
      {task && (
        <>
          {detail.live.map((a) => (
            <div className="card live" key={a.attemptId} data-testid="live-attempt">
              <div>
                Running on <strong>{a.contributorName ?? a.contributorId}</strong> since{' '}
                {clock(a.startedAt)}
                {a.suspended && <span className="badge state-lost"> suspended by owner</span>}
              </div>
              <progress max={1} value={a.progress ?? 0} aria-label="Attempt progress" />{' '}
              {a.progress !== null ? `${Math.round(a.progress * 100)} %` : ''} {a.message}
              <h3>Log</h3>
              <pre className="log" data-testid="live-log">
                {a.logs.length ? a.logs.join('\n') : '(no output yet)'}
              </pre>
            </div>
          ))}
          <h3>Input</h3>
          <pre className="json">{JSON.stringify(task.input, null, 2)}</pre>
          {task.output !== undefined && (
            <>
              <h3>Output</h3>
              <pre className="json" data-testid="task-output">
                {JSON.stringify(outputShown(task.output, !!lastAttempt?.logs?.stdout), null, 2)}
              </pre>
              <OutputFiles files={outputFilesOf(task.output)} />
            </>
          )}
          {task.error && (
            <>
              <h3>Error</h3>
              <pre className="json error">{task.error}</pre>
            </>
          )}
          {detail.live.length === 0 && lastAttempt && (
            <>
              <h3>
                Output of attempt {shownAttempt}
                {task.attempts.length > 1 && (
                  <select
                    aria-label="Attempt shown"
                    value={shownAttempt}
                    onChange={(e) => setAttempt(Number(e.target.value))}
                  >
                    {task.attempts.map((a) => (
                      <option key={a.number} value={a.number}>
                        attempt {a.number} ({a.state})
                      </option>
                    ))}
                  </select>
                )}
              </h3>
              <EndedLogs
                key={`${jobId}:${idx}:${shownAttempt}:${lastAttempt.state}`}
                jobId={jobId}
                idx={idx}
                attempt={shownAttempt}
              />
            </>
          )}
          <h3>Attempts</h3>
          {task.attempts.length === 0 ? (
            <p className="muted">Not assigned yet.</p>
          ) : (
            <table className="attempts">
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">State</th>
                  <th scope="col">Contributor</th>
                  <th scope="col">Start</th>
                  <th scope="col">Wall</th>
                  <th scope="col">CPU</th>
                  <th scope="col">Exit</th>
                  <th scope="col">Error</th>
                </tr>
              </thead>
              <tbody>
                {task.attempts.map((a) => (
                  <tr key={a.attemptId}>
                    <td>{a.number}</td>
                    <td>
                      <StateBadge state={a.state} />
                    </td>
                    <td>
                      {a.contributorId ? (names.get(a.contributorId) ?? a.contributorId) : '—'}
                    </td>
                    <td>{clock(a.assignedAt)}</td>
                    <td>{duration(a.wallMs)}</td>
                    <td>{duration(a.cpuMs)}</td>
                    <td>{a.exitCode ?? '—'}</td>
                    <td className="error">{a.error ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </aside>
  );
}
