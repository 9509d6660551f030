// A command's CPU time: its own rusage however short it ran, never a sibling's reaped meanwhile.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandProcess } from '../../../../electron/grid/worker/command-runtime.js';

const BURN = 'i=0; while [ $i -lt 80000 ]; do i=$((i+1)); done'; // roughly 0.1–0.3 s of CPU

describe.runIf(process.platform === 'linux')('command CPU time', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'colony-cpu-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('counts a short command whole, though it ended before the first /proc sample', async () => {
    const alone = await new CommandProcess(['sh', '-c', BURN], dir, process.env).run();
    expect(alone.exitCode).toBe(0);
    expect(alone.cpuMs).toBeGreaterThan(20);
  });

  it('does not take the CPU of another child reaped during its life', async () => {
    const idle = new CommandProcess(['sh', '-c', 'sleep 1'], dir, process.env).run();
    const busy = await new CommandProcess(['sh', '-c', BURN], dir, process.env).run();
    const quiet = await idle;
    expect(busy.cpuMs).toBeGreaterThan(20);
    // Sleeping costs next to nothing; the busy sibling's CPU must not land here.
    expect(quiet.cpuMs).toBeLessThan(busy.cpuMs / 2);
  });
});
