import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../shared/errors.js';
import { jobFileSchema } from '../../../shared/job-file.js';
import { mismatch } from '../../../shared/requirements.js';
import { parseOrThrow } from '../../../shared/validate.js';

const parse = (v: unknown) => parseOrThrow(jobFileSchema, v, 'bad job file');
function fields(v: unknown): string[] {
  try {
    parse(v);
  } catch (err) {
    if (err instanceof ValidationError) return err.issues.map((i) => i.field);
    throw err;
  }
  return [];
}

describe('job file schema', () => {
  it('fills the documented defaults', () => {
    const job = parse({ name: 'j', runtime: 'node', module: 'm.mjs', tasks: { inputs: [1] } });
    expect(job.limits).toEqual({
      timeoutSec: 600,
      maxAttempts: 3,
      maxOutputFiles: 100,
      maxOutputBytes: 1024 ** 3,
    });
    expect(job.priority).toBe(0);
    expect(job.files).toEqual([]);
    expect(job.requirements).toEqual({});
  });

  it('accepts the example of docs/job-file.md', () => {
    expect(
      fields({
        name: 'count-primes',
        runtime: 'node',
        module: './count-primes.mjs',
        tasks: { sweep: { from: { range: [0, 1000000, 10000] }, width: [10000] } },
        files: ['data/*.csv'],
        requirements: { platforms: ['linux', 'darwin', 'win32'], minMemoryMb: 512, tags: [] },
        limits: { timeoutSec: 600, maxAttempts: 3 },
        priority: 0,
      }),
    ).toEqual([]);
  });

  it.each([
    [{ runtime: 'node', module: 'm', tasks: { inputs: [1] } }, 'name'],
    [{ name: 'j', runtime: 'command', tasks: { inputs: [1] } }, 'command'],
    [
      { name: 'j', runtime: 'node', module: 'm', command: ['x'], tasks: { inputs: [1] } },
      'command',
    ],
    [{ name: 'j', runtime: 'node', module: 'm', tasks: {} }, 'tasks'],
    [{ name: 'j', runtime: 'node', module: '/abs.mjs', tasks: { inputs: [1] } }, 'module'],
    [
      { name: 'j', runtime: 'node', module: 'm', tasks: { inputs: [1] }, outputs: ['o'] },
      'outputs',
    ],
    [
      { name: 'j', runtime: 'node', module: 'm', tasks: { sweep: { 'bad-name': [1] } } },
      'tasks.sweep.bad-name',
    ],
    [
      {
        name: 'j',
        runtime: 'node',
        module: 'm',
        tasks: { inputs: [1] },
        requirements: { platforms: ['amiga'] },
      },
      'requirements.platforms.0',
    ],
    [
      {
        name: 'j',
        runtime: 'node',
        module: 'm',
        tasks: { inputs: [1] },
        limits: { maxAttempts: 0 },
      },
      'limits.maxAttempts',
    ],
    [
      { name: 'j', runtime: 'node', module: 'm', tasks: { inputs: [1] }, priority: 1.5 },
      'priority',
    ],
  ])('names the bad field (%#: %s)', (job, field) => {
    expect(fields(job)).toContain(field);
  });
});

describe('isolation and network in the job file', () => {
  const base = { name: 'j', runtime: 'node', module: 'm.mjs', tasks: { inputs: [1] } };

  it('defaults to no network and accepts a sandbox requirement and output limits', () => {
    expect(parse(base).network).toBe(false);
    const job = parse({
      ...base,
      network: true,
      requirements: { isolation: 'sandbox' },
      limits: { maxOutputFiles: 10, maxOutputBytes: 1_000_000 },
    });
    expect(job).toMatchObject({
      network: true,
      requirements: { isolation: 'sandbox' },
      limits: { maxOutputFiles: 10, maxOutputBytes: 1_000_000 },
    });
  });

  it.each([
    [{ network: 'yes' }, 'network'],
    [{ requirements: { isolation: 'vm' } }, 'requirements.isolation'],
    [{ limits: { maxOutputFiles: -1 } }, 'limits.maxOutputFiles'],
    [{ limits: { maxOutputBytes: 1.5 } }, 'limits.maxOutputBytes'],
  ])('names the bad field of %j', (extra, field) => {
    expect(fields({ ...base, ...extra })).toEqual([field]);
  });
});

describe('requirements: isolation and network', () => {
  const caps = {
    cores: 4,
    memoryMb: 8000,
    platform: 'linux' as const,
    arch: 'x64',
    runtimes: ['node' as const],
    tags: [],
    slots: 2,
  };

  it('a sandbox requirement matches only a sandboxed contributor, saying why not', () => {
    const req = { isolation: 'sandbox' as const };
    expect(mismatch(req, 'node', { ...caps, isolation: 'sandbox' })).toBeNull();
    expect(mismatch(req, 'node', { ...caps, isolation: 'permission-model' })).toBe(
      'isolation=sandbox (an operating-system sandbox)',
    );
    expect(mismatch(req, 'node', caps)).toMatch(/isolation=sandbox/); // older: did not say
  });

  it('a job asking for the network matches only where the owner allows it', () => {
    expect(mismatch({}, 'node', caps, true)).toBe('network allowed (--allow-network)');
    expect(mismatch({}, 'node', { ...caps, network: true }, true)).toBeNull();
    expect(mismatch({}, 'node', caps, false)).toBeNull();
  });
});
