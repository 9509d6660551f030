// Finds the first part of a task's output that would not survive JSON, so the error can name it.
// JSON.stringify alone silently turns NaN into null and drops functions, Maps and undefined in arrays.

/** Returns a description like `output.items[2]: a function` or undefined when `value` is plain JSON. */
export function findNonJson(
  value: unknown,
  path = 'output',
  seen = new Set<object>(),
): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `${path}: ${String(value)} is not a JSON number`;
    case 'undefined':
    case 'function':
    case 'symbol':
    case 'bigint':
      return `${path}: a ${typeof value}`;
    case 'object':
      return value === null ? undefined : findInObject(value, path, seen);
  }
}

function findInObject(value: object, path: string, seen: Set<object>): string | undefined {
  if (seen.has(value)) return `${path}: a circular reference`;
  const proto: unknown = Object.getPrototypeOf(value);
  const isArray = Array.isArray(value);
  if (!isArray && proto !== Object.prototype && proto !== null) {
    const name = (value as { constructor?: { name?: string } }).constructor?.name ?? 'object';
    return `${path}: a ${name} (only plain objects and arrays are JSON)`;
  }
  seen.add(value);
  try {
    if (isArray) {
      for (let i = 0; i < value.length; i++) {
        const found = findNonJson(value[i], `${path}[${i}]`, seen);
        if (found) return found;
      }
      return undefined;
    }
    for (const [key, item] of Object.entries(value)) {
      // JSON drops undefined properties by design; that is not a loss worth failing a task for.
      if (item === undefined) continue;
      const found = findNonJson(item, `${path}.${key}`, seen);
      if (found) return found;
    }
    return undefined;
  } finally {
    seen.delete(value);
  }
}
