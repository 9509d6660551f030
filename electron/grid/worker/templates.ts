// Fills `{name}` placeholders of a command template from the task input's fields.
import { TemplateError } from './errors.js';

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_-]*)\}/g;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function render(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  // Objects and arrays go in as JSON so a script can parse them; there is no shell to quote for.
  return JSON.stringify(value) ?? '';
}

/** Returns argv with every `{name}` replaced by `input.name`; throws TemplateError naming a missing field. */
export function fillCommand(template: readonly string[], input: unknown): string[] {
  if (template.length === 0) throw new TemplateError('command is empty');
  const needsInput = template.some((arg) => new RegExp(PLACEHOLDER.source).test(arg));
  if (needsInput && !isRecord(input)) {
    throw new TemplateError(
      'command templates need the task input to be an object with the named fields',
    );
  }
  return template.map((arg) =>
    arg.replace(PLACEHOLDER, (_match, name: string) => {
      const fields = input as Record<string, unknown>;
      if (!Object.hasOwn(fields, name) || fields[name] === undefined || fields[name] === null) {
        throw new TemplateError(
          `command template {${name}}: the task input has no field "${name}"`,
        );
      }
      return render(fields[name]);
    }),
  );
}
