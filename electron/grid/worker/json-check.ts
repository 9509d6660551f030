// Finds the first part of a task's output that would not survive JSON, so the error can name it.
// JSON.stringify alone silently turns NaN into null and drops functions, Maps and undefined in arrays.
// Walked with an explicit stack: an output nested 100,000 deep is reported, never a stack overflow.

type Item = { v: unknown; path: string; depth: number } | { leave: object };

interface Problem {
  path: string;
  what: string;
  tooDeep: boolean;
}

function scan(value: unknown, root: string, maxDepth: number): Problem | undefined {
  const ancestors = new Set<object>();
  const stack: Item[] = [{ v: value, path: root, depth: 0 }];
  while (stack.length > 0) {
    const item = stack.pop() as Item;
    if ('leave' in item) {
      ancestors.delete(item.leave);
      continue;
    }
    const { v, path, depth } = item;
    switch (typeof v) {
      case 'string':
      case 'boolean':
        continue;
      case 'number':
        if (Number.isFinite(v)) continue;
        return { path, what: `${String(v)} is not a JSON number`, tooDeep: false };
      case 'undefined':
      case 'function':
      case 'symbol':
      case 'bigint':
        return { path, what: `a ${typeof v}`, tooDeep: false };
    }
    if (v === null) continue;
    const obj = v as object;
    if (ancestors.has(obj)) return { path, what: 'a circular reference', tooDeep: false };
    const isArray = Array.isArray(obj);
    const proto: unknown = Object.getPrototypeOf(obj);
    if (!isArray && proto !== Object.prototype && proto !== null) {
      const name = (obj as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      return { path, what: `a ${name} (only plain objects and arrays are JSON)`, tooDeep: false };
    }
    if (depth >= maxDepth)
      return { path, what: `nested more than ${maxDepth} levels`, tooDeep: true };
    ancestors.add(obj);
    stack.push({ leave: obj });
    if (isArray) {
      const arr = obj as unknown[];
      for (let i = arr.length - 1; i >= 0; i--)
        stack.push({ v: arr[i], path: `${path}[${i}]`, depth: depth + 1 });
    } else {
      const entries = Object.entries(obj);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i] as [string, unknown];
        // JSON drops undefined properties by design; that is not a loss worth failing a task for.
        if (child !== undefined) stack.push({ v: child, path: `${path}.${key}`, depth: depth + 1 });
      }
    }
  }
  return undefined;
}

/** Returns a description like `output.items[2]: a function` or undefined when `value` is plain JSON. */
export function findNonJson(
  value: unknown,
  path = 'output',
  maxDepth = Infinity,
): string | undefined {
  const p = scan(value, path, maxDepth);
  return p && `${p.path}: ${p.what}`;
}

/** Why a task's output cannot be its result, in the words the task's error shows; or undefined. */
export function outputProblem(value: unknown, maxDepth: number): string | undefined {
  const p = scan(value, 'output', maxDepth);
  if (!p) return undefined;
  const where = p.path.length > 200 ? `${p.path.slice(0, 80)}…${p.path.slice(-80)}` : p.path;
  return p.tooDeep
    ? `result too deep: ${where}: ${p.what}`
    : `task output is not JSON-serialisable: ${where}: ${p.what}`;
}
