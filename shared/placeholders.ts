// Checks a command's `{name}` placeholders against the task input fields known at submit, so a
// typo is refused before any task runs instead of failing every task.
import type { FieldIssue } from './errors.js';

/** The same pattern the contributor fills (`{frame}`, `{scene_2}`). */
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_-]*)\}/g;

export function placeholders(command: readonly string[]): string[] {
  const names = new Set<string>();
  for (const arg of command) for (const m of arg.matchAll(PLACEHOLDER)) names.add(m[1] as string);
  return [...names];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function list(names: Iterable<string>): string {
  const all = [...names];
  return all.length === 0 ? 'none' : all.join(', ');
}

/**
 * Issues for placeholders no task input can fill. `inputs` are the inputs known now (the sweep's
 * axes as one input, the `inputs` list, or an input file's first lines); `where` names them, e.g.
 * `tasks.inputsFile line 3`.
 */
export function placeholderIssues(
  command: readonly string[] | undefined,
  inputs: { where: string; input: unknown }[],
): FieldIssue[] {
  const wanted = placeholders(command ?? []);
  if (wanted.length === 0 || inputs.length === 0) return [];
  const issues: FieldIssue[] = [];
  const known = new Set<string>();
  for (const { input } of inputs)
    if (isRecord(input)) for (const key of Object.keys(input)) known.add(key);
  for (const name of wanted) {
    if (!known.has(name)) {
      issues.push({
        field: 'command',
        message: `{${name}} is not a field of the task inputs (known fields: ${list(known)})`,
      });
      continue;
    }
    const missing = inputs.find(({ input }) => !isRecord(input) || !Object.hasOwn(input, name));
    if (missing)
      issues.push({
        field: 'command',
        message: `{${name}}: ${missing.where} has no field "${name}" (it has: ${list(isRecord(missing.input) ? Object.keys(missing.input) : [])})`,
      });
  }
  return issues;
}

/** The inputs a job's tasks block makes known without reading a file: sweep axes, or the list. */
export function knownInputs(tasks: {
  sweep?: Record<string, unknown> | undefined;
  inputs?: unknown[] | undefined;
}): { where: string; input: unknown }[] {
  if (tasks.sweep)
    return [
      {
        where: 'the sweep',
        input: Object.fromEntries(Object.keys(tasks.sweep).map((k) => [k, true])),
      },
    ];
  return (tasks.inputs ?? []).map((input, i) => ({ where: `tasks.inputs.${i}`, input }));
}

/** How many lines of an input file are checked at submit. */
export const INPUT_LINES_CHECKED = 100;
