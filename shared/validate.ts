// Parse untrusted input against a zod schema once, at the boundary, turning zod issues into named
// fields with messages a person reads ("name: must not be empty", not zod's "Too small: …").
import type { z } from 'zod';
import { ValidationError, type FieldIssue } from './errors.js';

type RawIssue = z.core.$ZodRawIssue;

const NOUN: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping of fields',
  null: 'null',
  undefined: 'missing',
  bigint: 'a number',
};

function received(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'number' && !Number.isInteger(input)) return `the number ${input}`;
  return NOUN[typeof input] ?? typeof input;
}

function quoteList(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join(', ');
}

function sizeWord(origin: unknown, n: number): string {
  if (origin === 'string') return n === 1 ? 'character' : 'characters';
  if (origin === 'array' || origin === 'set') return n === 1 ? 'entry' : 'entries';
  return n === 1 ? 'item' : 'items';
}

/** The fields an object schema knows, for "unknown field" messages. */
function knownKeys(issue: RawIssue): string[] {
  const shape = (issue.inst as { def?: { shape?: Record<string, unknown> } } | undefined)?.def
    ?.shape;
  return shape ? Object.keys(shape) : [];
}

/**
 * zod's per-parse error map: a sentence for each default message. Messages a schema gives itself
 * (`.min(1, 'an axis needs at least one value')`) take precedence over this map.
 */
export function humanError(issue: RawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return `must be ${NOUN[issue.expected] ?? issue.expected}, not ${received(issue.input)}`;
    case 'too_small': {
      const min = Number(issue.minimum);
      if (issue.origin === 'string' || issue.origin === 'array' || issue.origin === 'set') {
        if (min <= 1 && issue.inclusive !== false)
          return issue.origin === 'string' ? 'must not be empty' : 'needs at least one entry';
        return `needs at least ${min} ${sizeWord(issue.origin, min)}`;
      }
      return issue.inclusive === false ? `must be more than ${min}` : `must be at least ${min}`;
    }
    case 'too_big': {
      const max = Number(issue.maximum);
      if (issue.origin === 'string' || issue.origin === 'array' || issue.origin === 'set')
        return `must have at most ${max} ${sizeWord(issue.origin, max)}`;
      return issue.inclusive === false ? `must be less than ${max}` : `must be at most ${max}`;
    }
    case 'invalid_value':
      return issue.values.length === 1
        ? `must be ${JSON.stringify(issue.values[0])}`
        : `must be one of ${quoteList(issue.values)}${issue.input === undefined ? '' : ` (not ${JSON.stringify(issue.input)})`}`;
    case 'unrecognized_keys': {
      // fieldIssues names each unknown key as the field; the message says what is allowed.
      const known = knownKeys(issue);
      return `is not a known field${known.length ? ` (the fields here are ${known.join(', ')})` : ''}`;
    }
    case 'invalid_format':
      return issue.format === 'regex'
        ? 'is not in the expected form'
        : `must be a valid ${issue.format}`;
    case 'invalid_union':
      return 'is not any of the accepted forms';
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    case 'invalid_key':
      return 'has a key that is not allowed';
    case 'invalid_element':
      return 'has an entry that is not allowed';
    default:
      return undefined;
  }
}

/** "name: must not be empty", or just the message for an issue about the whole value. */
export function issueText(issue: FieldIssue): string {
  return issue.field ? `${issue.field}: ${issue.message}` : issue.message;
}

export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.flatMap((issue) => {
    const path = issue.path.map(String);
    // An unknown key is the field at fault; an issue about the whole value has no field.
    if (issue.code === 'unrecognized_keys')
      return issue.keys.map((key) => ({ field: [...path, key].join('.'), message: issue.message }));
    return [{ field: path.join('.'), message: issue.message }];
  });
}

export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: string,
): z.output<S> {
  const parsed = schema.safeParse(value, { error: humanError });
  if (!parsed.success) throw new ValidationError(what, fieldIssues(parsed.error));
  return parsed.data;
}
