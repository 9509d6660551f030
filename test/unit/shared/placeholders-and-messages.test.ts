// Submit-time checks and messages: command placeholders against known inputs; zod issues as sentences.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ValidationError } from '../../../shared/errors.js';
import { jobFileSchema, jobSpecSchema } from '../../../shared/job-file.js';
import { knownInputs, placeholderIssues, placeholders } from '../../../shared/placeholders.js';
import { parseOrThrow } from '../../../shared/validate.js';

function messageOf(schema: z.ZodType, value: unknown): string {
  try {
    parseOrThrow(schema, value, 'bad');
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as Error).message;
  }
  throw new Error('parsed');
}

describe('command placeholders at submit', () => {
  it('finds each placeholder once', () => {
    expect(
      placeholders(['render', '{scene}/{frame}.pov', '--frame={frame}', '{}', '{1x}']),
    ).toEqual(['scene', 'frame']);
  });

  it.each([
    [
      'a sweep axis typo',
      ['{fram}'],
      { sweep: { frame: [1], scene: ['a'] } },
      '{fram} is not a field of the task inputs (known fields: frame, scene)',
    ],
    [
      'an inputs typo',
      ['x', '{nme}'],
      { inputs: [{ name: 'a' }, { name: 'b' }] },
      '{nme} is not a field of the task inputs (known fields: name)',
    ],
    [
      'a field some inputs lack',
      ['{name}'],
      { inputs: [{ name: 'a' }, { other: 1 }] },
      '{name}: tasks.inputs.1 has no field "name" (it has: other)',
    ],
    [
      'inputs that are not objects',
      ['{x}'],
      { inputs: [1, 2] },
      '{x} is not a field of the task inputs (known fields: none)',
    ],
  ])('refuses %s', (_what, command, tasks, message) => {
    const issues = placeholderIssues(command, knownInputs(tasks));
    expect(issues).toEqual([expect.objectContaining({ field: 'command', message })]);
  });

  it.each([
    [['{frame}', '{scene}'], { sweep: { frame: { range: [0, 3] }, scene: ['a'] } }],
    [['echo', 'no placeholders'], { inputs: [1] }],
    [['{name}'], { inputs: [{ name: 'a' }, { name: 'b', extra: 1 }] }],
  ])('accepts %j', (command, tasks) => {
    expect(placeholderIssues(command, knownInputs(tasks))).toEqual([]);
  });
});

describe('validation messages for people', () => {
  const good = { name: 'n', runtime: 'node', module: 'm.mjs', tasks: { inputs: [1] } };

  it.each([
    [{ ...good, name: '' }, 'name: must not be empty'],
    [{ ...good, runtime: 'python' }, 'runtime: must be one of "node", "command" (not "python")'],
    [{ ...good, priority: 1.5 }, 'priority: must be a whole number, not the number 1.5'],
    [{ ...good, priority: 'high' }, 'priority: must be a number, not text'],
    [{ ...good, limits: { timeoutSec: 0 } }, 'limits.timeoutSec: must be more than 0'],
    [{ ...good, limits: { maxAttempts: 500 } }, 'limits.maxAttempts: must be at most 100'],
    [
      { ...good, requirements: { platforms: [] } },
      'requirements.platforms: needs at least one entry',
    ],
    [{ ...good, colour: 'red' }, 'colour: is not a known field (the fields here are name,'],
    [{ name: 'n', runtime: 'node', module: 'm.mjs' }, 'tasks: is required'],
    [[1, 2], 'bad: must be a mapping of fields, not a list'],
  ])('%j → %s', (value, text) => {
    const message = messageOf(jobFileSchema, value);
    expect(message).toContain(text);
    expect(message).not.toMatch(/Too small|Too big|Invalid input|Unrecognized|\(root\)/);
  });

  it("keeps a schema's own message", () => {
    expect(messageOf(jobFileSchema, { ...good, tasks: { sweep: { x: [] } } })).toContain(
      'tasks.sweep.x: an axis needs at least one value',
    );
    expect(
      messageOf(jobSpecSchema, { ...good, module: { name: 'm.mjs', sha256: 'x', size: 1 } }),
    ).toContain('module.sha256: must be 64 lowercase hex digits (sha256)');
  });

  it('names each unknown key as its own field', () => {
    try {
      parseOrThrow(z.strictObject({ a: z.number() }), { a: 1, b: 2, c: 3 }, 'bad');
    } catch (err) {
      expect((err as ValidationError).issues.map((i) => i.field)).toEqual(['b', 'c']);
    }
  });
});
