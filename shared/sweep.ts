// Lazy task extraction from a sweep or an input list: the count, and the input at an index, in O(axes).
import type { Axis, Scalar } from './job-file.js';

function rangeLength(range: readonly number[]): number {
  const [start = 0, stop = 0, step = 1] = range;
  // The epsilon keeps [0, 1, 0.1] at 10 values despite binary fractions.
  return Math.max(0, Math.ceil((stop - start) / step - 1e-9));
}

export function axisLength(axis: Axis): number {
  return Array.isArray(axis) ? axis.length : rangeLength(axis.range);
}

function axisValue(axis: Axis, i: number): Scalar {
  if (Array.isArray(axis)) return axis[i] as Scalar;
  const [start = 0, , step = 1] = axis.range;
  const value = start + i * step;
  // Keep integers integers and trim float noise (0.30000000000000004 → 0.3).
  return Number.isInteger(value) ? value : Number(value.toPrecision(12));
}

/** Number of tasks of a sweep: the product of its axes' lengths. */
export function sweepCount(sweep: Record<string, Axis>): number {
  let count = 1;
  for (const axis of Object.values(sweep)) count *= axisLength(axis);
  return count;
}

/** The input of task `index`: the first axis varies slowest, like nested loops in file order. */
export function sweepInput(sweep: Record<string, Axis>, index: number): Record<string, Scalar> {
  const names = Object.keys(sweep);
  const input: Record<string, Scalar> = {};
  let rest = index;
  for (let a = names.length - 1; a >= 0; a--) {
    const name = names[a] as string;
    const axis = sweep[name] as Axis;
    const len = axisLength(axis);
    input[name] = axisValue(axis, rest % len);
    rest = Math.floor(rest / len);
  }
  // Rebuild in declaration order so inputs read the way the file does.
  return Object.fromEntries(names.map((n) => [n, input[n] as Scalar]));
}
