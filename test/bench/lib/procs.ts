// Child processes of the bench: started, measured (CPU, RSS from /proc) and always stopped by pid.
import { spawn, fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';

/** The repository root: the nearest folder up with bin/colony.js (the bench runs from dist/). */
export const ROOT = (() => {
  let dir = import.meta.dirname;
  for (let i = 0; i < 10 && !existsSync(resolve(dir, 'bin/colony.js')); i++) dir = dirname(dir);
  return dir;
})();
export const CLI = resolve(ROOT, 'bin/colony.js');

const started = new Set<ChildProcess>();

/** Kill every child still running: on normal exit and on signals, the bench never leaves strays. */
export function killAll(): void {
  for (const child of started)
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  started.clear();
}
process.on('exit', killAll);

export function track(child: ChildProcess): ChildProcess {
  started.add(child);
  child.once('exit', () => started.delete(child));
  return child;
}

export interface Proc {
  child: ChildProcess;
  pid: number;
  output: () => string;
  exited: Promise<number | null>;
}

/** Spawn `cmd args` and wait (bounded) until its output matches `ready`. */
export async function spawnUntil(
  cmd: string,
  args: string[],
  ready: RegExp,
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
): Promise<Proc & { match: RegExpExecArray }> {
  const child = track(
    spawn(cmd, args, {
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: opts.cwd ?? ROOT,
    }),
  );
  let out = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const match = await new Promise<RegExpExecArray>((res, rej) => {
    const timer = setTimeout(
      () => rej(new Error(`timed out waiting for ${String(ready)} from ${cmd}:\n${out}`)),
      opts.timeoutMs ?? 30_000,
    );
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.length > 1_000_000) out = out.slice(-100_000);
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        res(m);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`${cmd} exited with ${code} before it was ready:\n${out}`));
    });
  });
  return { child, pid: child.pid as number, output: () => out, exited, match };
}

/** Stop a child politely, then for sure after `graceMs`. */
export async function stop(proc: { child: ChildProcess }, graceMs = 5_000): Promise<void> {
  const { child } = proc;
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

const TICKS_PER_S = 100; // USER_HZ on Linux

/** CPU time (ms) used so far by a process, from /proc/<pid>/stat (utime + stime). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_S;
}

/** Resident set size (MB) of a process now. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
  return Number(kb ?? 0) / 1024;
}

/** Samples a process's RSS every `everyMs` until stopped; returns the peak. */
export function rssSampler(pid: number, everyMs = 100): { stop: () => number } {
  let peak = 0;
  const sample = () => {
    try {
      peak = Math.max(peak, rssMb(pid));
    } catch {
      // the process ended
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

/** A free TCP port on 127.0.0.1 (for servers that cannot be told to pick one themselves). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

interface RpcReply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

/** A forked bench child (compiled JS beside this file) answering `call(cmd, args)` over IPC. */
export class RpcChild {
  private nextId = 1;
  private readonly waiting = new Map<
    number,
    { res: (v: unknown) => void; rej: (e: Error) => void }
  >();
  readonly child: ChildProcess;

  constructor(script: string, execArgv: string[] = []) {
    this.child = track(
      fork(script, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
    );
    this.child.on('message', (m: RpcReply) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.ok) w.res(m.result);
      else w.rej(new Error(m.error ?? 'child failed'));
    });
    this.child.once('exit', (code) => {
      for (const w of this.waiting.values()) w.rej(new Error(`bench child exited with ${code}`));
      this.waiting.clear();
    });
  }

  get pid(): number {
    return this.child.pid as number;
  }

  call<T>(cmd: string, args: unknown = {}, timeoutMs = 300_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((res, rej) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        rej(new Error(`bench child: ${cmd} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, {
        res: (v) => {
          clearTimeout(timer);
          res(v as T);
        },
        rej: (e) => {
          clearTimeout(timer);
          rej(e);
        },
      });
      this.child.send({ id, cmd, args });
    });
  }

  async close(): Promise<void> {
    await stop(this, 3_000);
  }
}

/** Child side of RpcChild: dispatch each request to a handler and reply with its result. */
export function serveRpc(handlers: Record<string, (args: never) => Promise<unknown>>): void {
  process.on('message', (m: { id: number; cmd: string; args: unknown }) => {
    const handler = handlers[m.cmd];
    const reply = (r: Omit<RpcReply, 'id'>) => process.send?.({ id: m.id, ...r });
    if (!handler) return reply({ ok: false, error: `unknown command ${m.cmd}` });
    handler(m.args as never).then(
      (result) => reply({ ok: true, result }),
      (err: unknown) => reply({ ok: false, error: err instanceof Error ? err.stack : String(err) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
