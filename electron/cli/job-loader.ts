// Turns a job file on disk into a submitted job: validate, upload module, files and inputs by sha256.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import fg from 'fast-glob';
import { JSON_LIMITS, checkJson } from '../../shared/bounded-json.js';
import YAML from 'yaml';
import { ValidationError } from '../../shared/errors.js';
import {
  jobFileSchema,
  specFromJobFile,
  type BlobRef,
  type JobFile,
  type JobSpecInput,
} from '../../shared/job-file.js';
import { parseOrThrow } from '../../shared/validate.js';
import type { ApiClient } from './client.js';
import { INPUT_LINES_CHECKED, knownInputs, placeholderIssues } from '../../shared/placeholders.js';
import { describeSyntaxProblem, moduleSyntaxError } from '../grid/module-syntax.js';

/** The first inputs of a local inputs file, each named by its line. */
function firstInputs(data: Buffer): { where: string; input: unknown }[] {
  const out: { where: string; input: unknown }[] = [];
  const head = 4 * 1024 * 1024;
  const lines = data
    .subarray(0, head)
    .toString('utf8')
    .split(/\r\n|\r|\n/);
  if (data.length > head) lines.pop(); // cut in the middle: not a whole line
  for (const [i, raw] of lines.entries()) {
    if (out.length >= INPUT_LINES_CHECKED) break;
    const line = raw.trim();
    if (line === '') continue;
    try {
      out.push({ where: `tasks.inputsFile line ${i + 1}`, input: JSON.parse(line) as unknown });
    } catch {
      throw new ValidationError('bad job file', [
        { field: 'tasks.inputsFile', message: `line ${i + 1} is not JSON` },
      ]);
    }
  }
  return out;
}

export async function readJobFile(path: string): Promise<JobFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ValidationError('bad job file', [
      {
        field: '',
        message: `cannot read ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : ((err as NodeJS.ErrnoException).code ?? String(err))}`,
      },
    ]);
  }
  let data: unknown;
  try {
    data = extname(path) === '.json' ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new ValidationError('bad job file', [
      {
        field: '',
        message: `${path} is not valid ${extname(path) === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`,
      },
    ]);
  }
  // The coordinator refuses a body past these limits; say so here, before zod walks it.
  const tooBig = checkJson(data, JSON_LIMITS.body, 'job file');
  if (tooBig)
    throw new ValidationError('bad job file', [
      { field: tooBig.field || '(file)', message: tooBig.message },
    ]);
  return parseOrThrow(jobFileSchema, data, 'bad job file');
}

async function upload(client: ApiClient, data: Buffer): Promise<string> {
  const sha = createHash('sha256').update(data).digest('hex');
  await client.request('PUT', `/blobs/${sha}`, undefined, {
    contentType: 'application/octet-stream',
    data,
  });
  return sha;
}

async function readFor(field: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch {
    throw new ValidationError('bad job file', [{ field, message: `cannot read ${path}` }]);
  }
}

/** Validate the job file, upload what it references, and return the spec to POST. */
export async function prepareJob(
  client: ApiClient,
  path: string,
  owner?: string,
): Promise<JobSpecInput> {
  const job = await readJobFile(path);
  const root = dirname(resolve(path));
  // Mistakes that would fail every task are refused before anything is uploaded.
  const inputsData = job.tasks.inputsFile
    ? await readFor('tasks.inputsFile', resolve(root, job.tasks.inputsFile))
    : undefined;
  if (job.runtime === 'command') {
    const issues = placeholderIssues(
      job.command,
      inputsData ? firstInputs(inputsData) : knownInputs(job.tasks),
    );
    if (issues.length > 0) throw new ValidationError('bad job file', issues);
  }
  const moduleData = job.module ? await readFor('module', resolve(root, job.module)) : undefined;
  if (job.module && moduleData) {
    const problem = moduleSyntaxError(moduleData.toString('utf8'));
    if (problem)
      throw new ValidationError('bad job file', [
        { field: 'module', message: describeSyntaxProblem(job.module, problem) },
      ]);
  }
  const files: BlobRef[] = [];
  for (const [i, pattern] of job.files.entries()) {
    const matches = await fg(pattern, { cwd: root, onlyFiles: true, dot: false });
    if (matches.length === 0)
      throw new ValidationError('bad job file', [
        { field: `files.${i}`, message: `${pattern} matches no file` },
      ]);
    for (const name of matches.sort()) {
      const data = await readFor(`files.${i}`, resolve(root, name));
      files.push({ name, sha256: await upload(client, data), size: data.length });
    }
  }
  let module: BlobRef | undefined;
  if (job.module && moduleData)
    module = {
      name: job.module,
      sha256: await upload(client, moduleData),
      size: moduleData.length,
    };
  const inputsBlob = inputsData ? await upload(client, inputsData) : undefined;
  return specFromJobFile(
    job,
    { ...(module ? { module } : {}), files, ...(inputsBlob ? { inputsBlob } : {}) },
    owner,
  );
}
