// CPU time of a live process from /proc/<pid>/stat (Linux); undefined elsewhere or once it is gone.
import { readFileSync } from 'node:fs';

// USER_HZ is 100 on every Linux architecture Node supports; `getconf CLK_TCK` would need a child process.
const TICKS_PER_SECOND = 100;

/**
 * utime + stime of `pid`, plus cutime + cstime (children it has already waited for) when
 * `withChildren`: a command's shell script that waits for its tools then counts them too.
 */
export function readCpuMs(pid: number, withChildren = false): number | undefined {
  if (process.platform !== 'linux') return undefined;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so field n of proc(5) is fields[n - 3].
  const ticks = [11, 12, ...(withChildren ? [13, 14] : [])].reduce(
    (sum, i) => sum + Number(fields[i] ?? 0),
    0,
  );
  return Number.isFinite(ticks) ? Math.round((ticks * 1000) / TICKS_PER_SECOND) : undefined;
}

/**
 * CPU time of the children this process has waited for (cutime + cstime of /proc/self/stat): the
 * kernel adds a child's whole rusage here when it is reaped, so the change across one command's
 * life is that command's CPU, however short it ran. Undefined off Linux.
 */
export function readWaitedChildrenCpuMs(): number | undefined {
  if (process.platform !== 'linux') return undefined;
  let stat: string;
  try {
    stat = readFileSync('/proc/self/stat', 'utf8');
  } catch {
    return undefined;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[13] ?? NaN) + Number(fields[14] ?? NaN);
  return Number.isFinite(ticks) ? Math.round((ticks * 1000) / TICKS_PER_SECOND) : undefined;
}

let reaped = 0;

/** Every child this process starts calls this when it has exited (been reaped). */
export function noteChildReaped(): void {
  reaped++;
}

/** How many children have been reaped so far. */
export function childrenReaped(): number {
  return reaped;
}

/** True while `pid` exists (a zombie counts until reaped). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
