// The owner's schedule as a week of hour cells (click to switch an hour on or off), and its
// conversion to and from the policy's schedule windows.
import type { ScheduleWindow } from '../../../shared/owner-policy.js';

/** cells[day][hour]; day 0 = Sunday, as in the policy. */
export type WeekCells = boolean[][];

const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
/** Shown Monday first, as most office calendars do. */
const ORDER = [1, 2, 3, 4, 5, 6, 0];

export function emptyWeek(fill = false): WeekCells {
  return Array.from({ length: 7 }, () => Array.from({ length: 24 }, () => fill));
}

const minutes = (hhmm: string): number => {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
};
const hh = (hour: number): string => `${String(hour % 24).padStart(2, '0')}:00`;

/** Every hour a window touches is on (windows not on whole hours round outwards). */
export function weekFromSchedule(windows: ScheduleWindow[]): WeekCells {
  const cells = emptyWeek();
  for (const w of windows) {
    const from = minutes(w.from);
    let to = minutes(w.to);
    if (to <= from) to += 24 * 60;
    for (const day of w.days ?? [0, 1, 2, 3, 4, 5, 6])
      for (let h = Math.floor(from / 60); h < Math.ceil(to / 60); h++) {
        const row = cells[(day + Math.floor(h / 24)) % 7];
        if (row) row[h % 24] = true;
      }
  }
  return cells;
}

/** Runs of hours per day, the same runs on several days merged into one window. */
export function scheduleFromWeek(cells: WeekCells): ScheduleWindow[] {
  const runs = new Map<string, number[]>();
  cells.forEach((row, day) => {
    let start = -1;
    for (let h = 0; h <= 24; h++) {
      const on = h < 24 && row[h] === true;
      if (on && start < 0) start = h;
      if (!on && start >= 0) {
        const key = `${hh(start)}-${hh(h)}`;
        runs.set(key, [...(runs.get(key) ?? []), day]);
        start = -1;
      }
    }
  });
  return [...runs].map(([key, days]) => {
    const [from, to] = key.split('-') as [string, string];
    return { days, from, to };
  });
}

export function WeekGrid({
  cells,
  onChange,
  describedBy,
}: {
  cells: WeekCells;
  onChange: (cells: WeekCells) => void;
  describedBy?: string;
}) {
  const toggle = (day: number, hours: number[]) => {
    const next = cells.map((r) => [...r]);
    const row = next[day];
    if (!row) return;
    const on = !hours.every((h) => row[h]);
    for (const h of hours) row[h] = on;
    onChange(next);
  };
  const allHours = Array.from({ length: 24 }, (_, h) => h);
  return (
    <div
      className="week-grid"
      role="group"
      aria-label="Hours of the week"
      aria-describedby={describedBy}
    >
      <span />
      {allHours.map((h) => (
        <span key={h} className="week-hour muted">
          {h % 3 === 0 ? h : ''}
        </span>
      ))}
      {ORDER.map((day) => (
        <div className="week-row" key={day} data-day={day}>
          <button
            type="button"
            className="week-day"
            onClick={() => toggle(day, allHours)}
            aria-label={`All of ${DAY_NAMES[day]}`}
          >
            {DAY_NAMES[day]?.slice(0, 3)}
          </button>
          {allHours.map((h) => (
            <button
              type="button"
              key={h}
              className="week-cell"
              aria-pressed={cells[day]?.[h] === true}
              aria-label={`${DAY_NAMES[day]} ${hh(h)}–${hh(h + 1)}`}
              onClick={() => toggle(day, [h])}
            />
          ))}
        </div>
      ))}
    </div>
  );
}
