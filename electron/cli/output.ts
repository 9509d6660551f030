// How the CLI prints: tables for people, JSON for scripts, a progress bar on a TTY, lines otherwise.
import cliProgress from 'cli-progress';
import type { JobSummary, TaskRow } from '../../shared/api.js';

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
    owner: j.owner ?? '',
    progress: `${done}/${j.taskCount}`,
    failed: j.counts.failed,
    running: j.counts.running,
    priority: j.priority,
    reason: j.error ?? j.reason ?? '',
  };
}

/** "98 done, 2 failed of 100": failures are never counted as done. */
export function countsLine(j: JobSummary): string {
  const c = j.counts;
  const parts = [`${c.succeeded} done`];
  if (c.failed > 0) parts.push(`${c.failed} failed`);
  if (c.running > 0) parts.push(`${c.running} running`);
  if (c.pending > 0 && j.state !== 'succeeded' && j.state !== 'failed')
    parts.push(`${c.pending} pending`);
  if (c.cancelled > 0) parts.push(`${c.cancelled} cancelled`);
  return `${parts.join(', ')} of ${j.taskCount}`;
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

export function describeJob(j: JobSummary): string {
  const finished = j.finishedAt !== null && j.startedAt !== null;
  const lines = [`job ${j.id} (${j.name}): ${j.state}`, `  tasks: ${countsLine(j)}`];
  if (finished) {
    const ms = Math.max(1, (j.finishedAt as number) - (j.startedAt as number));
    // Only tasks that succeeded count as throughput: a job failing fast is not fast work.
    const rate =
      j.counts.succeeded > 0
        ? `, ${((j.counts.succeeded * 1000) / ms).toFixed(1)} tasks done/s`
        : '';
    lines.push(`  ran ${seconds(ms)}${rate}`);
  } else if (j.state === 'running')
    lines.push(
      `  throughput ${j.throughput} tasks/s${j.etaSec !== null ? `, ETA ${j.etaSec} s` : ''}`,
    );
  lines.push(`  priority ${j.priority}`);
  if (j.reason) lines.push(`  waiting: ${j.reason}`);
  if (j.error) lines.push(`  failed: ${j.error}`);
  return lines.join('\n');
}

/** The first failed tasks' errors, one line each ("task 3: command exited with code 2: ..."). */
export function describeErrors(failed: TaskRow[], total: number): string {
  if (failed.length === 0) return '';
  const lines = failed.map((t) => `  task ${t.idx}: ${firstLine(t.error ?? 'failed', 200)}`);
  const more =
    total > failed.length
      ? [`  … and ${total - failed.length} more (colony tasks ID --state failed)`]
      : [];
  return ['first errors:', ...lines, ...more].join('\n');
}

export function firstLine(text: string, max: number): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
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
          format:
            '{bar} {percentage}% | {value}/{total} tasks finished | {failed} failed | {eta_text}',
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
      this.out.write(`${job.id}: ${countsLine(job)}\n`);
    }
  }

  stop(): void {
    this.bar?.stop();
  }
}
