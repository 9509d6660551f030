// `npm run bench`: Colony beside its peers and the machine's own limits, in one run, as ratios.
// Flags: --quick (reduced counts), --only=1,3 (sections), --profile (CPU profile of the coordinator
// at 100 connections), --levels=1,10,100 (§1 connection counts), --no-peers (Colony and ceilings only).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BenchContext, Section } from './lib/context.js';
import { killAll, ROOT, RpcChild } from './lib/procs.js';
import { machine, save, table, type Row } from './lib/report.js';
import { benchCpu } from './sections/cpu.js';
import { benchGui } from './sections/gui.js';
import { benchDispatch } from './sections/dispatch.js';
import { benchLatency } from './sections/latency.js';
import { benchRecovery } from './sections/recovery.js';
import { benchScale } from './sections/scale.js';

const SECTIONS: [string, string, Section][] = [
  ['1', 'dispatch throughput', benchDispatch],
  ['2', 'latency', benchLatency],
  ['3', 'CPU efficiency', benchCpu],
  ['4', 'scale', benchScale],
  ['5', 'recovery', benchRecovery],
  ['6', 'GUI', benchGui],
];

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const quick = argv.includes('--quick');
  const only = argv
    .find((a) => a.startsWith('--only='))
    ?.slice(7)
    .split(',');
  const outDir = resolve(ROOT, 'bench-results');
  const tmp = await mkdtemp(join(tmpdir(), 'colony-bench-'));
  const ctx: BenchContext = {
    quick,
    levels: (argv.find((a) => a.startsWith('--levels='))?.slice(9) ?? '1,10,100')
      .split(',')
      .map(Number),
    peers: !argv.includes('--no-peers'),
    profile: argv.includes('--profile'),
    outDir,
    tmp,
    load: new RpcChild(join(import.meta.dirname, 'load/load-child.js')),
    log: (line) => process.stderr.write(`${line}\n`),
    extra: {},
  };
  const m = machine(quick ? 'quick' : 'full');
  const rows: Row[] = [];
  const failures: string[] = [];
  try {
    for (const [id, name, run] of SECTIONS) {
      if (only && !only.includes(id)) continue;
      ctx.log(`== §${id} ${name}`);
      const t0 = performance.now();
      try {
        rows.push(...(await run(ctx)));
      } catch (err) {
        const msg = err instanceof Error ? (err.stack ?? err.message) : String(err);
        failures.push(`§${id} ${name}: ${msg}`);
        ctx.log(`§${id} ${name} failed: ${msg}`);
      }
      ctx.log(`   (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    }
  } finally {
    await ctx.load.close();
    await rm(tmp, { recursive: true, force: true });
  }
  await save(outDir, rows, m, { failures, details: ctx.extra });
  process.stdout.write(`${table(rows, m)}\n\nwrote ${join(outDir, 'latest.json')} and latest.md\n`);
  for (const f of failures) process.stdout.write(`FAILED ${f}\n`);
  return failures.length > 0 ? 1 : 0;
}

for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    killAll();
    process.exit(130);
  });

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
