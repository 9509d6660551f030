// The names of running programs, one sampler interface over three platforms: Linux reads /proc
// directly (comm, argv[0] and exe basenames: no process spawned per sample), Windows asks
// `tasklist`, macOS `ps`; the last two run in the background and the latest answer is used.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { programKey } from './owner-policy-programs.js';

/** Program names (keys from `programKey`), or why they cannot be listed here. */
export type ProgramListing = { names: ReadonlySet<string> } | { unknown: string };

export interface ProgramLister {
  list(): ProgramListing;
}

function basename(p: string): string {
  return path.basename(p.replace(/\\/g, '/'));
}

/** Every process's comm, argv[0] basename and exe basename under a /proc root. */
export function procNames(procRoot = '/proc'): ProgramListing {
  let pids: string[];
  try {
    pids = readdirSync(procRoot).filter((n) => /^\d+$/.test(n));
  } catch (err) {
    return { unknown: `cannot read ${procRoot}: ${(err as Error).message}` };
  }
  const names = new Set<string>();
  const add = (n: string | undefined) => {
    const k = n ? programKey(n) : '';
    if (k) names.add(k);
  };
  for (const pid of pids) {
    const dir = path.join(procRoot, pid);
    try {
      add(readFileSync(path.join(dir, 'comm'), 'utf8'));
    } catch {
      continue; // ended while we looked
    }
    try {
      const argv0 = readFileSync(path.join(dir, 'cmdline'), 'utf8').split('\0')[0];
      if (argv0) add(basename(argv0));
    } catch {
      /* ended, or not ours to read */
    }
    try {
      add(basename(readlinkSync(path.join(dir, 'exe'))).replace(/ \(deleted\)$/, ''));
    } catch {
      /* another user's process: comm and argv[0] still tell */
    }
  }
  return { names };
}

/** `tasklist /fo csv /nh`: `"Image Name","PID",…` per line. */
export function parseTasklistCsv(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^"([^"]+)"/.exec(line.trim());
    if (m?.[1]) names.add(programKey(m[1]));
  }
  return names;
}

/** `ps -axco comm`: a header, then one command name per line. */
export function parsePsComm(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n').slice(1)) {
    const k = programKey(line);
    if (k) names.add(k);
  }
  return names;
}

export type RunCommand = (cmd: string, args: string[]) => Promise<string>;

/** Runs a command (bounded in time and output) and resolves with its stdout. */
export const runCommand: RunCommand = (cmd, args) =>
  new Promise((resolve, reject) =>
    execFile(
      cmd,
      args,
      { timeout: 5_000, maxBuffer: 4 * 1024 * 1024, windowsHide: true },
      (err, stdout) => {
        if (!err) return resolve(stdout);
        const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
        reject(new Error(missing ? `${cmd} is not installed` : err.message));
      },
    ),
  );

/**
 * A command run in the background whenever the last answer is read and none is under way: the
 * caller gets the latest answer at once (a sample never waits for a process to start).
 */
export class BackgroundQuery<T> {
  private last: { value: T } | { unknown: string };
  private running = false;

  constructor(
    private readonly query: () => Promise<T>,
    firstWhy: string,
  ) {
    this.last = { unknown: firstWhy };
  }

  read(): { value: T } | { unknown: string } {
    if (!this.running) {
      this.running = true;
      this.query()
        .then(
          (value) => (this.last = { value }),
          (err: unknown) => (this.last = { unknown: (err as Error).message || String(err) }),
        )
        .finally(() => (this.running = false));
    }
    return this.last;
  }

  /** The answer under way, for tests and for a first sample that should not be empty. */
  async settled(): Promise<{ value: T } | { unknown: string }> {
    while (this.running) await new Promise((r) => setTimeout(r, 10));
    return this.last;
  }
}

function commandLister(
  cmd: string,
  args: string[],
  parse: (t: string) => Set<string>,
  run: RunCommand,
): ProgramLister {
  const q = new BackgroundQuery(async () => parse(await run(cmd, args)), 'listing programs…');
  return {
    list: () => {
      const r = q.read();
      return 'value' in r ? { names: r.value } : { unknown: `${cmd}: ${r.unknown}` };
    },
  };
}

/** The lister of this platform. */
export function programLister(
  platform: NodeJS.Platform = process.platform,
  o: { procRoot?: string; run?: RunCommand } = {},
): ProgramLister {
  const run = o.run ?? runCommand;
  if (platform === 'linux') return { list: () => procNames(o.procRoot) };
  if (platform === 'win32')
    return commandLister('tasklist', ['/fo', 'csv', '/nh'], parseTasklistCsv, run);
  if (platform === 'darwin') return commandLister('ps', ['-axco', 'comm'], parsePsComm, run);
  return { list: () => ({ unknown: `programs are not listed on ${platform}` }) };
}
