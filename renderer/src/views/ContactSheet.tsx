// A job's pictures at a glance: every image output of its succeeded tasks, by task number.
import { useEffect, useState } from 'react';
import type { JobSummary, TaskRow } from '../../../shared/api.js';
import { api } from '../api.js';
import { ErrorText } from '../components.js';
import { imageType, outputFilesOf, Thumbnail, type OutputFile } from './output-files.js';

const PAGE = 200;

interface Frame {
  idx: number;
  file: OutputFile;
}

function framesOf(tasks: TaskRow[]): Frame[] {
  return tasks.flatMap((t) =>
    outputFilesOf(t.output)
      .filter((f) => imageType(f.name) !== null)
      .map((file) => ({ idx: t.idx, file })),
  );
}

export function ContactSheet({
  job,
  current,
  onOpen,
}: {
  job: JobSummary;
  current: number | null;
  onOpen: (idx: number) => void;
}) {
  const [tasks, setTasks] = useState<TaskRow[]>([]);
  const [total, setTotal] = useState(0);
  const [wanted, setWanted] = useState(PAGE);
  const [error, setError] = useState<unknown>(null);
  const succeeded = job.counts.succeeded;
  useEffect(() => {
    if (job.runtime !== 'command' || succeeded === 0) return;
    let stopped = false;
    // Tasks finish in bursts: fetch once things settle for a moment, not on every task.
    const timer = setTimeout(() => {
      void (async () => {
        try {
          const all: TaskRow[] = [];
          let seen = 0;
          for (let offset = 0; offset < wanted; offset += PAGE) {
            const page = await api<{ total: number; tasks: TaskRow[] }>(
              'GET',
              `/jobs/${job.id}/tasks?state=succeeded&offset=${offset}&limit=${PAGE}`,
            );
            all.push(...page.tasks);
            seen = page.total;
            if (page.tasks.length < PAGE) break;
          }
          if (stopped) return;
          setTasks(all);
          setTotal(seen);
          setError(null);
        } catch (err) {
          if (!stopped) setError(err);
        }
      })();
    }, 300);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [job.id, job.runtime, succeeded, wanted]);
  const frames = framesOf(tasks);
  if (error) return <ErrorText error={error} />;
  if (frames.length === 0) return null;
  return (
    <section className="card" aria-labelledby="sheet-title" data-testid="contact-sheet">
      <h2 id="sheet-title">
        Contact sheet{' '}
        <span className="muted">
          ({frames.length} pictures from {tasks.length} of {total} succeeded tasks)
        </span>
      </h2>
      <div className="contact-sheet">
        {frames.map(({ idx, file }) => (
          <figure key={`${idx}:${file.name}`} data-frame={idx}>
            <button
              type="button"
              onClick={() => onOpen(idx)}
              aria-current={current === idx ? 'true' : undefined}
              aria-label={`Open task ${idx} (${file.name})`}
            >
              <Thumbnail file={file} label={`Task ${idx}: ${file.name}`} />
              <figcaption>
                Task {idx}
                <br />
                <span className="muted">{file.name}</span>
              </figcaption>
            </button>
          </figure>
        ))}
      </div>
      {tasks.length < total && (
        <button type="button" onClick={() => setWanted((w) => w + PAGE)}>
          Show {Math.min(PAGE, total - tasks.length)} more tasks
        </button>
      )}
    </section>
  );
}
