// The contributors console's rows: each machine's shown state and reason, then filtering and
// sorting hundreds of them (state, group, reason, isolation, name), as plain functions.
import type { ContributorInfo } from '../../shared/api.js';
import { ago, clock } from './format.js';

export interface ConsoleRow {
  c: ContributorInfo;
  /** What the state column says: offline, paused, draining, drained, working, idle, online, revoked. */
  state: string;
  why: string;
  groups: string[];
  isolation: string;
  /** Its version, or "unknown" when it did not say. */
  version: string;
}

export function rowOf(c: ContributorInfo, revoked: boolean): ConsoleRow {
  const groups = c.groups ?? c.caps?.tags ?? [];
  const isolation =
    c.isolation === 'sandbox'
      ? 'sandbox'
      : c.isolation === 'permission-model'
        ? 'permission model only'
        : '—';
  const base = { c, groups, isolation, version: c.version ?? 'unknown' };
  if (revoked) return { ...base, state: 'revoked', why: 'credential revoked' };
  if (c.state === 'offline')
    return { ...base, state: 'offline', why: `last seen ${ago(c.lastSeen)}` };
  if (c.fleet === 'paused') return { ...base, state: 'paused', why: 'Paused by an admin' };
  if (c.fleet === 'draining')
    return { ...base, state: 'draining', why: 'finishing its tasks, taking no new ones (admin)' };
  if (c.fleet === 'drained') return { ...base, state: 'drained', why: 'drained by an admin' };
  const p = c.policy;
  if (!p) return { ...base, state: c.slotsInUse > 0 ? 'working' : 'online', why: '' };
  const until = p.until ? ` until ${clock(p.until)}` : '';
  return { ...base, state: p.state, why: `${p.reason}${until}` };
}

export interface ConsoleFilter {
  text: string;
  state: string;
  group: string;
  isolation: string;
  reason: string;
  version: string;
}

export const NO_FILTER: ConsoleFilter = {
  text: '',
  state: '',
  group: '',
  isolation: '',
  reason: '',
  version: '',
};

export type SortKey =
  'name' | 'state' | 'groups' | 'why' | 'isolation' | 'version' | 'slots' | 'lastSeen';

export function filterRows(rows: ConsoleRow[], f: ConsoleFilter): ConsoleRow[] {
  const text = f.text.trim().toLowerCase();
  const reason = f.reason.trim().toLowerCase();
  return rows.filter(
    (r) =>
      (!text || r.c.name.toLowerCase().includes(text) || r.c.id.toLowerCase().includes(text)) &&
      (!f.state || r.state === f.state) &&
      (!f.group || r.groups.includes(f.group)) &&
      (!f.isolation || r.isolation === f.isolation) &&
      (!f.version || r.version === f.version) &&
      (!reason || r.why.toLowerCase().includes(reason)),
  );
}

export function sortRows(rows: ConsoleRow[], key: SortKey, descending: boolean): ConsoleRow[] {
  const value = (r: ConsoleRow): string | number => {
    switch (key) {
      case 'name':
        return r.c.name.toLowerCase();
      case 'state':
        return r.state;
      case 'groups':
        return r.groups.join(',');
      case 'why':
        return r.why;
      case 'isolation':
        return r.isolation;
      case 'version':
        return r.version;
      case 'slots':
        return r.c.slotsInUse;
      case 'lastSeen':
        return r.c.lastSeen ?? 0;
    }
  };
  const sign = descending ? -1 : 1;
  return [...rows].sort((a, b) => {
    const [x, y] = [value(a), value(b)];
    if (x < y) return -sign;
    if (x > y) return sign;
    return a.c.name.localeCompare(b.c.name) || a.c.id.localeCompare(b.c.id);
  });
}

/** The distinct values of one column, sorted, for a filter's choices. */
export function choices(rows: ConsoleRow[], of: (r: ConsoleRow) => string[]): string[] {
  return [...new Set(rows.flatMap(of))].filter(Boolean).sort();
}
