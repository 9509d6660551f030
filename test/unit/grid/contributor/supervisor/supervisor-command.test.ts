// Command runtime: opt-in, argument templates, output collection, exit codes, group kill.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRequest } from '../../../../../electron/grid/contributor/supervisor/supervisor.js';
import { isAlive } from '../../../../../electron/grid/worker/proc-stat.js';
import { startHarness, type Harness } from '../../worker/harness.js';

function commandRequest(
  attemptId: string,
  command: string[],
  input: unknown,
  extra: Partial<RunRequest> = {},
): RunRequest {
  return {
    attemptId,
    runtime: 'command',
    command,
    input,
    files: [],
    outputs: [],
    timeoutMs: 20_000,
    ...extra,
  };
}

/** Pids in process group `pgid` that are not zombies (Linux /proc; empty elsewhere). */
function liveGroupMembers(pgid: number): number[] {
  if (process.platform !== 'linux') return [];
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return Number(pgrp) === pgid && state !== 'Z' ? [Number(d)] : [];
      } catch {
        return [];
      }
    });
}

describe.runIf(process.platform !== 'win32')('Supervisor command runtime', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ slots: 2, allowCommands: true });
  });
  afterAll(async () => {
    await h.cleanup();
  });

  it('fills {name} templates, captures stdout and collects output files', async () => {
    const staged = path.join(h.blobCacheDir, 'in.txt');
    writeFileSync(staged, 'hello');
    const script = 'mkdir -p out && cat data/in.txt > "out/f$1.txt" && echo "frame $1 of $2"';
    const logs: string[] = [];
    const outcome = await h.supervisor.run(
      commandRequest(
        'cmd-1',
        ['sh', '-c', script, 'sh', '{frame}', '{total}'],
        { frame: 7, total: 'ten' },
        {
          files: [{ name: 'data/in.txt', path: staged }],
          outputs: ['out/*.txt', 'data/*'],
        },
      ),
      { onLog: (l) => logs.push(l) },
    );
    expect(outcome).toMatchObject({
      state: 'succeeded',
      output: { exitCode: 0, stdout: 'frame 7 of ten\n' },
    });
    if (outcome.state !== 'succeeded') return;
    // The staged symlink matches data/* but is never collected.
    expect(outcome.outputFiles.map((f) => [f.name, f.size])).toEqual([['out/f7.txt', 5]]);
    expect(readFileSync(outcome.outputFiles[0]?.path ?? '', 'utf8')).toBe('hello');
    expect(logs).toContain('frame 7 of ten');
    await h.supervisor.removeOutputs('cmd-1');
  });

  it('hands stdout and stderr to onOutput as written, and reports exit 0 and the CPU of a short command', async () => {
    const chunks: Record<string, Buffer[]> = { stdout: [], stderr: [] };
    // About 0.1 s of CPU, well under the 250 ms /proc sampling interval.
    const script =
      'i=0; while [ $i -lt 60000 ]; do i=$((i+1)); done; printf "a\\tb\\nno newline"; echo oops >&2';
    const outcome = await h.supervisor.run(commandRequest('cmd-out', ['sh', '-c', script], {}), {
      onOutput: (stream, data) =>
        chunks[stream]?.push(typeof data === 'string' ? Buffer.from(data) : data),
    });
    expect(outcome).toMatchObject({ state: 'succeeded', exitCode: 0 });
    expect(Buffer.concat(chunks.stdout ?? []).toString()).toBe('a\tb\nno newline');
    expect(Buffer.concat(chunks.stderr ?? []).toString()).toBe('oops\n');
    if (process.platform === 'linux') expect(outcome.cpuMs).toBeGreaterThan(0);
  });

  it("gives a command none of the contributor's environment beyond PATH and the locale", async () => {
    const secrets = { AWS_SECRET_ACCESS_KEY: 'owner-secret-1', COLONY_TOKEN: 'owner-secret-2' };
    const home = process.env.HOME;
    Object.assign(process.env, secrets, { HOME: '/root-of-the-owner' });
    try {
      const outcome = await h.supervisor.run(commandRequest('cmd-env', ['env'], {}));
      expect(outcome).toMatchObject({ state: 'succeeded' });
      if (outcome.state !== 'succeeded') return;
      const seen = (outcome.output as { stdout: string }).stdout;
      const keys = seen.split('\n').flatMap((l) => (l.includes('=') ? [l.split('=')[0]] : []));
      expect(seen).not.toContain('owner-secret');
      expect(seen).not.toContain('/root-of-the-owner');
      expect(keys).toContain('PATH');
      expect(
        keys.every((k) =>
          /^(PATH|LANG|LC_\w+|TZ|HOME|TMPDIR|TEMP|TMP|USERPROFILE|PWD|SHLVL|_)$/.test(k ?? ''),
        ),
      ).toBe(true);
    } finally {
      for (const k of Object.keys(secrets)) delete process.env[k];
      process.env.HOME = home;
    }
  });

  it('names a missing template field', async () => {
    const outcome = await h.supervisor.run(
      commandRequest('cmd-2', ['echo', '{frame}'], { other: 1 }),
    );
    expect(outcome).toMatchObject({ state: 'failed', reason: 'error' });
    expect(outcome.state === 'failed' && outcome.error).toMatch(/no field "frame"/);
  });

  it('fails a non-zero exit with the stderr tail and exit code', async () => {
    const outcome = await h.supervisor.run(
      commandRequest('cmd-3', ['sh', '-c', 'echo broken >&2; exit 4'], {}),
    );
    expect(outcome).toMatchObject({
      state: 'failed',
      reason: 'error',
      exitCode: 4,
      error: 'command exited with code 4: broken',
    });
  });

  it('cancels the whole process group', async () => {
    const running = h.supervisor.run(
      commandRequest('cmd-4', ['sh', '-c', 'sleep 30 & sleep 30; wait'], {}),
    );
    await new Promise((r) => setTimeout(r, 300));
    const pid = h.supervisor.probe('cmd-4')?.pid ?? 0;
    expect(pid).toBeGreaterThan(0);
    const started = Date.now();
    await h.supervisor.cancel('cmd-4');
    expect(await running).toMatchObject({ state: 'cancelled' });
    expect(Date.now() - started).toBeLessThan(20_000); // killed, not waited out (30 s)
    // Killed members may linger as zombies until init reaps them; none may still be running.
    expect(liveGroupMembers(pid)).toEqual([]);
    expect(isAlive(pid)).toBe(false);
  });

  it('kills a command at its time limit', async () => {
    const outcome = await h.supervisor.run(
      commandRequest('cmd-5', ['sleep', '30'], {}, { timeoutMs: 300 }),
    );
    expect(outcome).toMatchObject({ state: 'failed', reason: 'timeout' });
  });
});

describe('Supervisor without --allow-commands', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ slots: 1, allowCommands: false });
  });
  afterAll(async () => {
    await h.cleanup();
  });

  it('refuses command tasks as not-allowed', async () => {
    const outcome = await h.supervisor.run(commandRequest('cmd-no', ['echo', 'hi'], {}));
    expect(outcome).toMatchObject({ state: 'failed', reason: 'not-allowed' });
    expect(outcome.state === 'failed' && outcome.error).toMatch(/--allow-commands/);
    expect(h.supervisor.freeSlots).toBe(1);
  });
});
