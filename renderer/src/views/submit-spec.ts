// The submit form's state and how it becomes a job spec: axes, pasted CSV/NDJSON, numbers, command.
import type { FieldIssue } from '../../../shared/errors.js';
import type { BlobRef, JobSpecInput, Platform } from '../../../shared/job-file.js';

export interface AxisForm {
  name: string;
  kind: 'range' | 'values';
  start: string;
  stop: string;
  step: string;
  values: string;
}

export interface SubmitForm {
  name: string;
  runtime: 'node' | 'command';
  module: BlobRef | null;
  command: string;
  inputsMode: 'sweep' | 'list';
  axes: AxisForm[];
  pasted: string;
  files: BlobRef[];
  outputs: string;
  platforms: Platform[];
  minMemoryMb: string;
  minCores: string;
  tags: string;
  timeoutSec: string;
  maxAttempts: string;
  priority: string;
}

export const EMPTY_FORM: SubmitForm = {
  name: '',
  runtime: 'node',
  module: null,
  command: '',
  inputsMode: 'sweep',
  axes: [{ name: 'x', kind: 'range', start: '0', stop: '100', step: '1', values: '' }],
  pasted: '',
  files: [],
  outputs: '',
  platforms: [],
  minMemoryMb: '',
  minCores: '',
  tags: '',
  timeoutSec: '600',
  maxAttempts: '3',
  priority: '0',
};

/** `"3"` → 3, `"true"` → true, anything else stays a string: how a person types sweep values. */
export function scalar(text: string): string | number | boolean | null {
  const t = text.trim();
  if (t === 'true' || t === 'false') return t === 'true';
  if (t === 'null') return null;
  if (t !== '' && Number.isFinite(Number(t))) return Number(t);
  return t;
}

function csvLine(line: string): string[] {
  const out: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (quoted && ch === '"' && line[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (ch === '"') quoted = !quoted;
    else if (ch === ',' && !quoted) {
      out.push(cell);
      cell = '';
    } else cell += ch;
  }
  out.push(cell);
  return out;
}

/** Pasted inputs: NDJSON (one JSON value a line) or CSV with a header row (one object a row). */
export function parseInputs(text: string): unknown[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new Error('paste at least one input');
  const first = (lines[0] as string).trim();
  if (/^[[{"]/.test(first) || lines.every((l) => isJson(l))) {
    return lines.map((l, i) => {
      try {
        return JSON.parse(l) as unknown;
      } catch {
        throw new Error(`line ${i + 1} is not JSON`);
      }
    });
  }
  const header = csvLine(first).map((h) => h.trim());
  return lines.slice(1).map((l) => {
    const cells = csvLine(l);
    return Object.fromEntries(header.map((h, i) => [h, scalar(cells[i] ?? '')]));
  });
}

function isJson(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

/** `python3 render.py --frame {frame}` or a JSON array; quotes group words. */
export function parseCommand(text: string): string[] {
  const t = text.trim();
  if (t.startsWith('[')) return JSON.parse(t) as string[];
  return [...t.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
}

const num = (text: string): number | undefined => (text.trim() === '' ? undefined : Number(text));
const list = (text: string): string[] =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** The spec for `POST /jobs`, or the issues found before asking the coordinator. */
export function toSpec(f: SubmitForm): { spec: JobSpecInput | null; issues: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  let tasks: JobSpecInput['tasks'] = {};
  if (f.inputsMode === 'sweep') {
    const sweep: Record<string, unknown> = {};
    for (const a of f.axes)
      sweep[a.name] =
        a.kind === 'range'
          ? { range: [num(a.start) ?? 0, num(a.stop) ?? 0, num(a.step) ?? 1] }
          : a.values
              .split(',')
              .filter((v) => v.trim() !== '')
              .map(scalar);
    tasks = { sweep: sweep as never };
  } else {
    try {
      tasks = { inputs: parseInputs(f.pasted) };
    } catch (err) {
      issues.push({ field: 'tasks.inputs', message: (err as Error).message });
    }
  }
  let command: string[] | undefined;
  if (f.runtime === 'command')
    try {
      command = parseCommand(f.command);
    } catch {
      issues.push({ field: 'command', message: 'not a JSON array of strings' });
    }
  if (issues.length > 0) return { spec: null, issues };
  const requirements: JobSpecInput['requirements'] = {
    ...(f.platforms.length ? { platforms: f.platforms } : {}),
    ...(num(f.minMemoryMb) !== undefined ? { minMemoryMb: num(f.minMemoryMb) } : {}),
    ...(num(f.minCores) !== undefined ? { minCores: num(f.minCores) } : {}),
    ...(list(f.tags).length ? { tags: list(f.tags) } : {}),
  };
  const spec: JobSpecInput = {
    name: f.name,
    runtime: f.runtime,
    ...(f.runtime === 'node' && f.module ? { module: f.module } : {}),
    ...(f.runtime === 'command' && command ? { command } : {}),
    tasks,
    files: f.files,
    outputs: f.runtime === 'command' ? list(f.outputs) : [],
    requirements,
    limits: { timeoutSec: num(f.timeoutSec) ?? 600, maxAttempts: num(f.maxAttempts) ?? 3 },
    priority: num(f.priority) ?? 0,
  };
  return { spec, issues };
}
