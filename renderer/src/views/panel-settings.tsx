// The owner policy settings of this computer (docs/owner-policy.md), edited in the contributor panel; the panel
// server validates them and answers which field is wrong, or whether they apply now or at restart.
import { useEffect, useState, type FormEvent } from 'react';
import type { FieldIssue } from '../../../shared/errors.js';
import type { OwnerPolicySettings, ProgramPlatform } from '../../../shared/owner-policy.js';
import type { PanelPolicy, PanelPolicySaved } from '../../../shared/panel-api.js';
import { ApiError } from '../api.js';
import { ErrorText } from '../components.js';
import { panelApi } from '../panel-api.js';
import { Field } from './submit-fields.js';
import {
  emptyWeek,
  scheduleFromWeek,
  WeekGrid,
  weekFromSchedule,
  type WeekCells,
} from './week-grid.js';

interface PolicyForm {
  computeWhen: 'idle' | 'always';
  idleMinutes: string;
  busyAbovePercent: string;
  quietBelowPercent: string;
  maxWorkers: string;
  cpuLimitPercent: string;
  onBattery: 'pause' | 'run';
  /** No schedule: any time the other rules allow. */
  anyTime: boolean;
  week: WeekCells;
  vacateAfterMinutes: string;
  whenActive: 'pause' | 'throttle';
  throttleWorkers: string;
  throttleCpuPercent: string;
  /** This computer's busy-program list, one name per line. */
  busyPrograms: string;
  pauseWhenFullScreen: boolean;
  heatEnabled: boolean;
  heatLimit: string;
  heatHysteresis: string;
}

const PLATFORM_NAMES: Record<ProgramPlatform, string> = {
  linux: 'Linux',
  windows: 'Windows',
  mac: 'macOS',
};

function toForm(s: OwnerPolicySettings, platform: ProgramPlatform): PolicyForm {
  return {
    computeWhen: s.computeWhen,
    idleMinutes: String(s.idleMinutes),
    busyAbovePercent: String(s.cpu.busyAbovePercent),
    quietBelowPercent: String(s.cpu.quietBelowPercent),
    maxWorkers: String(s.maxWorkers),
    cpuLimitPercent: String(s.cpuLimitPercent),
    onBattery: s.onBattery,
    anyTime: s.schedule.length === 0,
    week: s.schedule.length ? weekFromSchedule(s.schedule) : emptyWeek(),
    vacateAfterMinutes: String(s.vacateAfterMinutes),
    whenActive: s.whenActive,
    throttleWorkers: String(s.throttle.workers),
    throttleCpuPercent: String(s.throttle.cpuLimitPercent),
    busyPrograms: s.busyPrograms[platform].join('\n'),
    pauseWhenFullScreen: s.pauseWhenFullScreen,
    heatEnabled: s.heat.enabled,
    heatLimit: String(s.heat.limitCelsius),
    heatHysteresis: String(s.heat.hysteresisCelsius),
  };
}

/** Numbers as typed: anything not a number goes as it is, for the server to name the field. */
const num = (t: string): unknown => (t.trim() !== '' && Number.isFinite(Number(t)) ? Number(t) : t);

function toBody(
  f: PolicyForm,
  base: OwnerPolicySettings,
  platform: ProgramPlatform,
): { body?: unknown; issue?: FieldIssue } {
  const schedule = f.anyTime ? [] : scheduleFromWeek(f.week);
  if (!f.anyTime && schedule.length === 0)
    return {
      issue: { field: 'schedule', message: 'pick at least one hour, or choose “any time”' },
    };
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
      whenActive: f.whenActive,
      throttle: { workers: num(f.throttleWorkers), cpuLimitPercent: num(f.throttleCpuPercent) },
      busyPrograms: {
        ...base.busyPrograms,
        [platform]: f.busyPrograms
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean),
      },
      pauseWhenFullScreen: f.pauseWhenFullScreen,
      heat: {
        enabled: f.heatEnabled,
        limitCelsius: num(f.heatLimit),
        hysteresisCelsius: num(f.heatHysteresis),
      },
    },
  };
}

function valueAt(o: unknown, path: string): unknown {
  let v = o;
  for (const k of path.split('.'))
    v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

function leaves(o: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) && k !== 'busyPrograms'
      ? leaves(v as Record<string, unknown>, `${prefix}${k}.`)
      : [`${prefix}${k}`],
  );
}

