// Checks a submitted job against what the coordinator holds: its blobs exist, its task count is sane.
import type { JobSpec } from '../../../../shared/job-file.js';
import { ColonyError, ValidationError } from '../../../../shared/errors.js';
import { sweepCount } from '../../../../shared/sweep.js';
import type { BlobStore } from '../../store/blobs.js';
import type { BlobQuota } from '../blobs/blob-quota.js';
import type { Engine } from '../engine/engine.js';
import type { JobRuntime } from '../engine/job-runtime.js';
import { countNdjson, NdjsonCursor } from '../engine/ndjson-cursor.js';
import { readFile } from 'node:fs/promises';
import {
  INPUT_LINES_CHECKED,
  knownInputs,
  placeholderIssues,
} from '../../../../shared/placeholders.js';
import {
  describeSyntaxProblem,
  MAX_PARSED_MODULE_BYTES,
  moduleSyntaxError,
} from '../../module-syntax.js';
import { runtimeOf } from '../engine/recovery.js';

/** Every referenced blob must be uploaded first; returns the job's task count. */
export async function validateSubmission(
  spec: JobSpec,
  blobs: BlobStore,
  maxTasks: number,
  /** Checks declared sizes against the stored blobs too. */
  quota?: Pick<BlobQuota, 'sizeProblem'>,
): Promise<number> {
  const missing: { field: string; message: string }[] = [];
  if (spec.module && !(await blobs.has(spec.module.sha256)))
    missing.push({ field: 'module', message: `blob ${spec.module.sha256} not uploaded` });
  for (const [i, f] of spec.files.entries())
    if (!(await blobs.has(f.sha256)))
      missing.push({ field: `files.${i}`, message: `blob ${f.sha256} (${f.name}) not uploaded` });
  if (quota && missing.length === 0) {
    const sized = [
      ...(spec.module ? [{ field: 'module.size', ref: spec.module }] : []),
      ...spec.files.map((ref, i) => ({ field: `files.${i}.size`, ref })),
    ];
    for (const { field, ref } of sized) {
      const problem = quota.sizeProblem(ref);
      if (problem) missing.push({ field, message: problem });
    }
  }
  if (spec.tasks.inputsBlob && !(await blobs.has(spec.tasks.inputsBlob)))
    missing.push({
      field: 'tasks.inputsBlob',
      message: `blob ${spec.tasks.inputsBlob} not uploaded`,
    });
  if (missing.length > 0) throw new ValidationError('bad job', missing);

  let count: number;
  if (spec.tasks.sweep) count = sweepCount(spec.tasks.sweep);
  else if (spec.tasks.inputs) count = spec.tasks.inputs.length;
  else count = await countNdjson(blobs.path(spec.tasks.inputsBlob as string), maxTasks);
  if (count === 0)
    throw new ValidationError('bad job', [{ field: 'tasks', message: 'describes no task' }]);
  if (count > maxTasks)
    throw new ColonyError(
      'TOO_LARGE',
      `job has more than ${maxTasks} tasks (the coordinator's limit)`,
      {
        issues: [{ field: 'tasks', message: `more than ${maxTasks} tasks` }],
      },
    );
  await checkContent(spec, blobs);
  return count;
}

/** The first inputs of an input blob, each with the line it came from. */
function firstInputs(file: string): { where: string; input: unknown }[] {
  const cursor = new NdjsonCursor(file, 0);
  const out: { where: string; input: unknown }[] = [];
  for (let i = 0; i < INPUT_LINES_CHECKED; i++) {
    const next = cursor.next();
    if (!next) break;
    out.push({ where: `tasks.inputsFile input ${i + 1}`, input: next.input });
  }
  return out;
}

/** Mistakes visible before anything runs: placeholders no input fills, a module that does not parse. */
async function checkContent(spec: JobSpec, blobs: BlobStore): Promise<void> {
  if (spec.runtime === 'command') {
    const inputs = spec.tasks.inputsBlob
      ? firstInputs(blobs.path(spec.tasks.inputsBlob))
      : knownInputs(spec.tasks);
    const issues = placeholderIssues(spec.command, inputs);
    if (issues.length > 0) throw new ValidationError('bad job', issues);
  }
  if (spec.module && spec.module.size <= MAX_PARSED_MODULE_BYTES) {
    const source = await readFile(blobs.path(spec.module.sha256), 'utf8');
    const problem = moduleSyntaxError(source);
    if (problem)
      throw new ValidationError('bad job', [
        { field: 'module', message: describeSyntaxProblem(spec.module.name, problem) },
      ]);
  }
}

/** A finished job brought back (re-run failed tasks): its runtime, rebuilt from the store. */
export function recoverRuntime(engine: Engine, jobId: string): JobRuntime | undefined {
  return runtimeOf(engine.read, jobId);
}
