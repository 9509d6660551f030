// Submit from a job file and its folder: pick or drop them, see the file's fields with their
// errors, a preview and the task count (the coordinator's dry-run), then submit.
import { issueText } from '../../../shared/validate.js';
import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import type { JobSummary } from '../../../shared/api.js';
import type { FieldIssue } from '../../../shared/errors.js';
import type { DryRun } from '../../../shared/gui-api.js';
import { findJobFile } from '../../../shared/job-folder.js';
import type { JobFile, JobSpecInput } from '../../../shared/job-file.js';
import { api, ApiError } from '../api.js';
import { ErrorText } from '../components.js';
import { count, short } from '../format.js';
import { go } from '../router.js';
import { grid } from '../store.js';
import {
  buildSpec,
  folderFromDrop,
  folderFromInput,
  readJobFile,
  type Folder,
  type ReadJobFile,
} from './job-folder.js';
import { Preview } from './submit-parts.js';
import { issuesOf } from './submit-fields.js';

export interface LoadedJobFile extends ReadJobFile {
  name: string;
  folder: Folder;
}

/** The drop zone with a folder picker and a job file picker. */
export function JobFilePicker({
  loaded,
  onLoaded,
  onClear,
}: {
  loaded: LoadedJobFile | null;
  onLoaded: (l: LoadedJobFile) => void;
  onClear: () => void;
}) {
  const [over, setOver] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const useFolder = async (folder: Folder, jobFile?: File) => {
    setError(null);
    const path = jobFile ? undefined : findJobFile(folder.keys());
    const file = jobFile ?? (path ? folder.get(path) : undefined);
    if (!file)
      return setError(
        'No job file found: the folder needs job.yaml (or job.json) at its top, or pick the job file too.',
      );
    const name = path ?? file.name;
    onLoaded({ name, folder, ...(await readJobFile(name, await file.text())) });
  };
  const fail = (err: unknown) => setError(err instanceof Error ? err.message : String(err));
  return (
    <div
      className={`card dropzone ${over ? 'over' : ''}`}
      data-testid="job-dropzone"
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        folderFromDrop(e.dataTransfer).then((f) => useFolder(f), fail);
      }}
    >
      {loaded ? (
        <p>
          Job file <strong className="mono">{loaded.name}</strong>
          {loaded.folder.size > 0 ? ` in a folder of ${count(loaded.folder.size)} files` : ''}.{' '}
          <button type="button" onClick={onClear}>
            Use the form instead
          </button>
        </p>
      ) : (
        <p>
          Drop a job folder (with <code>job.yaml</code>) or a job file here, or pick one — or fill
          in the form below.
        </p>
      )}
      <div className="pickers">
        <label>
          Job folder{' '}
          <input
            type="file"
            ref={(el) => el?.setAttribute('webkitdirectory', '')}
            onChange={(e) => {
              const files = [...(e.target.files ?? [])];
              if (files.length) useFolder(folderFromInput(files)).catch(fail);
            }}
          />
        </label>
        <label>
          Job file{' '}
          <input
            type="file"
            accept=".yaml,.yml,.json"
            onChange={(e) => {
              const file = e.target.files?.[0];
              if (file) useFolder(loaded?.folder ?? new Map<string, File>(), file).catch(fail);
            }}
          />
        </label>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

const FIELDS: { field: string; label: string; value: (j: JobFile) => unknown }[] = [
  { field: 'name', label: 'Name', value: (j) => j.name },
  { field: 'runtime', label: 'Runtime', value: (j) => j.runtime },
  { field: 'module', label: 'Module', value: (j) => j.module },
  { field: 'command', label: 'Command', value: (j) => j.command },
  { field: 'tasks', label: 'Tasks', value: (j) => j.tasks },
  { field: 'files', label: 'Files', value: (j) => j.files },
  { field: 'outputs', label: 'Outputs', value: (j) => j.outputs },
  { field: 'requirements', label: 'Requirements', value: (j) => j.requirements },
  { field: 'limits', label: 'Limits', value: (j) => j.limits },
  { field: 'priority', label: 'Priority', value: (j) => j.priority },
];