/** What the admin set for this computer: fields, which are locked (by whom, why), what runs. */
function FleetBox({ policy }: { policy: PanelPolicy }) {
  const f = policy.fleet;
  if (!f || (!f.policy && f.control.state === 'none')) return null;
  const p = f.policy;
  const who = p?.by ? ` by the admin “${p.by}”` : ' by the admin';
  return (
    <div className="fleet-box" data-testid="fleet-box">
      {f.control.state !== 'none' && (
        <p className="warn" role="status">
          {f.control.state === 'paused'
            ? 'Paused by the admin'
            : 'Draining: finishing its tasks, taking no new ones (the admin)'}
          {f.control.by
            ? ` (${f.control.by}${f.control.reason ? `: ${f.control.reason}` : ''})`
            : ''}
        </p>
      )}
      {p && (
        <>
          <p className="small">
            Set{who} for {f.groups.length ? `group ${f.groups.join(', ')}` : 'this computer'}
            {p.reason ? `: ${p.reason}` : ''}. Locked fields can only be made stricter here.
          </p>
          <table className="fleet-fields">
            <thead>
              <tr>
                <th scope="col">Field</th>
                <th scope="col">Admin&apos;s value</th>
                <th scope="col" />
                <th scope="col">In force</th>
              </tr>
            </thead>
            <tbody>
              {leaves(p.settings).map((field) => (
                <tr key={field} data-field={field}>
                  <td className="mono">{field}</td>
                  <td className="mono">{JSON.stringify(valueAt(p.settings, field))}</td>
                  <td>
                    {(p.locked as string[]).includes(field) ? (
                      <span className="badge state-paused" title={`locked${who}`}>
                        locked
                      </span>
                    ) : (
                      <span className="muted small">yours wins if you change it</span>
                    )}
                  </td>
                  <td className="mono">{JSON.stringify(valueAt(policy.effective, field))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
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
      setForm(toForm(p.settings, p.platform));
    }, setError);
  }, []);
  if (!form || !loaded) return <ErrorText error={error} />;
  const set = <K extends keyof PolicyForm>(k: K, v: PolicyForm[K]) => {
    setForm({ ...form, [k]: v });
    setSaved(null);
  };
  const save = async (e: FormEvent) => {
    e.preventDefault();
    const { body, issue } = toBody(form, loaded.settings, loaded.platform);
    if (issue) return setIssues([issue]);
    setBusy(true);
    setError(null);
    try {
      const r = await panelApi<PanelPolicySaved>('PUT', '/policy', body);
      setIssues([]);
      setSaved(r);
      setLoaded(r);
      setForm(toForm(r.settings, r.platform));
    } catch (err) {
      if (err instanceof ApiError && err.issues.length) setIssues(err.issues);
      else setError(err);
    } finally {
      setBusy(false);
    }
  };
  type TextKey = {
    [K in keyof PolicyForm]: PolicyForm[K] extends string ? K : never;
  }[keyof PolicyForm];
  const text = (k: TextKey, label: string, hint?: string, field: string = k) => (
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
      <FleetBox policy={loaded} />
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
      <Field
        label="While you use this computer"
        field="whenActive"
        issues={issues}
        hint="throttle keeps a few workers going on a CPU cap instead of pausing them all"
      >
        {(id, d) => (
          <select
            id={id}
            aria-describedby={d}
            value={form.whenActive}
            onChange={(e) => set('whenActive', e.target.value as PolicyForm['whenActive'])}
          >
            <option value="pause">pause all work</option>
            <option value="throttle">throttle</option>
          </select>
        )}
      </Field>
      {form.whenActive === 'throttle' && (
        <>
          {text('throttleWorkers', 'Throttle: workers kept running', undefined, 'throttle.workers')}
          {text(
            'throttleCpuPercent',
            'Throttle: CPU cap (% of each kept worker’s core)',
            undefined,
            'throttle.cpuLimitPercent',
          )}
        </>
      )}
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
      <Field
        label="Schedule"
        field="schedule"
        issues={issues}
        hint="click an hour to switch it on or off, a day's name for the whole day; times are this computer's"
      >
        {(id, d) => (
          <div>
            <label className="inline">
              <input
                id={id}
                type="checkbox"
                checked={form.anyTime}
                onChange={(e) => set('anyTime', e.target.checked)}
              />{' '}
              any time (no schedule)
            </label>
            {!form.anyTime && (
              <WeekGrid cells={form.week} onChange={(w) => set('week', w)} describedBy={d} />
            )}
          </div>
        )}
      </Field>
      <Field
        label={`Pause while these programs run (${PLATFORM_NAMES[loaded.platform]})`}
        field={`busyPrograms.${loaded.platform}`}
        issues={issues}
        hint="one program name per line, as in the task manager; .exe and case do not matter"
      >
        {(id, d) => (
          <textarea
            id={id}
            aria-describedby={d}
            rows={5}
            value={form.busyPrograms}
            onChange={(e) => set('busyPrograms', e.target.value)}
          />
        )}
      </Field>
      <Field label="Full-screen window" field="pauseWhenFullScreen" issues={issues}>
        {(id) => (
          <label className="inline">
            <input
              id={id}
              type="checkbox"
              checked={form.pauseWhenFullScreen}
              onChange={(e) => set('pauseWhenFullScreen', e.target.checked)}
            />{' '}
            pause while a full-screen window is in front (game, presentation, video)
          </label>
        )}
      </Field>
      <Field label="Heat" field="heat.enabled" issues={issues}>
        {(id) => (
          <label className="inline">
            <input
              id={id}
              type="checkbox"
              checked={form.heatEnabled}
              onChange={(e) => set('heatEnabled', e.target.checked)}
            />{' '}
            pause while the CPU is hot
          </label>
        )}
      </Field>
      {form.heatEnabled && (
        <>
          {text('heatLimit', 'Pause above (°C)', undefined, 'heat.limitCelsius')}
          {text(
            'heatHysteresis',
            'Resume once this much cooler (°C)',
            undefined,
            'heat.hysteresisCelsius',
          )}
        </>
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
