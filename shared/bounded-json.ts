// The one bounded JSON reader: limits on size, depth, keys, items and string length, checked without
// recursion before (or instead of) anything that walks a value recursively (zod, JSON.stringify).
import { ColonyError, ValidationError } from './errors.js';

export interface JsonLimits {
  /** UTF-8 bytes of the whole text (or of the value written as JSON). */
  maxBytes: number;
  /** Levels of nested arrays and objects; `[]` is 1 deep. */
  maxDepth: number;
  /** Keys in one object. */
  maxKeys: number;
  /** Items in one array. */
  maxItems: number;
  /** Characters in one string (key or value). */
  maxStringLength: number;
}

const MiB = 1024 * 1024;
const BASE = { maxDepth: 128, maxKeys: 10_000, maxItems: 1_000_000, maxStringLength: 4 * MiB };

/**
 * Every limit of the grid, in one place (docs/robustness.md lists them). A frame may nest deeper than
 * a task output so that an over-deep output inside a well-formed result frame fails its attempt
 * ("result too deep") instead of only refusing the frame.
 */
export const JSON_LIMITS = {
  /** HTTP request bodies; the coordinator's `maxBodyBytes` option replaces maxBytes. */
  body: { ...BASE, maxBytes: 16 * MiB },
  /** One WebSocket frame, either way (a message or a batch of them). */
  frame: { ...BASE, maxDepth: 256, maxBytes: 64 * MiB },
  /** A task's output, as a result carries it (checked by the contributor and the coordinator). */
  output: { ...BASE, maxBytes: 16 * MiB },
  /** One line of an inputs file (one task's input). */
  input: { ...BASE, maxBytes: 16 * MiB },
} as const satisfies Record<string, JsonLimits>;

export type LimitProblem =
  'too large' | 'too deep' | 'too many keys' | 'too many items' | 'string too long';

/** A value over one of its limits: `field` says where (e.g. `output[0][1].a`). */
export class JsonLimitError extends ColonyError {
  constructor(
    readonly what: string,
    readonly problem: LimitProblem,
    readonly field: string,
    detail: string,
  ) {
    super(
      problem === 'too large' ? 'TOO_LARGE' : 'BAD_INPUT',
      `${what} ${problem}: ${field ? `${field}: ` : ''}${detail}`,
      { issues: [{ field: field || '(root)', message: `${problem}: ${detail}` }] },
    );
  }
}

/** UTF-8 length without Node's Buffer (this module runs in the browser too). */
function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c < 0xdc00) {
      bytes += 2; // a surrogate pair: 4 bytes for 2 UTF-16 units
      i++;
    } else bytes += 2;
  }
  return bytes;
}

interface Level {
  array: boolean;
  /** Commas seen at this level: the index of the current item. */
  commas: number;
  key: string | undefined;
  expectKey: boolean;
}

function pathOf(
  levels: readonly { array: boolean; commas: number; key: string | undefined }[],
  root: string,
): string {
  let out = root;
  for (const l of levels) {
    if (l.array) out += `[${l.commas}]`;
    else if (l.key !== undefined)
      out += /^[A-Za-z_$][\w$]*$/.test(l.key)
        ? `${out ? '.' : ''}${l.key}`
        : `[${JSON.stringify(l.key)}]`;
  }
  // A path 256 levels deep is no help to anyone: keep its ends.
  return out.length > 200 ? `${out.slice(0, 80)}…${out.slice(-80)}` : out;
}

/**
 * Checks `text` against `limits` in one pass (an explicit stack, no recursion), then JSON.parse.
 * Syntax errors are BAD_INPUT `${what} is not JSON: …`; limits throw JsonLimitError. With
 * `refuseProtoKeys`, a `__proto__` key or `constructor.prototype` is refused naming where it is.
 */
