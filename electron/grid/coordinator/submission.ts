// Checks a submitted job against what the coordinator holds: its blobs exist, its task count is sane.
import type { JobSpec } from '../../../shared/job-file.js';
import { ColonyError, ValidationError } from '../../../shared/errors.js';
import { sweepCount } from '../../../shared/sweep.js';
import type { BlobStore } from '../store/blobs.js';
import type { Engine } from './engine.js';
import type { JobRuntime } from './job-runtime.js';
import { countNdjson } from './ndjson-cursor.js';
import { runtimesWhere } from './recovery.js';

/** Every referenced blob must be uploaded first; returns the job's task count. */
export async function validateSubmission(
  spec: JobSpec,
  blobs: BlobStore,
  maxTasks: number,
): Promise<number> {
  const missing: { field: string; message: string }[] = [];
  if (spec.module && !(await blobs.has(spec.module.sha256)))
    missing.push({ field: 'module', message: `blob ${spec.module.sha256} not uploaded` });
  for (const [i, f] of spec.files.entries())
    if (!(await blobs.has(f.sha256)))
      missing.push({ field: `files.${i}`, message: `blob ${f.sha256} (${f.name}) not uploaded` });
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
  return count;
}

/** A finished job brought back (re-run failed tasks): its runtime, rebuilt from the store. */
export function recoverRuntime(engine: Engine, jobId: string): JobRuntime | undefined {
  return runtimesWhere(engine.store.db, 'id = ?', [jobId])[0];
}
