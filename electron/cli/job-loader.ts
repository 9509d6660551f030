// Turns a job file on disk into a submitted job: validate, upload module, files and inputs by sha256.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import fg from 'fast-glob';
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

export async function readJobFile(path: string): Promise<JobFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ValidationError('bad job file', [
      {
        field: '(file)',
        message: `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      },
    ]);
  }
  let data: unknown;
  try {
    data = extname(path) === '.json' ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new ValidationError('bad job file', [
      {
        field: '(file)',
        message: `not valid ${extname(path) === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`,
      },
    ]);
  }
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
  if (job.module) {
    const data = await readFor('module', resolve(root, job.module));
    module = { name: job.module, sha256: await upload(client, data), size: data.length };
  }
  const inputsBlob = job.tasks.inputsFile
    ? await upload(client, await readFor('tasks.inputsFile', resolve(root, job.tasks.inputsFile)))
    : undefined;
  return specFromJobFile(
    job,
    { ...(module ? { module } : {}), files, ...(inputsBlob ? { inputsBlob } : {}) },
    owner,
  );
}
