// Glob matching as fast-glob does it for the CLI, and a job file's paths resolved in a picked folder.
import { describe, expect, it } from 'vitest';
import { expandBraces, matchGlob } from '../../../shared/glob.js';
import { findJobFile, planJobFolder } from '../../../shared/job-folder.js';
import { jobFileSchema } from '../../../shared/job-file.js';

const FOLDER = [
  'job.yaml',
  'square.mjs',
  'data/a.csv',
  'data/b.csv',
  'data/sub/c.csv',
  'data/.hidden.csv',
  'inputs.ndjson',
  'lib/x.js',
];

describe('glob', () => {
  it.each([
    ['data/*.csv', ['data/a.csv', 'data/b.csv']],
    ['./data/*.csv', ['data/a.csv', 'data/b.csv']],
    ['data/**/*.csv', ['data/a.csv', 'data/b.csv', 'data/sub/c.csv']],
    ['data/**', ['data/a.csv', 'data/b.csv', 'data/sub/c.csv']],
    ['data/.hidden.csv', ['data/.hidden.csv']],
    ['data/?.csv', ['data/a.csv', 'data/b.csv']],
    ['data/[a].csv', ['data/a.csv']],
    ['data/[!a].csv', ['data/b.csv']],
    ['{lib/*.js,square.mjs}', ['lib/x.js', 'square.mjs']],
    ['*.mjs', ['square.mjs']],
    ['nothing/*', []],
  ])('%s', (pattern, expected) => {
    expect(matchGlob(pattern, FOLDER)).toEqual(expected);
  });

  it('expands nested braces and keeps unbalanced ones', () => {
    expect(expandBraces('a{b,c{d,e}}f')).toEqual(['abf', 'acdf', 'acef']);
    expect(expandBraces('a{b')).toEqual(['a{b']);
  });
});

describe('job folder', () => {
  it('finds job.yaml, or the only top-level YAML/JSON file', () => {
    expect(findJobFile(FOLDER)).toBe('job.yaml');
    expect(findJobFile(['x/job.yaml', 'render.yml', 'm.mjs'])).toBe('render.yml');
    expect(findJobFile(['a.json', 'b.yaml'])).toBeUndefined();
  });

  it('resolves module, globs (each file once) and inputsFile', () => {
    const job = jobFileSchema.parse({
      name: 'j',
      runtime: 'node',
      module: './square.mjs',
      files: ['data/*.csv', 'data/a.csv'],
      tasks: { inputsFile: 'inputs.ndjson' },
    });
    expect(planJobFolder(job, FOLDER)).toEqual({
      module: 'square.mjs',
      files: ['data/a.csv', 'data/b.csv'],
      inputsFile: 'inputs.ndjson',
      issues: [],
    });
  });

  it('names the fields whose paths are missing', () => {
    const job = jobFileSchema.parse({
      name: 'j',
      runtime: 'node',
      module: 'missing.mjs',
      files: ['data/*.csv', 'none/*.bin'],
      tasks: { inputsFile: 'gone.csv' },
    });
    expect(planJobFolder(job, FOLDER).issues.map((i) => i.field)).toEqual([
      'module',
      'tasks.inputsFile',
      'files.1',
    ]);
  });
});
