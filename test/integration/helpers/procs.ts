// Process inspection for tests (Linux /proc): children of a pid, and whether a pid still runs.
import { readdirSync, readFileSync } from 'node:fs';

export function childPids(parent: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Fields after the command name, which may contain spaces: state, ppid, ...
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[1]) === parent && rest[0] !== 'Z') out.push(Number(name));
    } catch {
      /* the process ended while we looked */
    }
  }
  return out;
}

/** CPU ms of `pid` and everything below it (Linux /proc). */
function treeCpuMs(pid: number): number {
  let own = 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    own = ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  } catch {
    /* gone */
  }
  return childPids(pid).reduce((sum, c) => sum + treeCpuMs(c), own);
}

/**
 * The children of `parent` whose process trees burn CPU over `sampleMs` (a tenth of it at least:
 * at idle priority on a loaded machine a spinning worker may get little more): workers running a
 * task, not idle ones or spares waiting for a job, which use next to none.
 */
export async function busyChildren(parent: number, sampleMs = 500): Promise<number[]> {
  const before = new Map(childPids(parent).map((c) => [c, treeCpuMs(c)]));
  await new Promise((r) => setTimeout(r, sampleMs));
  return [...before]
    .map(([pid, cpu]) => ({ pid, used: treeCpuMs(pid) - cpu }))
    .filter((c) => c.used >= sampleMs / 10)
    .sort((a, b) => b.used - a.used)
    .map((c) => c.pid);
}

/**
 * The busy children of all `parents` once at least `want` of them are busy in the same sample
 * (at most 20 samples); fewer if that never happens, for the caller to report.
 */
export async function busyWorkersOf(parents: number[], want: number): Promise<number[]> {
  let busy: number[] = [];
  for (let i = 0; i < 20 && busy.length < want; i++)
    busy = (await Promise.all(parents.map((p) => busyChildren(p)))).flat();
  return busy;
}

/**
 * The child of `parent` whose process tree burns the most CPU over `sampleMs`: a worker running
 * a task, not an idle spare waiting for a job.
 */
export async function busiestChild(parent: number, sampleMs = 300): Promise<number | undefined> {
  const before = new Map(childPids(parent).map((c) => [c, treeCpuMs(c)]));
  await new Promise((r) => setTimeout(r, sampleMs));
  let best: { pid: number; used: number } | undefined;
  for (const [pid, cpu] of before) {
    const used = treeCpuMs(pid) - cpu;
    if (!best || used > best.used) best = { pid, used };
  }
  return best?.pid;
}

export function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The one-letter state of `pid` in /proc (R, S, T for stopped, Z, …); undefined once it is gone. */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0];
  } catch {
    return undefined;
  }
}

/** Every process below `pid` (children, their children, …). */
export function descendants(pid: number): number[] {
  return childPids(pid).flatMap((c) => [c, ...descendants(c)]);
}
