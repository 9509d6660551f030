// The sweep-axes editor and the dry-run preview of the submit view.
import type { FieldIssue } from '../../../shared/errors.js';
import type { DryRun } from '../../../shared/gui-api.js';
import { count, short } from '../format.js';
import { issuesOf } from './submit-fields.js';
import type { AxisForm } from './submit-spec.js';

export function Axes({
  axes,
  issues,
  onChange,
}: {
  axes: AxisForm[];
  issues: FieldIssue[];
  onChange: (axes: AxisForm[]) => void;
}) {
  const update = (i: number, patch: Partial<AxisForm>) =>
    onChange(axes.map((a, j) => (j === i ? { ...a, ...patch } : a)));
  return (
    <div className="axes">
      <p className="muted small">
        One task per combination of the axes’ values (first axis slowest).
      </p>
      {axes.map((a, i) => {
        const mine = issuesOf(issues, `tasks.sweep.${a.name}`);
        return (
          <div
            className={`axis ${mine.length ? 'invalid' : ''}`}
            key={i}
            data-field={`tasks.sweep.${a.name}`}
            role="group"
            aria-label={`Axis ${i + 1}`}
          >
            <input
              aria-label="Axis name"
              placeholder="name"
              className="axis-name mono"
              value={a.name}
              onChange={(e) => update(i, { name: e.target.value })}
            />
            <select
              aria-label="Axis kind"
              value={a.kind}
              onChange={(e) => update(i, { kind: e.target.value as AxisForm['kind'] })}
            >
              <option value="range">range</option>
              <option value="values">values</option>
            </select>
            {a.kind === 'range' ? (
              <>
                <input
                  aria-label="Start"
                  placeholder="start"
                  inputMode="decimal"
                  value={a.start}
                  onChange={(e) => update(i, { start: e.target.value })}
                />
                <input
                  aria-label="Stop (exclusive)"
                  placeholder="stop"
                  inputMode="decimal"
                  value={a.stop}
                  onChange={(e) => update(i, { stop: e.target.value })}
                />
                <input
                  aria-label="Step"
                  placeholder="step"
                  inputMode="decimal"
                  value={a.step}
                  onChange={(e) => update(i, { step: e.target.value })}
                />
              </>
            ) : (
              <input
                aria-label="Values, comma-separated"
                className="grow"
                value={a.values}
                placeholder="a, b, 3, true"
                onChange={(e) => update(i, { values: e.target.value })}
              />
            )}
            <button
              type="button"
              aria-label={`Remove axis ${a.name}`}
              disabled={axes.length === 1}
              onClick={() => onChange(axes.filter((_, j) => j !== i))}
            >
              ✕
            </button>
            {mine.length > 0 && (
              <div className="field-error" role="alert">
                {mine.map((m) => m.message).join('; ')}
              </div>
            )}
          </div>
        );
      })}
      <button
        type="button"
        onClick={() =>
          onChange([
            ...axes,
            {
              name: `axis${axes.length + 1}`,
              kind: 'values',
              start: '0',
              stop: '10',
              step: '1',
              values: '',
            },
          ])
        }
      >
        Add axis
      </button>
    </div>
  );
}

export function Preview({ dry }: { dry: DryRun | null }) {
  return (
    <aside className="card preview" aria-label="Preview" aria-live="polite">
      <h2>Preview</h2>
      {!dry ? (
        <p className="muted">Fill in the form: the first tasks and who can run them show here.</p>
      ) : (
        <>
          <p>
            <strong data-testid="task-count">{count(dry.taskCount)}</strong> tasks
          </p>
          <ol className="mono small preview-tasks" start={0}>
            {dry.preview.map((input, i) => (
              <li key={i}>{short(input, 70)}</li>
            ))}
          </ol>
          {dry.wouldWait ? (
            <div className="why" role="status">
              <strong>Would wait:</strong> {dry.wouldWait}
            </div>
          ) : (
            <p className="ok">Would start at once.</p>
          )}
          <h3>Contributors</h3>
          {dry.contributors.length === 0 ? (
            <p className="muted">None has connected yet.</p>
          ) : (
            <ul className="match">
              {dry.contributors.map((c) => (
                <li key={c.id}>
                  {c.reason === null ? '✓' : '✗'} <strong>{c.name}</strong>{' '}
                  <span className="muted">{c.reason ?? 'can run it'}</span>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </aside>
  );
}
