import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../shared/errors.js';
import { jobFileSchema } from '../../../shared/job-file.js';
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
    expect(job.limits).toEqual({ timeoutSec: 600, maxAttempts: 3 });
    expect(job.priority).toBe(0);
    expect(job.files).toEqual([]);
    expect(job.requirements).toEqual({});
  });

  it('accepts the SPEC example', () => {
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
