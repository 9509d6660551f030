// How the CLI prints: tables for people, JSON for scripts, a progress bar on a TTY, lines otherwise.
import cliProgress from 'cli-progress';
import type { JobSummary } from '../../shared/api.js';

export function table(rows: Record<string, string | number>[]): string {
  if (rows.length === 0) return '(none)';
  const keys = Object.keys(rows[0] as object);
  const widths = keys.map((k) => Math.max(k.length, ...rows.map((r) => String(r[k]).length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return [
    line(keys.map((k) => k.toUpperCase())),
    ...rows.map((r) => line(keys.map((k) => String(r[k])))),
  ].join('\n');
}

export function jobRow(j: JobSummary): Record<string, string | number> {
  const done = j.counts.succeeded + j.counts.failed;
  return {
    id: j.id,
    name: j.name,
    state: j.state,
    progress: `${done}/${j.taskCount}`,
    failed: j.counts.failed,
    running: j.counts.running,
    priority: j.priority,
    reason: j.reason ?? '',
  };
}

export function describeJob(j: JobSummary): string {
  const c = j.counts;
  return [
    `job ${j.id} (${j.name}): ${j.state}`,
    `  tasks ${j.taskCount}: ${c.succeeded} succeeded, ${c.failed} failed, ${c.running} running, ${c.pending} pending, ${c.cancelled} cancelled`,
    `  throughput ${j.throughput} tasks/s${j.etaSec !== null ? `, ETA ${j.etaSec} s` : ''}, priority ${j.priority}`,
    ...(j.reason ? [`  waiting: ${j.reason}`] : []),
  ].join('\n');
}

/** Shows a job's progress: a bar on a TTY, a line per 10 % otherwise. */
export class Progress {
  private bar: cliProgress.SingleBar | undefined;
  private lastDecile = -1;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly total: number,
  ) {
    if (out.isTTY) {
      this.bar = new cliProgress.SingleBar(
        {
          format: '{bar} {percentage}% | {value}/{total} tasks | {failed} failed | {eta_text}',
          stream: out,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, 0, { failed: 0, eta_text: 'ETA …' });
    }
  }

  update(job: JobSummary): void {
    const done = job.counts.succeeded + job.counts.failed + job.counts.cancelled;
    if (this.bar) {
      // The coordinator's ETA (from its measured throughput), not the bar's guess from a few ticks.
      this.bar.update(done, {
        failed: job.counts.failed,
        eta_text: job.etaSec === null ? 'ETA …' : `ETA ${job.etaSec}s`,
      });
      return;
    }
    const decile = Math.floor((done * 10) / Math.max(1, this.total));
    if (decile !== this.lastDecile) {
      this.lastDecile = decile;
      this.out.write(`${job.id}: ${done}/${this.total} tasks done (${job.counts.failed} failed)\n`);
    }
  }

  stop(): void {
    this.bar?.stop();
  }
}
