// CPU time this machine gave to the grid, today (local day) and in total, kept in the manager's data
// dir so the panel's counters outlive restarts. Saved atomically, at most once per `saveEveryMs` (a
// crash loses at most that much of a counter; a busy contributor does not write a file per task).
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

const fileSchema = z.object({
  day: z.string(),
  todayMs: z.number().min(0),
  totalMs: z.number().min(0),
});
type Counts = z.infer<typeof fileSchema>;

export const DONATED_CPU_FILE = 'donated-cpu.json';

/** YYYY-MM-DD of the machine's local calendar. */
function dayOf(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

const SAVE_EVERY_MS = 5_000;

export class DonatedCpu {
  private writing: Promise<void> = Promise.resolve();
  private saveTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly file: string,
    private counts: Counts,
    private readonly now: () => number,
  ) {}

  static async open(dataDir: string, now: () => number = Date.now): Promise<DonatedCpu> {
    const file = join(dataDir, DONATED_CPU_FILE);
    let counts: Counts = { day: dayOf(now()), todayMs: 0, totalMs: 0 };
    try {
      counts = fileSchema.parse(JSON.parse(await readFile(file, 'utf8')));
    } catch {
      /* missing or unreadable: start from zero rather than refuse to run */
    }
    return new DonatedCpu(file, counts, now);
  }

  snapshot(): { todayMs: number; totalMs: number } {
    this.rollDay();
    return { todayMs: Math.round(this.counts.todayMs), totalMs: Math.round(this.counts.totalMs) };
  }

  add(cpuMs: number): void {
    if (!Number.isFinite(cpuMs) || cpuMs <= 0) return;
    this.rollDay();
    this.counts = {
      ...this.counts,
      todayMs: this.counts.todayMs + cpuMs,
      totalMs: this.counts.totalMs + cpuMs,
    };
    this.saveTimer ??= setTimeout(() => void this.save(), SAVE_EVERY_MS).unref();
  }

  /** Writes what is unsaved now; resolves once every change so far is on disk. */
  flush(): Promise<void> {
    return this.save();
  }

  private save(): Promise<void> {
    if (this.saveTimer) {
      clearTimeout(this.saveTimer);
      this.saveTimer = undefined;
      const data = JSON.stringify(this.counts);
      this.writing = this.writing.then(() => this.write(data)).catch(() => undefined);
    }
    return this.writing;
  }

  private rollDay(): void {
    const today = dayOf(this.now());
    if (today !== this.counts.day) this.counts = { ...this.counts, day: today, todayMs: 0 };
  }

  private async write(data: string): Promise<void> {
    await writeFile(`${this.file}.tmp`, data, { mode: 0o600 });
    await rename(`${this.file}.tmp`, this.file);
  }
}
