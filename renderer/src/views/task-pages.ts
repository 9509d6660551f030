// Pages of a job's task list fetched as they scroll into view, patched live, refetched when stale.
import type { TaskRow } from '../../../shared/api.js';
import { api } from '../api.js';

export const PAGE = 500;

export class TaskPages {
  private readonly pages = new Map<number, TaskRow[]>();
  private readonly loading = new Set<number>();
  private readonly dirty = new Set<number>();
  private generation = 0;
  /** Rows matching the filter, from the last page fetched; null until then. */
  total: number | null = null;
  private disposed = false;

  constructor(
    private readonly jobId: string,
    private readonly filter: string | undefined,
    private readonly onChange: () => void,
  ) {}

  dispose(): void {
    this.disposed = true;
  }

  row(i: number): TaskRow | undefined {
    return this.pages.get(Math.floor(i / PAGE))?.[i % PAGE];
  }

  /** Fetch the pages under rows first..last that are missing or stale. */
  ensure(first: number, last: number): void {
    for (let p = Math.floor(first / PAGE); p <= Math.floor(last / PAGE); p++)
      if ((!this.pages.has(p) || this.dirty.has(p)) && !this.loading.has(p)) void this.fetch(p);
  }

  private async fetch(page: number): Promise<void> {
    this.loading.add(page);
    this.dirty.delete(page);
    const generation = this.generation;
    const q = new URLSearchParams({ offset: String(page * PAGE), limit: String(PAGE) });
    if (this.filter) q.set('state', this.filter);
    try {
      const list = await api<{ total: number; tasks: TaskRow[] }>(
        'GET',
        `/jobs/${this.jobId}/tasks?${q.toString()}`,
      );
      if (this.disposed || generation !== this.generation) return;
      this.pages.set(page, list.tasks);
      this.total = list.total;
      this.onChange();
    } catch {
      this.dirty.add(page);
    } finally {
      this.loading.delete(page);
    }
  }

  /** A task event: patch what is shown now, and remember the page for a fuller refetch. */
  taskChanged(idx: number, state: string): void {
    if (this.filter) {
      // Rows move in and out of a filtered list: everything shown is stale.
      this.generation++;
      for (const p of this.pages.keys()) this.dirty.add(p);
      return;
    }
    const page = Math.floor(idx / PAGE);
    const rows = this.pages.get(page);
    const row = rows?.[idx % PAGE];
    if (rows && row) {
      rows[idx % PAGE] = { ...row, state: state as TaskRow['state'] };
      this.dirty.add(page);
    }
  }

  /** A fresher row of one task (the task panel's): shown here too, so the two never disagree. */
  put(fresh: TaskRow): void {
    for (const rows of this.pages.values()) {
      const at = rows.findIndex((r) => r?.idx === fresh.idx);
      if (at >= 0) rows[at] = fresh;
    }
  }

  /** Refetch stale pages in view; forget stale pages out of view (fetched again on scroll). */
  refresh(first: number, last: number): void {
    const lo = Math.floor(first / PAGE);
    const hi = Math.floor(last / PAGE);
    for (const p of [...this.dirty]) {
      if (p >= lo && p <= hi) continue;
      this.pages.delete(p);
      this.dirty.delete(p);
    }
    this.ensure(first, last);
  }

  get hasDirty(): boolean {
    return this.dirty.size > 0;
  }
}
