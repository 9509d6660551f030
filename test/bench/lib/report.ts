// Bench results: rows with their peers and ceilings as ratios, printed as a table, saved as JSON and markdown.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';

export interface Ref {
  /** What Colony is compared with, e.g. "BullMQ+Redis (AOF always)" or "raw ws ceiling". */
  name: string;
  value: number;
}

export interface Row {
  section: string;
  measure: string;
  value: number;
  unit: string;
  /** Peers and ceilings measured in the same run; the ratio printed is value / ref. */
  refs: Ref[];
  target?: string;
  met?: boolean;
  note?: string;
}

export interface Machine {
  cores: number;
  cpu: string;
  memGb: number;
  node: string;
  platform: string;
  date: string;
  mode: string;
}

export function machine(mode: string): Machine {
  return {
    cores: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${os.release()} ${process.arch}`,
    date: new Date().toISOString(),
    mode,
  };
}

export function fmt(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  const a = Math.abs(n);
  if (a >= 100) return Math.round(n).toLocaleString('en-US');
  if (a >= 10) return n.toFixed(1);
  if (a >= 1) return n.toFixed(2);
  return n.toFixed(3);
}

function ratio(value: number, ref: number): string {
  return ref > 0 && Number.isFinite(value) ? `${(value / ref).toFixed(2)}×` : 'n/a';
}

function cells(r: Row): string[] {
  return [
    r.section,
    r.measure,
    `${fmt(r.value)} ${r.unit}`,
    r.refs.map((x) => `${x.name}: ${fmt(x.value)}`).join('; ') || '—',
    r.refs.map((x) => ratio(r.value, x.value)).join('; ') || '—',
    r.target ?? '—',
    r.met === undefined ? '—' : r.met ? 'yes' : 'NO',
  ];
}

const HEAD = ['§', 'measure', 'Colony', 'peer / ceiling (same run)', 'ratio', 'target', 'met'];

export function markdown(rows: Row[], m: Machine): string {
  const lines = [
    `Machine: ${m.cores} cores (${m.cpu}), ${m.memGb} GB, Node ${m.node}, ${m.platform}; ${m.date}; ${m.mode} run.`,
    '',
    `| ${HEAD.join(' | ')} |`,
    `| ${HEAD.map(() => '---').join(' | ')} |`,
    ...rows.map(
      (r) =>
        `| ${cells(r)
          .map((c) => c.replace(/\|/g, '\\|'))
          .join(' | ')} |`,
    ),
  ];
  const notes = rows.filter((r) => r.note);
  if (notes.length > 0) {
    lines.push('', 'Notes:', '');
    for (const r of notes) lines.push(`- ${r.section} ${r.measure}: ${r.note}`);
  }
  return `${lines.join('\n')}\n`;
}

export function table(rows: Row[], m: Machine): string {
  const all = [HEAD, ...rows.map(cells)];
  const widths = HEAD.map((_, i) => Math.min(60, Math.max(...all.map((r) => (r[i] ?? '').length))));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  return [
    `machine: ${m.cores} cores, ${m.cpu}, Node ${m.node}, ${m.mode}`,
    line(HEAD),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map((r) => line(cells(r))),
  ].join('\n');
}

export async function save(dir: string, rows: Row[], m: Machine, extra: object): Promise<void> {
  await mkdir(dir, { recursive: true });
  const withRatios = rows.map((r) => ({
    ...r,
    refs: r.refs.map((x) => ({ ...x, ratio: x.value > 0 ? r.value / x.value : null })),
  }));
  await writeFile(
    join(dir, 'latest.json'),
    `${JSON.stringify({ machine: m, rows: withRatios, ...extra }, null, 2)}\n`,
  );
  await writeFile(join(dir, 'latest.md'), markdown(rows, m));
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

export function sortNum(xs: number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

export function median(xs: number[]): number {
  return percentile(sortNum(xs), 50);
}
