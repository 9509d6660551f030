// What every chaos test checks after its faults: each task succeeded exactly once, with the right output.
import type { TaskRow } from '../../../shared/api.js';
import type { Cluster } from '../../integration/helpers/cluster.js';

export interface Tally {
  tasks: number;
  /** Tasks without a succeeded attempt or missing from the results. */
  lost: number;
  /** Tasks with more than one succeeded attempt, or listed twice in the results. */
  duplicated: number;
  /** Results whose output is not what the task computes. */
  wrong: number;
  /** Every attempt row, for tests that look closer. */
  attempts: (TaskRow['attempts'][number] & { idx: number })[];
}

/** All task rows of a job, page by page (the API caps a page at 1000). */
export async function allTasks(cluster: Cluster, jobId: string): Promise<TaskRow[]> {
  const client = await cluster.client();
  const out: TaskRow[] = [];
  for (let offset = 0; offset < 10_000_000; offset += 1000) {
    const page = await client.json<{ total: number; tasks: TaskRow[] }>(
      'GET',
      `/jobs/${jobId}/tasks?offset=${offset}&limit=1000`,
    );
    out.push(...page.tasks);
    if (out.length >= page.total || page.tasks.length === 0) break;
  }
  return out;
}

/** Results NDJSON and the tasks API against what `expected(input)` says each output must be. */
export async function tally(
  cluster: Cluster,
  jobId: string,
  count: number,
  expected: (input: unknown) => unknown,
): Promise<Tally> {
  const results = await cluster.results(jobId);
  const tasks = await allTasks(cluster, jobId);
  const seen = new Map<number, number>();
  let wrong = 0;
  for (const r of results) {
    seen.set(r.task, (seen.get(r.task) ?? 0) + 1);
    if (JSON.stringify(r.output) !== JSON.stringify(expected(r.input))) wrong++;
  }
  let lost = 0;
  let duplicated = 0;
  for (let idx = 0; idx < count; idx++) {
    const n = seen.get(idx) ?? 0;
    if (n === 0) lost++;
    if (n > 1) duplicated++;
  }
  for (const t of tasks) {
    const ok = t.attempts.filter((a) => a.state === 'succeeded').length;
    if (ok === 0 && seen.has(t.idx)) lost++;
    if (ok > 1) duplicated++;
  }
  if (tasks.length !== count) lost += Math.max(0, count - tasks.length);
  return {
    tasks: count,
    lost,
    duplicated,
    wrong,
    attempts: tasks.flatMap((t) => t.attempts.map((a) => ({ ...a, idx: t.idx }))),
  };
}

export const double = (input: unknown) => ({ double: (input as { x: number }).x * 2 });