export function readJson(
  text: string,
  limits: JsonLimits,
  what: string,
  opts: { refuseProtoKeys?: boolean; root?: string } = {},
): unknown {
  const root = opts.root ?? '';
  const bytes = text.length * 3 > limits.maxBytes ? utf8Length(text) : text.length;
  if (bytes > limits.maxBytes)
    throw new JsonLimitError(
      what,
      'too large',
      '',
      `${bytes} bytes, the limit is ${limits.maxBytes}`,
    );
  const levels: Level[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      let j = i + 1;
      let end = n;
      for (;;) {
        const q = text.indexOf('"', j);
        if (q < 0) break;
        let b = q - 1;
        while (b > i && text.charCodeAt(b) === 92 /* \ */) b--;
        if ((q - 1 - b) % 2 === 0) {
          end = q;
          break;
        }
        j = q + 1;
      }
      if (end - i - 1 > limits.maxStringLength)
        throw new JsonLimitError(
          what,
          'string too long',
          pathOf(levels, root),
          `a string of more than ${limits.maxStringLength} characters`,
        );
      const top = levels[levels.length - 1];
      if (top && top.expectKey) {
        let key = text.slice(i + 1, end);
        if (key.includes('\\'))
          try {
            key = JSON.parse(`"${key}"`) as string;
          } catch {
            /* JSON.parse below reports it */
          }
        top.key = key;
        top.expectKey = false;
        if (opts.refuseProtoKeys) {
          const parent = levels[levels.length - 2];
          const poisoned =
            key === '__proto__' ||
            (key === 'prototype' && parent && !parent.array && parent.key === 'constructor');
          if (poisoned)
            throw new ValidationError(`refused ${what}`, [
              {
                field: pathOf(levels, root),
                message: 'keys named __proto__ or constructor.prototype are not accepted',
              },
            ]);
        }
      }
      i = end + 1;
      continue;
    }
    if (c === 123 /* { */ || c === 91 /* [ */) {
      if (levels.length >= limits.maxDepth)
        throw new JsonLimitError(
          what,
          'too deep',
          pathOf(levels, root),
          `nested more than ${limits.maxDepth} levels`,
        );
      levels.push({ array: c === 91, commas: 0, key: undefined, expectKey: c === 123 });
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      levels.pop();
    } else if (c === 44 /* , */) {
      const top = levels[levels.length - 1];
      if (top) {
        top.commas++;
        if (top.array && top.commas >= limits.maxItems)
          throw new JsonLimitError(
            what,
            'too many items',
            pathOf(levels.slice(0, -1), root) || '(root)',
            `an array of more than ${limits.maxItems} items`,
          );
        if (!top.array) {
          if (top.commas >= limits.maxKeys)
            throw new JsonLimitError(
              what,
              'too many keys',
              pathOf(levels.slice(0, -1), root) || '(root)',
              `an object of more than ${limits.maxKeys} keys`,
            );
          top.expectKey = true;
        }
      }
    }
    i++;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ColonyError('BAD_INPUT', `${what} is not JSON: ${(err as Error).message}`);
  }
}

/**
 * The same limits on a value that is already parsed (from Node's IPC channel, a command's stdout),
 * walked with an explicit stack: the JsonLimitError it would cause, or undefined when it is within.
 */
export function checkJson(
  value: unknown,
  limits: JsonLimits,
  what: string,
  root = '',
): JsonLimitError | undefined {
  interface Frame {
    value: unknown;
    depth: number;
    parent: Frame | undefined;
    name: string | number | undefined;
  }
  const where = (f: Frame | undefined): string => {
    const names: (string | number)[] = [];
    for (let x = f; x; x = x.parent) if (x.name !== undefined) names.push(x.name);
    return pathOf(
      names.reverse().map((name) => ({
        array: typeof name === 'number',
        commas: typeof name === 'number' ? name : 0,
        key: typeof name === 'string' ? name : undefined,
      })),
      root,
    );
  };
  const stack: Frame[] = [{ value, depth: 0, parent: undefined, name: undefined }];
  while (stack.length > 0) {
    const f = stack.pop() as Frame;
    const v = f.value;
    if (typeof v === 'string') {
      if (v.length > limits.maxStringLength)
        return new JsonLimitError(
          what,
          'string too long',
          where(f),
          `a string of more than ${limits.maxStringLength} characters`,
        );
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (f.depth >= limits.maxDepth)
      return new JsonLimitError(
        what,
        'too deep',
        where(f),
        `nested more than ${limits.maxDepth} levels`,
      );
    if (Array.isArray(v)) {
      if (v.length > limits.maxItems)
        return new JsonLimitError(
          what,
          'too many items',
          where(f) || '(root)',
          `an array of more than ${limits.maxItems} items`,
        );
      for (let k = v.length - 1; k >= 0; k--)
        stack.push({ value: v[k] as unknown, depth: f.depth + 1, parent: f, name: k });
    } else {
      const keys = Object.keys(v);
      if (keys.length > limits.maxKeys)
        return new JsonLimitError(
          what,
          'too many keys',
          where(f) || '(root)',
          `an object of more than ${limits.maxKeys} keys`,
        );
      for (let k = keys.length - 1; k >= 0; k--) {
        const key = keys[k] as string;
        if (key.length > limits.maxStringLength)
          return new JsonLimitError(
            what,
            'string too long',
            where(f),
            `a key of more than ${limits.maxStringLength} characters`,
          );
        stack.push({
          value: (v as Record<string, unknown>)[key],
          depth: f.depth + 1,
          parent: f,
          name: key,
        });
      }
    }
  }
  // Within depth, so JSON.stringify cannot overflow the stack; it may still be too large.
  const text = JSON.stringify(value) as string | undefined;
  const bytes = text === undefined ? 0 : utf8Length(text);
  if (bytes > limits.maxBytes)
    return new JsonLimitError(
      what,
      'too large',
      root,
      `${bytes} bytes, the limit is ${limits.maxBytes}`,
    );
  return undefined;
}
