// Fair share between users first: one job against ten still gets half the slots; weights and
// past usage move the split; priority orders only a user's own jobs; a capped user gets no more
// than their cap, even from idle slots.
import { describe, expect, it } from 'vitest';
import { JobRuntime } from '../../../../electron/grid/coordinator/engine/job-runtime.js';
import { pickJob, type Shares } from '../../../../electron/grid/coordinator/engine/scheduler.js';
import type { JobSpec } from '../../../../shared/job-file.js';
import type { Capabilities } from '../../../../shared/protocol.js';

const caps = {
  platform: 'linux',
  tags: [],
  cores: 64,
  slots: 64,
  os: 'linux',
  arch: 'x64',
  cpus: 64,
  memoryMb: 64_000,
  runtimes: ['node'],
};
let seq = 0;
function job(owner: string, priority = 0): JobRuntime {
  const spec = {
    name: `j${seq}`,
    runtime: 'node',
    priority,
    requirements: {},
    tasks: { inputs: [] },
  } as unknown as JobSpec;
  const j = new JobRuntime(`j${seq}`, ++seq, spec, priority, 'queued', 1000, 0, 0);
  j.owner = owner;
  return j;
}

/** Fills `slots` one at a time as the coordinator does; returns the slots each user got. */
function fill(jobs: JobRuntime[], slots: number, shares?: Shares): Map<string, number> {
  const got = new Map<string, number>();
  for (let i = 0; i < slots; i++) {
    const j = pickJob(jobs, caps as unknown as Capabilities, undefined, shares);
    if (!j) break;
    j.live.add(`a${i}`);
    got.set(j.owner, (got.get(j.owner) ?? 0) + 1);
  }
  return got;
}

describe('fair share between users', () => {
  it('gives a user with one job as many slots as a user with ten', () => {
    const jobs = [job('ann'), ...Array.from({ length: 10 }, () => job('bob'))];
    const got = fill(jobs, 20);
    expect(got.get('ann')).toBe(10);
    expect(got.get('bob')).toBe(10);
  });

  it('lets priority order only a user’s own jobs', () => {
    const low = job('ann', 0);
    const high = job('ann', 10);
    const bobs = job('bob', 100);
    const got = fill([low, high, bobs], 4);
    expect(got.get('ann')).toBe(2);
    expect(got.get('bob')).toBe(2);
    expect(high.live.size).toBe(2);
    expect(low.live.size).toBe(0);
  });

  it('splits by weight, and past usage breaks ties', () => {
    const jobs = [job('ann'), job('bob')];
    const weighted: Shares = { weight: (u) => (u === 'ann' ? 2 : 1), usage: () => 0 };
    const got = fill(jobs, 30, weighted);
    expect(got.get('ann')).toBe(20);
    expect(got.get('bob')).toBe(10);
    const fresh = [job('ann'), job('bob')];
    const used: Shares = { weight: () => 1, usage: (u) => (u === 'ann' ? 5_000 : 0) };
    expect(pickJob(fresh, caps as unknown as Capabilities, undefined, used)?.owner).toBe('bob');
  });

  it('holds a capped user to their limit, even with slots idle, and gives the rest to others', () => {
    const capped: Shares = {
      weight: () => 1,
      usage: () => 0,
      limit: (u) => (u === 'ann' ? 3 : undefined),
    };
    // ann alone: 3 slots of 10, the other 7 stay idle.
    const alone = [job('ann'), job('ann')];
    expect(fill(alone, 10, capped).get('ann')).toBe(3);
    // With bob waiting too: ann still 3, bob the other 7.
    const both = [job('ann'), job('bob')];
    const got = fill(both, 10, capped);
    expect(got.get('ann')).toBe(3);
    expect(got.get('bob')).toBe(7);
    // One of ann's attempts ends: the next free slot may go to her again.
    const annJob = both[0] as JobRuntime;
    annJob.live.delete([...annJob.live][0] as string);
    expect(pickJob(both, caps as unknown as Capabilities, undefined, capped)?.owner).toBe('ann');
  });
});