/** Validate, upload and dry-run the loaded job file; errors stay on the field that caused them. */
function useJobFile(loaded: LoadedJobFile): {
  job: JobFile | null;
  spec: JobSpecInput | null;
  dry: DryRun | null;
  issues: FieldIssue[];
  busy: boolean;
} {
  const { parsed } = loaded;
  const [state, setState] = useState<{
    spec: JobSpecInput | null;
    dry: DryRun | null;
    issues: FieldIssue[];
    busy: boolean;
  }>({ spec: null, dry: null, issues: [], busy: true });
  useEffect(() => {
    let live = true;
    const done = (s: Partial<typeof state>) =>
      live && setState({ spec: null, dry: null, issues: [], busy: false, ...s });
    if (!parsed.job) {
      done({ issues: parsed.issues });
      return;
    }
    setState({ spec: null, dry: null, issues: [], busy: true });
    (async () => {
      const built = await buildSpec(parsed.job, loaded.folder);
      if (!built.spec) return done({ issues: built.issues });
      const dry = await api<DryRun>('POST', '/jobs/dry-run', built.spec);
      done({ spec: built.spec, dry });
    })().catch((err: unknown) =>
      done({
        issues:
          err instanceof ApiError && err.issues.length
            ? err.issues
            : [{ field: '', message: err instanceof Error ? err.message : String(err) }],
      }),
    );
    return () => {
      live = false;
    };
  }, [parsed, loaded]);
  return { job: parsed.job, ...state };
}

export function JobFileSubmit({ loaded, top }: { loaded: LoadedJobFile; top: ReactNode }) {
  const { job, spec, dry, issues: found, busy } = useJobFile(loaded);
  const [submitIssues, setSubmitIssues] = useState<FieldIssue[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [sending, setSending] = useState(false);
  useEffect(() => setSubmitIssues([]), [loaded]);
  const issues = [...found, ...submitIssues];
  const shown = loaded.raw;
  const unplaced = issues.filter((i) => !FIELDS.some((f) => issuesOf([i], f.field).length));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!spec) return;
    setSending(true);
    setError(null);
    try {
      const created = await api<JobSummary>('POST', '/jobs', spec);
      grid.upsertJob(created);
      go(`/jobs/${created.id}`);
    } catch (err) {
      if (err instanceof ApiError && err.issues.length) setSubmitIssues(err.issues);
      else setError(err);
    } finally {
      setSending(false);
    }
  };

  return (
    <form className="submit" onSubmit={(e) => void submit(e)} aria-labelledby="submit-title">
      <header className="page-head">
        <h1 id="submit-title">Submit a job</h1>
        <button type="submit" className="primary" disabled={!spec || sending || busy}>
          {sending ? 'Submitting…' : `Submit${dry ? ` ${count(dry.taskCount)} tasks` : ''}`}
        </button>
      </header>
      {top}
      {unplaced.length > 0 && (
        <div className="error" role="alert" data-testid="job-file-errors">
          {unplaced.map(issueText).join('; ')}
        </div>
      )}
      <ErrorText error={error} />
      <div className="submit-grid">
        <fieldset className="job-file-fields">
          <legend>{loaded.name}</legend>
          {busy && <p className="muted small">Checking and uploading…</p>}
          {FIELDS.map(({ field, label, value }) => {
            const mine = issuesOf(issues, field);
            const v = job ? value(job) : shown[field];
            if (v === undefined && mine.length === 0) return null;
            return (
              <div
                key={field}
                className={`field ${mine.length ? 'invalid' : ''}`}
                data-field={field}
              >
                <div className="label">{label}</div>
                <div className="mono small">{v === undefined ? '—' : short(v, 120)}</div>
                {mine.length > 0 && (
                  <div className="field-error" role="alert">
                    {mine
                      .map((i) => (i.field === field ? i.message : `${i.field}: ${i.message}`))
                      .join('; ')}
                  </div>
                )}
              </div>
            );
          })}
          {spec && (
            <p className="muted small" data-testid="uploaded">
              Uploaded {spec.module ? 'the module' : 'no module'}
              {spec.files?.length ? ` and ${count(spec.files.length)} staged files` : ''}
              {spec.tasks.inputsBlob ? ' and the inputs file' : ''} by sha256.
            </p>
          )}
        </fieldset>
        <Preview dry={dry} />
      </div>
    </form>
  );
}
