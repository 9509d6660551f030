// Submit a job from a form: runtime and module or command, inputs, files, requirements, limits;
// a dry-run on every change previews the first tasks, the count, and who could run it.
import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { issueText } from '../../../shared/validate.js';
import type { JobSummary } from '../../../shared/api.js';
import type { FieldIssue } from '../../../shared/errors.js';
import type { DryRun } from '../../../shared/gui-api.js';
import { api, ApiError } from '../api.js';
import { ErrorText, NotAllowed } from '../components.js';
import { count, short } from '../format.js';
import { go } from '../router.js';
import { submitRefusal, useMe } from '../session.js';
import { grid } from '../store.js';
import { Axes, Preview } from './submit-parts.js';
import { Requirements } from './submit-requirements.js';
import { BlobPicker, Field, issuesOf } from './submit-fields.js';
import { EMPTY_FORM, toSpec, type SubmitForm } from './submit-spec.js';
import { JobFilePicker, JobFileSubmit, type LoadedJobFile } from './SubmitJobFile.js';

const SHOWN_FIELDS = [
  'name',
  'runtime',
  'module',
  'command',
  'tasks',
  'files',
  'outputs',
  'requirements',
  'limits',
  'priority',
];

function useDryRun(form: SubmitForm): { dry: DryRun | null; issues: FieldIssue[] } {
  const [dry, setDry] = useState<DryRun | null>(null);
  const [issues, setIssues] = useState<FieldIssue[]>([]);
  useEffect(() => {
    const timer = setTimeout(() => {
      const built = toSpec(form);
      if (!built.spec) {
        setIssues(built.issues);
        setDry(null);
        return;
      }
      api<DryRun>('POST', '/jobs/dry-run', built.spec).then(
        (d) => {
          setDry(d);
          setIssues([]);
        },
        (err: unknown) => {
          setDry(null);
          setIssues(
            err instanceof ApiError && err.issues.length
              ? err.issues
              : [{ field: '', message: err instanceof Error ? err.message : String(err) }],
          );
        },
      );
    }, 400);
    return () => clearTimeout(timer);
  }, [form]);
  return { dry, issues };
}

/** A job file and its folder, when one is picked or dropped; the form otherwise. */
export function Submit() {
  const refusal = submitRefusal(useMe());
  if (refusal !== null)
    return (
      <section aria-labelledby="submit-title">
        <h1 id="submit-title">Submit a job</h1>
        <NotAllowed reason={refusal} />
      </section>
    );
  return <SubmitAllowed />;
}

function SubmitAllowed() {
  const [loaded, setLoaded] = useState<LoadedJobFile | null>(null);
  const top = (
    <JobFilePicker loaded={loaded} onLoaded={setLoaded} onClear={() => setLoaded(null)} />
  );
  return loaded ? <JobFileSubmit loaded={loaded} top={top} /> : <FormSubmit top={top} />;
}

