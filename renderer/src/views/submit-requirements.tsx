// The requirements and limits part of the submit form: platforms, memory, cores, tags, timeout,
// attempts and priority, each showing the API's errors for its field.
import type { FieldIssue } from '../../../shared/errors.js';
import { PLATFORMS, type Platform } from '../../../shared/job-file.js';
import { Field, issuesOf } from './submit-fields.js';
import type { SubmitForm } from './submit-spec.js';

export function Requirements({
  form,
  issues,
  set,
}: {
  form: SubmitForm;
  issues: FieldIssue[];
  set: <K extends keyof SubmitForm>(key: K, value: SubmitForm[K]) => void;
}) {
  return (
    <fieldset>
      <legend>Requirements and limits</legend>
      <div
        className="field"
        data-field="requirements.platforms"
        role="group"
        aria-label="Platforms"
      >
        <span className="label">Platforms (none ticked: any)</span>
        <div className="radio-row">
          {PLATFORMS.map((p) => (
            <label key={p}>
              <input
                type="checkbox"
                checked={form.platforms.includes(p)}
                onChange={(e) =>
                  set(
                    'platforms',
                    e.target.checked
                      ? [...form.platforms, p]
                      : form.platforms.filter((x): x is Platform => x !== p),
                  )
                }
              />
              {p}
            </label>
          ))}
        </div>
        {issuesOf(issues, 'requirements.platforms').map((i) => (
          <div key={i.field} className="field-error" role="alert">
            {i.message}
          </div>
        ))}
      </div>
      <div className="row">
        {(
          [
            ['minMemoryMb', 'requirements.minMemoryMb', 'Min memory (MB)'],
            ['minCores', 'requirements.minCores', 'Min cores'],
            ['timeoutSec', 'limits.timeoutSec', 'Timeout (s)'],
            ['maxAttempts', 'limits.maxAttempts', 'Max attempts'],
            ['priority', 'priority', 'Priority'],
          ] as const
        ).map(([key, field, label]) => (
          <Field key={key} label={label} field={field} issues={issues}>
            {(id, d) => (
              <input
                id={id}
                aria-describedby={d}
                inputMode="numeric"
                value={form[key]}
                onChange={(e) => set(key, e.target.value)}
              />
            )}
          </Field>
        ))}
      </div>
      <Field
        label="Tags"
        field="requirements.tags"
        issues={issues}
        hint="comma-separated; contributors must have all"
      >
        {(id, d) => (
          <input
            id={id}
            aria-describedby={d}
            value={form.tags}
            onChange={(e) => set('tags', e.target.value)}
          />
        )}
      </Field>
    </fieldset>
  );
}
