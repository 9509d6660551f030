// What every bench section gets: the mode, a scratch folder, the shared load process, a logger.
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RpcChild } from './procs.js';
import type { Row } from './report.js';

export interface BenchContext {
  quick: boolean;
  /** §1 connection counts (--levels=1,10,100) and whether to run the peers (--no-peers skips). */
  levels: number[];
  peers: boolean;
  /** Write CPU profiles of the coordinator for the runs that matter, under outDir/profiles. */
  profile: boolean;
  outDir: string;
  tmp: string;
  /** The load process (load/load-child.js): simulated contributors and the raw ws client. */
  load: RpcChild;
  log: (line: string) => void;
  /** Extra facts for the JSON (raw samples, profile summaries). */
  extra: Record<string, unknown>;
}

export type Section = (ctx: BenchContext) => Promise<Row[]>;

/** A fresh folder under the bench's scratch dir, removed after `fn`. */
export async function withDir<T>(ctx: BenchContext, name: string, fn: (dir: string) => Promise<T>) {
  const dir = await mkdtemp(join(ctx.tmp, `${name}-`));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
