// Live state of the grid in the browser: jobs and contributors from a snapshot, then from events.
import { useMemo, useSyncExternalStore } from 'react';
import type { ContributorInfo, GridEvent, JobSummary } from '../../shared/api.js';
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
    this.stop?.();
    this.stop = undefined;
    this.start();
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
      case 'contributor':
        this.contributors.set(e.contributor.id, e.contributor);
        break;
      case 'task':
        for (const l of this.taskListeners.get(e.jobId) ?? []) l(e.idx, e.state);
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

/** Contributor names by id, for tables that only carry ids. */
export function useContributorNames(): Map<string, string> {
  const { contributors } = useGrid();
  return useMemo(() => new Map(contributors.map((c) => [c.id, c.name])), [contributors]);
}

export function useJob(id: string): JobSummary | undefined {
  return useGrid().jobs.find((j) => j.id === id);
}
