// Schedule windows (days + hours, local time) and the ends of snoozes: when computing is allowed
// and when that changes next.
import type { ScheduleWindow } from '../../../../shared/owner-policy.js';

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const DAY_MS = 24 * 60 * 60 * 1000;

function minutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

/** Local midnight of the day `now` falls in. */
function dayStart(now: number): Date {
  const d = new Date(now);
  d.setHours(0, 0, 0, 0);
  return d;
}

function at(day: Date, offsetDays: number, mins: number): number {
  const d = new Date(day);
  d.setDate(d.getDate() + offsetDays);
  d.setHours(Math.floor(mins / 60), mins % 60, 0, 0);
  return d.getTime();
}

/** The window's occurrences that could contain `now` or start soon: [start, end) in epoch ms. */
function occurrences(w: ScheduleWindow, now: number, daysAhead: number): [number, number][] {
  const today = dayStart(now);
  const from = minutes(w.from);
  let to = minutes(w.to);
  if (to <= from) to += 24 * 60; // runs past midnight (from == to: a whole day)
  const out: [number, number][] = [];
  for (let off = -1; off <= daysAhead; off++) {
    const start = at(today, off, from);
    if (!w.days.includes(new Date(start).getDay())) continue;
    out.push([start, start + (to - from) * 60_000]);
  }
  return out;
}

/** Empty schedule = any time. */
export function inSchedule(windows: ScheduleWindow[], now: number): boolean {
  if (windows.length === 0) return true;
  return windows.some((w) => occurrences(w, now, 0).some(([s, e]) => s <= now && now < e));
}

/** Start of the next window after `now` (within a week), for "until" when outside the schedule. */
export function nextWindowStart(windows: ScheduleWindow[], now: number): number | undefined {
  let best: number | undefined;
  for (const w of windows)
    for (const [s] of occurrences(w, now, 7))
      if (s > now && (best === undefined || s < best)) best = s;
  return best;
}

export function describeSchedule(windows: ScheduleWindow[]): string {
  return windows
    .map((w) => {
      const days =
        w.days.length === 7
          ? 'every day'
          : [...w.days]
              .sort()
              .map((d) => DAY_NAMES[d])
              .join(',');
      return `${days} ${w.from}–${w.to}`;
    })
    .join('; ');
}

/** Local midnight after `now`: the end of an "until tomorrow" pause. */
export function nextMidnight(now: number): number {
  return at(dayStart(now), 1, 0);
}

/** "14:05" today, "tomorrow 08:00", or a weekday beyond that; for reasons in words. */
export function describeTime(t: number, now: number): string {
  const d = new Date(t);
  const hm = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  const days = Math.round((dayStart(t).getTime() - dayStart(now).getTime()) / DAY_MS);
  if (days <= 0) return hm;
  if (days === 1) return `tomorrow ${hm}`;
  return `${DAY_NAMES[d.getDay()]} ${hm}`;
}
