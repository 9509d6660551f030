// `npm run chaos`: the chaos suite at full counts, then one table of faults and what they cost.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ChaosRow } from './helpers/scale.js';

const root = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'colony-chaos-'));
const reportFile = join(dir, 'report.ndjson');
const started = Date.now();
const vitest = spawn(
  process.execPath,
  [join(root, 'node_modules/vitest/vitest.mjs'), 'run', 'test/chaos', ...process.argv.slice(2)],
  {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, CHAOS_FULL: '1', CHAOS_REPORT: reportFile },
  },
);
const code = await new Promise<number>((r) => vitest.once('exit', (c) => r(c ?? 1)));
const rows: ChaosRow[] = existsSync(reportFile)
  ? readFileSync(reportFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as ChaosRow)
  : [];
rmSync(dir, { recursive: true, force: true });

const ms = (xs: number[]) => {
  if (xs.length === 0) return '-';
  const s = [...xs].sort((a, b) => a - b);
  const med = s[Math.floor(s.length / 2)] as number;
  return xs.length === 1 ? `${med}` : `med ${med} / max ${s[s.length - 1] as number}`;
};
const header = [
  'fault',
  'injected',
  'jobs',
  'tasks',
  'lost',
  'dup',
  'wrong',
  'recovery ms',
  'note',
];
const table = rows.map((r) => [
  r.kind,
  String(r.faults),
  String(r.jobs),
  String(r.tasks),
  String(r.lost),
  String(r.duplicated),
  String(r.wrong),
  ms(r.recoveryMs),
  r.note ?? '',
]);
const sum = (k: 'faults' | 'jobs' | 'tasks' | 'lost' | 'duplicated' | 'wrong') =>
  String(rows.reduce((n, r) => n + r[k], 0));
table.push([
  'TOTAL',
  sum('faults'),
  sum('jobs'),
  sum('tasks'),
  sum('lost'),
  sum('duplicated'),
  sum('wrong'),
  '',
  '',
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => (r[i] ?? '').length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ');
process.stdout.write(
  `\nColony chaos suite (full counts), ${Math.round((Date.now() - started) / 1000)} s, vitest exit ${code}\n\n` +
    [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...table.map(line)].join('\n') +
    '\n',
);
process.exit(code);