function FormSubmit({ top }: { top: ReactNode }) {
  const [form, setForm] = useState<SubmitForm>(EMPTY_FORM);
  const [touched, setTouched] = useState<Set<string>>(new Set());
  const [submitIssues, setSubmitIssues] = useState<FieldIssue[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const { dry, issues: dryIssues } = useDryRun(form);
  const set = <K extends keyof SubmitForm>(key: K, value: SubmitForm[K]) => {
    setForm((f) => ({ ...f, [key]: value }));
    setTouched((t) => new Set(t).add(key));
    setSubmitIssues(null);
  };
  // Before a submit, only fields someone has touched complain; after one, all of them.
  const issues =
    submitIssues ??
    dryIssues.filter((i) => [...touched].some((t) => i.field.startsWith(fieldOf(t))));
  const unplaced = issues.filter((i) => !SHOWN_FIELDS.some((f) => issuesOf([i], f).length));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const built = toSpec(form);
    if (!built.spec) return setSubmitIssues(built.issues);
    setBusy(true);
    setError(null);
    try {
      const job = await api<JobSummary>('POST', '/jobs', built.spec);
      grid.upsertJob(job);
      go(`/jobs/${job.id}`);
    } catch (err) {
      if (err instanceof ApiError && err.issues.length) setSubmitIssues(err.issues);
      else setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="submit"
      onSubmit={(e) => void submit(e)}
      noValidate
      aria-labelledby="submit-title"
    >
      <header className="page-head">
        <h1 id="submit-title">Submit a job</h1>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Submitting…' : `Submit${dry ? ` ${count(dry.taskCount)} tasks` : ''}`}
        </button>
      </header>
      {top}
      {unplaced.length > 0 && (
        <div className="error" role="alert">
          {unplaced.map(issueText).join('; ')}
        </div>
      )}
      <ErrorText error={error} />
      <div className="submit-grid">
        <div>
          <fieldset>
            <legend>Job</legend>
            <Field label="Name" field="name" issues={issues}>
              {(id, d) => (
                <input
                  id={id}
                  aria-describedby={d}
                  value={form.name}
                  onChange={(e) => set('name', e.target.value)}
                />
              )}
            </Field>
            <Field label="Runtime" field="runtime" issues={issues}>
              {(id, d) => (
                <select
                  id={id}
                  aria-describedby={d}
                  value={form.runtime}
                  onChange={(e) => set('runtime', e.target.value as SubmitForm['runtime'])}
                >
                  <option value="node">
                    node — an ES module, default export async (input, ctx)
                  </option>
                  <option value="command">command — a program run per task</option>
                </select>
              )}
            </Field>
            {form.runtime === 'node' ? (
              <Field
                label="Module (.mjs)"
                field="module"
                issues={issues}
                hint={
                  form.module ? `${form.module.name} · ${short(form.module.sha256, 13)}` : undefined
                }
              >
                {(id, d) => (
                  <BlobPicker
                    id={id}
                    accept=".mjs,.js"
                    describedBy={d}
                    onUploaded={(r) => set('module', r[0] ?? null)}
                  />
                )}
              </Field>
            ) : (
              <Field
                label="Command"
                field="command"
                issues={issues}
                hint="{name} is filled from the task input, e.g. python3 render.py --frame {frame}"
              >
                {(id, d) => (
                  <input
                    id={id}
                    aria-describedby={d}
                    className="mono"
                    value={form.command}
                    onChange={(e) => set('command', e.target.value)}
                  />
                )}
              </Field>
            )}
          </fieldset>
          <fieldset>
            <legend>Tasks</legend>
            <div className="radio-row" role="radiogroup" aria-label="Inputs">
              {(['sweep', 'list'] as const).map((m) => (
                <label key={m}>
                  <input
                    type="radio"
                    name="inputsMode"
                    checked={form.inputsMode === m}
                    onChange={() => set('inputsMode', m)}
                  />
                  {m === 'sweep' ? 'Sweep axes' : 'Pasted CSV or NDJSON'}
                </label>
              ))}
            </div>
            {form.inputsMode === 'sweep' ? (
              <Axes axes={form.axes} issues={issues} onChange={(axes) => set('axes', axes)} />
            ) : (
              <Field
                label="Inputs"
                field="tasks.inputs"
                issues={issues}
                hint="CSV with a header row, or one JSON value per line"
              >
                {(id, d) => (
                  <textarea
                    id={id}
                    aria-describedby={d}
                    rows={8}
                    className="mono"
                    value={form.pasted}
                    onChange={(e) => set('pasted', e.target.value)}
                  />
                )}
              </Field>
            )}
          </fieldset>
          <fieldset>
            <legend>Files</legend>
            <Field
              label="Staged files"
              field="files"
              issues={issues}
              hint={
                form.files.map((f) => f.name).join(', ') || 'read-only copies on every contributor'
              }
            >
              {(id, d) => (
                <BlobPicker
                  id={id}
                  multiple
                  describedBy={d}
                  onUploaded={(r) => set('files', [...form.files, ...r])}
                />
              )}
            </Field>
            {form.runtime === 'command' && (
              <Field
                label="Outputs to collect"
                field="outputs"
                issues={issues}
                hint="comma-separated globs, e.g. out/*.png"
              >
                {(id, d) => (
                  <input
                    id={id}
                    aria-describedby={d}
                    value={form.outputs}
                    onChange={(e) => set('outputs', e.target.value)}
                  />
                )}
              </Field>
            )}
          </fieldset>
          <Requirements form={form} issues={issues} set={set} />
        </div>
        <Preview dry={dry} />
      </div>
    </form>
  );
}

/** Form keys to the API's field names, so touching "timeoutSec" reveals `limits.timeoutSec`. */
function fieldOf(key: string): string {
  const map: Record<string, string> = {
    axes: 'tasks',
    pasted: 'tasks',
    inputsMode: 'tasks',
    platforms: 'requirements',
    minMemoryMb: 'requirements',
    minCores: 'requirements',
    tags: 'requirements',
    timeoutSec: 'limits',
    maxAttempts: 'limits',
  };
  return map[key] ?? key;
}
