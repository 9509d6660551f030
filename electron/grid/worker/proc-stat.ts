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

/** True while `pid` exists (a zombie counts until reaped). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
