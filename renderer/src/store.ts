// Live state of the grid in the browser: jobs and contributors from a snapshot, then from events.
import { useMemo, useSyncExternalStore } from 'react';
import type { ContributorInfo, GridEvent, JobSummary, TaskRow } from '../../shared/api.js';
import { api } from './api.js';
import { connectEvents, type StreamStatus } from './events.js';

export type TaskListener = (idx: number, state: string) => void;

export interface GridSnapshot {
  status: StreamStatus;
  jobs: JobSummary[];
  contributors: ContributorInfo[];
  /** Bumped on every change, so views can refresh derived data now and then. */
  version: number;
}

class GridStore {
  private jobs = new Map<string, JobSummary>();
  private contributors = new Map<string, ContributorInfo>();
  private status: StreamStatus = 'connecting';
  private version = 0;
  private snapshot: GridSnapshot | undefined;
  private readonly listeners = new Set<() => void>();
  private readonly taskListeners = new Map<string, Set<TaskListener>>();
  private readonly rowListeners = new Map<string, Set<(row: TaskRow) => void>>();
  private readonly anyTaskListeners = new Set<(jobId: string, idx: number) => void>();
  private stop: (() => void) | undefined;

  start(): void {
    this.stop ??= connectEvents(
      (e) => this.apply(e),
      (s) => {
        this.status = s;
        // Events missed while disconnected are made up for by a fresh snapshot.
        if (s === 'live') void this.reload();
        this.changed();
      },
    );
  }

  restart(): void {
    this.close();
    this.start();
  }

  /** Signed out: the stream ends and nothing of the grid stays on screen. */
  close(): void {
    this.stop?.();
    this.stop = undefined;
    this.jobs.clear();
    this.contributors.clear();
    this.status = 'connecting';
    this.changed();
  }

  async reload(): Promise<void> {
    const [jobs, contributors] = await Promise.all([
      api<JobSummary[]>('GET', '/jobs'),
      api<ContributorInfo[]>('GET', '/contributors'),
    ]);
    this.jobs = new Map(jobs.map((j) => [j.id, j]));
    this.contributors = new Map(contributors.map((c) => [c.id, c]));
    this.changed();
  }

  async reloadContributors(): Promise<void> {
    const contributors = await api<ContributorInfo[]>('GET', '/contributors');
    this.contributors = new Map(contributors.map((c) => [c.id, c]));
    this.changed();
  }

  /** Put a job summary in (e.g. the answer to a cancel) without waiting for its event. */
  upsertJob(job: JobSummary): void {
    this.jobs.set(job.id, job);
    this.changed();
  }

  private apply(e: GridEvent): void {
    switch (e.type) {
      case 'job':
        this.jobs.set(e.job.id, e.job);
        break;
      case 'job-deleted':
        this.jobs.delete(e.jobId);
        break;
      case 'contributor':
        this.contributors.set(e.contributor.id, e.contributor);
        break;
      case 'task':
        for (const l of this.taskListeners.get(e.jobId) ?? []) l(e.idx, e.state);
        for (const l of this.anyTaskListeners) l(e.jobId, e.idx);
        return;
    }
    this.changed();
  }

  onTask(jobId: string, listener: TaskListener): () => void {
    let set = this.taskListeners.get(jobId);
    if (!set) this.taskListeners.set(jobId, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** A task row fetched fresh (by the task panel): the task table shows the same. */
  taskRow(jobId: string, row: TaskRow): void {
    for (const l of this.rowListeners.get(jobId) ?? []) l(row);
  }

  onTaskRow(jobId: string, listener: (row: TaskRow) => void): () => void {
    let set = this.rowListeners.get(jobId);
    if (!set) this.rowListeners.set(jobId, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Every task event of every job (the timeline follows them all). */
  onAnyTask(listener: (jobId: string, idx: number) => void): () => void {
    this.anyTaskListeners.add(listener);
    return () => this.anyTaskListeners.delete(listener);
  }

  private changed(): void {
    this.version++;
    this.snapshot = undefined;
    for (const l of this.listeners) l();
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): GridSnapshot =>
    (this.snapshot ??= {
      status: this.status,
      // Newest first, like the API's list.
      jobs: [...this.jobs.values()].sort((a, b) => b.createdAt - a.createdAt),
      contributors: [...this.contributors.values()].sort((a, b) => a.name.localeCompare(b.name)),
      version: this.version,
    });
}

export const grid = new GridStore();

export function useGrid(): GridSnapshot {
  return useSyncExternalStore(grid.subscribe, grid.getSnapshot);
}

/**
 * What to call each contributor: its host name, with a short id after it where two share a name
 * (two contributors on one host are both "vm" otherwise).
 */
export function displayNames(contributors: { id: string; name: string }[]): Map<string, string> {
  const seen = new Map<string, number>();
  for (const c of contributors) seen.set(c.name, (seen.get(c.name) ?? 0) + 1);
  return new Map(
    contributors.map((c) => [
      c.id,
      (seen.get(c.name) ?? 0) > 1 ? `${c.name} (${c.id.slice(0, 6)})` : c.name,
    ]),
  );
}

/** Contributor names by id, for tables that only carry ids. */
export function useContributorNames(): Map<string, string> {
  const { contributors } = useGrid();
  return useMemo(() => displayNames(contributors), [contributors]);
}

export function useJob(id: string): JobSummary | undefined {
  return useGrid().jobs.find((j) => j.id === id);
}
