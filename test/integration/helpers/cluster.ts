// Test harness: real coordinator and contributor processes from the built CLI, on 127.0.0.1, cleaned up.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { JobSummary } from '../../../shared/api.js';
import { ApiClient } from '../../../electron/cli/client.js';

export const ROOT = resolve(import.meta.dirname, '../../..');
export const CLI = join(ROOT, 'bin/colony.js');

export interface Proc {
  child: ChildProcess;
  pid: number;
  output: () => string;
  exited: Promise<number | null>;
}

/** The command line of `colony ...args`; `ip netns exec NS` execs in place, so the pid is node's. */
function colonyCommand(args: string[], netns?: string): [string, string[]] {
  return netns
    ? ['ip', ['netns', 'exec', netns, process.execPath, CLI, ...args]]
    : [process.execPath, [CLI, ...args]];
}

/** Start `colony ...args` and wait until a stdout line matches `ready`. */
export async function startProc(
  args: string[],
  ready: RegExp,
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 20_000,
  /** Run inside a network namespace: `ip netns exec NS` execs in place, so the pid is node's. */
  netns?: string,
): Promise<Proc & { match: RegExpExecArray }> {
  const [cmd, argv] = colonyCommand(args, netns);
  const child = spawn(cmd, argv, {
    env: { ...process.env, COLONY_LOG: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const match = await new Promise<RegExpExecArray>((res, rej) => {
    const timer = setTimeout(
      () => rej(new Error(`timed out waiting for ${String(ready)}; output:\n${out}`)),
      timeoutMs,
    );
    const check = () => {
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout.off('data', check);
        res(m);
      }
    };
    child.stdout.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`colony ${args[0]} exited with ${code} before it was ready:\n${out}`));
    });
  });
  return { child, pid: child.pid as number, output: () => out, exited, match };
}

/** Run `colony ...args` to completion (inside a network namespace when `netns` is given). */
export async function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  netns?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [cmd, argv] = colonyCommand(args, netns);
  const child = spawn(cmd, argv, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  return { code, stdout, stderr };
}

export class Cluster {
  readonly procs: Proc[] = [];
  coordinator: (Proc & { url: string }) | undefined;
  readonly contributors: Proc[] = [];
  port = 0;

  private constructor(readonly dir: string) {}

  static async create(): Promise<Cluster> {
    return new Cluster(await mkdtemp(join(tmpdir(), 'colony-it-')));
  }

  get dataDir(): string {
    return join(this.dir, 'coordinator');
  }

  async identity(): Promise<{ adminToken: string; joinSecret: string; coordinatorId: string }> {
    return JSON.parse(await readFile(join(this.dataDir, 'identity.json'), 'utf8')) as never;
  }

  async startCoordinator(extraArgs: string[] = []): Promise<string> {
    const proc = await startProc(
      [
        'coordinator',
        '--data',
        this.dataDir,
        '--port',
        String(this.port),
        '--no-mdns',
        ...extraArgs,
      ],
      /listening at (https:\/\/\S+)/,
    );
    const url = proc.match[1] as string;
    this.port = Number(new URL(url).port);
    this.coordinator = { ...proc, url };
    this.procs.push(proc);
    return url;
  }

  /** The join token, as `colony token join` prints it for this coordinator. */
  async joinToken(): Promise<string> {
    const res = await this.cli([
      'token',
      'join',
      '--data',
      this.dataDir,
      '--address',
      `127.0.0.1:${this.port}`,
    ]);
    if (res.code !== 0) throw new Error(res.stderr);
    return res.stdout.trim();
  }

  async startContributor(name: string, workers = 2, extraArgs: string[] = []): Promise<Proc> {
    const token = await this.joinToken();
    const proc = await startProc(
      [
        'contributor',
        '--join',
        token,
        '--data',
        join(this.dir, name),
        '--workers',
        String(workers),
        '--heartbeat',
        '300',
        '--no-mdns',
        ...extraArgs,
      ],
      /contributor (\S+) serving/,
    );
    this.contributors.push(proc);
    this.procs.push(proc);
    return proc;
  }

  async client(): Promise<ApiClient> {
    if (!this.coordinator) throw new Error('no coordinator');
    const endpoint = JSON.parse(await readFile(join(this.dataDir, 'coordinator.json'), 'utf8')) as {
      fingerprint: string;
    };
    return new ApiClient(
      this.coordinator.url,
      (await this.identity()).adminToken,
      endpoint.fingerprint,
    );
  }

  /** Write a job folder (job.yaml plus files) under the cluster's temp dir. */
  async writeJob(name: string, files: Record<string, string>): Promise<string> {
    const dir = join(this.dir, 'jobs', name);
    for (const [file, text] of Object.entries(files)) {
      await mkdir(join(dir, file, '..'), { recursive: true });
      await writeFile(join(dir, file), text);
    }
    return join(dir, 'job.yaml');
  }

  /** Run a CLI command to completion. */
  cli(
    args: string[],
    env: NodeJS.ProcessEnv = {},
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return runCli(args, env);
  }

  /** Poll a job until it is final; bounded in time. */
  async waitJob(id: string, timeoutMs = 60_000): Promise<JobSummary> {
    const client = await this.client();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = await client.json<JobSummary>('GET', `/jobs/${id}`);
      if (['succeeded', 'failed', 'cancelled'].includes(job.state)) return job;
      if (Date.now() > deadline)
        throw new Error(
          `job ${id} still ${job.state} after ${timeoutMs} ms: ${JSON.stringify(job.counts)}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async results(
    id: string,
  ): Promise<{ task: number; input: unknown; output?: unknown; error?: string }[]> {
    const res = await (await this.client()).request('GET', `/jobs/${id}/results`);
    return (await res.text())
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as never);
  }

  kill(proc: Proc, signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    const alive = () => proc.child.exitCode === null && proc.child.signalCode === null;
    if (alive()) process.kill(proc.pid, signal);
    if (signal === 'SIGKILL') return proc.exited;
    // A process that does not stop politely within 5 s is killed: tests never leave strays.
    const timer = setTimeout(() => alive() && process.kill(proc.pid, 'SIGKILL'), 5_000);
    return proc.exited.finally(() => clearTimeout(timer));
  }

  async stop(): Promise<void> {
    await Promise.all(this.procs.map((p) => this.kill(p, 'SIGTERM').then(() => undefined)));
    await rm(this.dir, { recursive: true, force: true });
  }
}
