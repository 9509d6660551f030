// Dry-run of a submission: task count, first inputs, and which contributors could run it and why not.
import type { DryRun } from '../../../../shared/gui-api.js';
import type { JobSpec } from '../../../../shared/job-file.js';
import { mismatch } from '../../../../shared/requirements.js';
import { sweepInput } from '../../../../shared/sweep.js';
import type { BlobStore } from '../../store/blobs.js';
import { firstInputs } from '../engine/ndjson-cursor.js';
import { validateSubmission } from './submission.js';
import type { Views } from './views.js';

const PREVIEW = 10;

export async function dryRun(
  spec: JobSpec,
  deps: { views: Views; blobs: BlobStore; maxTasksPerJob: number },
): Promise<DryRun> {
  // The same checks as a real submission, so the form shows the errors the submit would get.
  const taskCount = await validateSubmission(spec, deps.blobs, deps.maxTasksPerJob);
  const shown = Math.min(PREVIEW, taskCount);
  const preview = spec.tasks.sweep
    ? Array.from({ length: shown }, (_, i) => sweepInput(spec.tasks.sweep ?? {}, i))
    : spec.tasks.inputs
      ? spec.tasks.inputs.slice(0, shown)
      : await firstInputs(deps.blobs.path(spec.tasks.inputsBlob as string), shown);
  const contributors = deps.views.contributors().map((c) => {
    const unfit = c.caps
      ? mismatch(spec.requirements, spec.runtime, c.caps, spec.network)
      : 'unknown machine';
    const reason = unfit
      ? `needs ${unfit}`
      : c.state === 'offline'
        ? 'offline'
        : c.policy?.state === 'paused'
          ? `paused by its owner${c.policy.reason ? ` (${c.policy.reason})` : ''}`
          : null;
    return { id: c.id, name: c.name, state: c.state, reason };
  });
  const ready = contributors.some((c) => c.reason === null);
  return {
    taskCount,
    preview,
    contributors,
    wouldWait: ready ? null : deps.views.whyNotRunning(spec, spec.priority),
  };
}
