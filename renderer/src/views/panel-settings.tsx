// The owner policy settings of this computer (SPEC §7), edited in the contributor panel; the panel
// server validates them and answers which field is wrong, or whether they apply now or at restart.
import { useEffect, useState, type FormEvent } from 'react';
import type { FieldIssue } from '../../../shared/errors.js';
import type { OwnerPolicySettings } from '../../../shared/owner-policy.js';
import type { PanelPolicy, PanelPolicySaved } from '../../../shared/panel-api.js';
import { ApiError } from '../api.js';
import { ErrorText } from '../components.js';
import { panelApi } from '../panel-api.js';
import { Field } from './submit-fields.js';

interface PolicyForm {
  computeWhen: 'idle' | 'always';
  idleMinutes: string;
  busyAbovePercent: string;
  quietBelowPercent: string;
  maxWorkers: string;
  cpuLimitPercent: string;
  onBattery: 'pause' | 'run';
  schedule: string;
  vacateAfterMinutes: string;
}

function toForm(s: OwnerPolicySettings): PolicyForm {
  return {
    computeWhen: s.computeWhen,
    idleMinutes: String(s.idleMinutes),
    busyAbovePercent: String(s.cpu.busyAbovePercent),
    quietBelowPercent: String(s.cpu.quietBelowPercent),
    maxWorkers: String(s.maxWorkers),
    cpuLimitPercent: String(s.cpuLimitPercent),
    onBattery: s.onBattery,
    schedule: s.schedule.length ? JSON.stringify(s.schedule) : '',
    vacateAfterMinutes: String(s.vacateAfterMinutes),
  };
}

/** Numbers as typed: anything not a number goes as it is, for the server to name the field. */
const num = (t: string): unknown => (t.trim() !== '' && Number.isFinite(Number(t)) ? Number(t) : t);

function toBody(f: PolicyForm, base: OwnerPolicySettings): { body?: unknown; issue?: FieldIssue } {
  let schedule: unknown = [];
  if (f.schedule.trim())
    try {
      schedule = JSON.parse(f.schedule);
    } catch {
      return {
        issue: { field: 'schedule', message: 'not JSON: [{"from": "18:00", "to": "08:00"}]' },
      };
    }
  return {
    body: {
      ...base,
      computeWhen: f.computeWhen,
      idleMinutes: num(f.idleMinutes),
      cpu: {
        ...base.cpu,
        busyAbovePercent: num(f.busyAbovePercent),
        quietBelowPercent: num(f.quietBelowPercent),
      },
      maxWorkers: f.maxWorkers.trim() === 'auto' ? 'auto' : num(f.maxWorkers),
      cpuLimitPercent: num(f.cpuLimitPercent),
      onBattery: f.onBattery,
      schedule,
      vacateAfterMinutes: num(f.vacateAfterMinutes),
    },
  };
}

export function PolicySettings() {
  const [loaded, setLoaded] = useState<PanelPolicy | null>(null);
  const [form, setForm] = useState<PolicyForm | null>(null);
  const [issues, setIssues] = useState<FieldIssue[]>([]);
  const [saved, setSaved] = useState<PanelPolicySaved | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    panelApi<PanelPolicy>('GET', '/policy').then((p) => {
      setLoaded(p);
      setForm(toForm(p.settings));
    }, setError);
  }, []);
  if (!form || !loaded) return <ErrorText error={error} />;
  const set = <K extends keyof PolicyForm>(k: K, v: PolicyForm[K]) => {
    setForm({ ...form, [k]: v });
    setSaved(null);
  };
  const save = async (e: FormEvent) => {
    e.preventDefault();
    const { body, issue } = toBody(form, loaded.settings);
    if (issue) return setIssues([issue]);
    setBusy(true);
    setError(null);
    try {
      const r = await panelApi<PanelPolicySaved>('PUT', '/policy', body);
      setIssues([]);
      setSaved(r);
      setLoaded(r);
      setForm(toForm(r.settings));
    } catch (err) {
      if (err instanceof ApiError && err.issues.length) setIssues(err.issues);
      else setError(err);
    } finally {
      setBusy(false);
    }
  };
  const text = (k: keyof PolicyForm, label: string, hint?: string, field: string = k) => (
    <Field label={label} field={field} issues={issues} {...(hint ? { hint } : {})}>
      {(id, d) => (
        <input
          id={id}
          aria-describedby={d}
          value={form[k]}
          onChange={(e) => set(k, e.target.value as never)}
        />
      )}
    </Field>
  );
  return (
    <form className="card policy-form" onSubmit={(e) => void save(e)} noValidate>
      <h2>When this computer helps</h2>
      {!loaded.live && (
        <p className="muted small">Changes are saved and take effect at the next start.</p>
      )}
      <Field label="Compute" field="computeWhen" issues={issues}>
        {(id, d) => (
          <select
            id={id}
            aria-describedby={d}
            value={form.computeWhen}
            onChange={(e) => set('computeWhen', e.target.value as PolicyForm['computeWhen'])}
          >
            <option value="idle">when no one is using this computer</option>
            <option value="always">whenever the schedule and battery allow</option>
          </select>
        )}
      </Field>
      {text('idleMinutes', 'Idle after (minutes)', 'no keyboard or mouse for this long')}
      {text(
        'busyAbovePercent',
        'Busy above (% CPU of other programs)',
        undefined,
        'cpu.busyAbovePercent',
      )}
      {text('quietBelowPercent', 'Quiet below (% CPU)', undefined, 'cpu.quietBelowPercent')}
      {text('maxWorkers', 'Max workers', '"auto" is cores − 1')}
      {text(
        'cpuLimitPercent',
        'CPU limit (% of each worker’s core)',
        'below 100 the workers are duty-cycled',
      )}
      <Field label="On battery" field="onBattery" issues={issues}>
        {(id, d) => (
          <select
            id={id}
            aria-describedby={d}
            value={form.onBattery}
            onChange={(e) => set('onBattery', e.target.value as PolicyForm['onBattery'])}
          >
            <option value="pause">pause</option>
            <option value="run">keep computing</option>
          </select>
        )}
      </Field>
      {text(
        'schedule',
        'Schedule (JSON, empty = any time)',
        '[{"days": [1,2,3,4,5], "from": "18:00", "to": "08:00"}]',
      )}
      {text('vacateAfterMinutes', 'Hand back work paused longer than (minutes)')}
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Saving…' : 'Save settings'}
      </button>
      {saved && (
        <p className="ok" role="status" data-testid="policy-saved">
          {saved.applied === 'live'
            ? 'Saved and applied now.'
            : 'Saved; applies at the next start.'}
          {saved.note ? ` ${saved.note}.` : ''}
        </p>
      )}
      <ErrorText error={error} />
    </form>
  );
}
