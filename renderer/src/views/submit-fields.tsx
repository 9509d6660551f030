// Form pieces of the submit view: a labelled field with its errors, file pickers that upload blobs.
import { useId, useState, type ReactNode } from 'react';
import type { FieldIssue } from '../../../shared/errors.js';
import type { BlobRef } from '../../../shared/job-file.js';
import { uploadBlob } from '../api.js';
import { ErrorText } from '../components.js';

/** Issues of `field` and of everything under it (`tasks.sweep.x` gets `tasks.sweep.x.range`). */
export function issuesOf(issues: FieldIssue[], field: string): FieldIssue[] {
  return issues.filter((i) => i.field === field || i.field.startsWith(`${field}.`));
}

export function Field({
  label,
  field,
  issues,
  hint,
  children,
}: {
  label: string;
  field: string;
  issues: FieldIssue[];
  hint?: string;
  children: (id: string, describedBy: string | undefined) => ReactNode;
}) {
  const id = useId();
  const mine = issuesOf(issues, field);
  const errId = `${id}-err`;
  return (
    <div className={`field ${mine.length ? 'invalid' : ''}`} data-field={field}>
      <label htmlFor={id}>{label}</label>
      {children(id, mine.length ? errId : undefined)}
      {hint && <div className="muted small">{hint}</div>}
      {mine.length > 0 && (
        <div className="field-error" id={errId} role="alert">
          {mine.map((i) => (i.field === field ? i.message : `${i.field}: ${i.message}`)).join('; ')}
        </div>
      )}
    </div>
  );
}

/** Picks files and uploads each as a blob (sha256 computed here), reporting their references. */
export function BlobPicker({
  id,
  multiple,
  accept,
  describedBy,
  onUploaded,
}: {
  id: string;
  multiple?: boolean;
  accept?: string;
  describedBy: string | undefined;
  onUploaded: (refs: BlobRef[]) => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <>
      <input
        id={id}
        type="file"
        multiple={multiple}
        accept={accept}
        aria-describedby={describedBy}
        disabled={busy}
        onChange={(e) => {
          const files = [...(e.target.files ?? [])];
          if (files.length === 0) return;
          setBusy(true);
          setError(null);
          void Promise.all(files.map((f) => uploadBlob(f)))
            .then(onUploaded, setError)
            .finally(() => setBusy(false));
        }}
      />
      {busy && <span className="muted small"> uploading…</span>}
      <ErrorText error={error} />
    </>
  );
}
