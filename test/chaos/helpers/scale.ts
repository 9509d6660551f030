// Reduced counts for `npm test`, full counts for `npm run chaos` (CHAOS_FULL=1), and the report rows.
import { appendFileSync } from 'node:fs';

export const FULL = process.env.CHAOS_FULL === '1';

/** The reduced figure inside `npm test`, the full one under `npm run chaos`. */
export function scale<T>(reduced: T, full: T): T {
  return FULL ? full : reduced;
}

export interface ChaosRow {
  /** Fault kind, e.g. "coordinator kill -9". */
  kind: string;
  faults: number;
  jobs: number;
  tasks: number;
  lost: number;
  duplicated: number;
  wrong: number;
  /** Recovery times in ms (fault → work flowing again), when the kind has one. */
  recoveryMs: number[];
  note?: string;
}

/** One row for the `npm run chaos` table; a no-op unless the runner set CHAOS_REPORT. */
export function report(row: ChaosRow): void {
  const file = process.env.CHAOS_REPORT;
  if (file) appendFileSync(file, JSON.stringify(row) + '\n');
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
