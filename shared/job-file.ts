// The job file of docs/job-file.md (as people write it) and the job spec (as the API stores it, files by sha256).
import { z } from 'zod';

export const PLATFORMS = ['linux', 'darwin', 'win32'] as const;
export type Platform = (typeof PLATFORMS)[number];

export const sha256Schema = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits (sha256)');

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
export type Scalar = z.infer<typeof scalar>;

const rangeAxis = z.strictObject({
  range: z
    .tuple([z.number().finite(), z.number().finite()])
    .or(z.tuple([z.number().finite(), z.number().finite(), z.number().finite()]))
    .refine((r) => (r[2] ?? 1) !== 0, 'step must not be 0')
    .refine((r) => Math.sign(r[1] - r[0]) !== -Math.sign(r[2] ?? 1), 'step goes away from stop'),
});
export const axisSchema = z.union([
  z.array(scalar).min(1, 'an axis needs at least one value'),
  rangeAxis,
]);
export type Axis = z.infer<typeof axisSchema>;

const axisName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'axis names are identifiers');
const sweepSchema = z
  .record(axisName, axisSchema)
  .refine((s) => Object.keys(s).length > 0, 'a sweep needs at least one axis');

const jsonValue: z.ZodType<unknown> = z.json();

export const requirementsSchema = z.strictObject({
  platforms: z.array(z.enum(PLATFORMS)).min(1).optional(),
  arch: z.array(z.string().min(1)).min(1).optional(),
  minMemoryMb: z.number().int().min(0).optional(),
  minCores: z.number().int().min(1).optional(),
  tags: z.array(z.string().min(1)).optional(),
  /** `sandbox`: run only on contributors whose tasks are in an operating-system sandbox. */
  isolation: z.enum(['sandbox', 'permission-model']).optional(),
});
export type Requirements = z.infer<typeof requirementsSchema>;

export const DEFAULT_LIMITS = {
  timeoutSec: 600,
  maxAttempts: 3,
  maxOutputFiles: 100,
  maxOutputBytes: 1024 ** 3,
};

export const limitsSchema = z.strictObject({
  timeoutSec: z
    .number()
    .positive()
    .max(7 * 24 * 3600)
    .default(600),
  maxAttempts: z.number().int().min(1).max(100).default(3),
  /** Output files one attempt may upload. */
  maxOutputFiles: z.number().int().min(0).max(10_000).default(100),
  /** Bytes of output files one attempt may upload, all files together. */
  maxOutputBytes: z
    .number()
    .int()
    .min(0)
    .max(64 * 1024 ** 3)
    .default(1024 ** 3),
});
export type Limits = z.infer<typeof limitsSchema>;

const relativePath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !/^[A-Za-z]:/.test(p), 'must be relative to the job file')
  .refine((p) => !p.split(/[\\/]/).includes('..'), 'must not leave the job folder');

const commonFields = {
  name: z.string().trim().min(1).max(200),
  files: z.array(relativePath).default([]),
  outputs: z.array(relativePath).default([]),
  requirements: requirementsSchema.default({}),
  limits: limitsSchema.default(DEFAULT_LIMITS),
  priority: z.number().int().min(-1000).max(1000).default(0),
  /** Tasks may use the network (only on contributors whose owner allows it). */
  network: z.boolean().default(false),
};

const runtimeFields = {
  runtime: z.enum(['node', 'command']),
  module: relativePath.optional(),
  command: z.array(z.string()).min(1, 'a command needs a program').optional(),
};

function checkRuntime(
  job: { runtime: 'node' | 'command'; module?: unknown; command?: unknown; outputs: unknown[] },
  ctx: z.RefinementCtx,
): void {
  if (job.runtime === 'node' && job.module === undefined)
    ctx.addIssue({ code: 'custom', path: ['module'], message: 'required for runtime node' });
  if (job.runtime === 'node' && job.command !== undefined)
    ctx.addIssue({ code: 'custom', path: ['command'], message: 'only for runtime command' });
  if (job.runtime === 'command' && job.command === undefined)
    ctx.addIssue({ code: 'custom', path: ['command'], message: 'required for runtime command' });
  if (job.runtime === 'command' && job.module !== undefined)
    ctx.addIssue({ code: 'custom', path: ['module'], message: 'only for runtime node' });
  if (job.runtime === 'node' && job.outputs.length > 0)
    ctx.addIssue({ code: 'custom', path: ['outputs'], message: 'only for runtime command' });
}

function exactlyOne(keys: string[]) {
  return (tasks: Record<string, unknown>, ctx: z.RefinementCtx) => {
    const given = keys.filter((k) => tasks[k] !== undefined);
    if (given.length !== 1)
      ctx.addIssue({
        code: 'custom',
        message: `give exactly one of ${keys.join(', ')}${given.length > 1 ? ` (got ${given.join(', ')})` : ''}`,
      });
  };
}

/** The job file as written by a person: paths relative to the file. */
export const jobFileSchema = z
  .strictObject({
    ...commonFields,
    ...runtimeFields,
    tasks: z
      .strictObject({
        sweep: sweepSchema.optional(),
        inputs: z.array(jsonValue).min(1, 'at least one input').optional(),
        inputsFile: relativePath.optional(),
      })
      .superRefine(exactlyOne(['sweep', 'inputs', 'inputsFile'])),
  })
  .superRefine(checkRuntime);
export type JobFile = z.infer<typeof jobFileSchema>;

export const blobRefSchema = z.strictObject({
  name: relativePath,
  sha256: sha256Schema,
  size: z.number().int().min(0),
});
export type BlobRef = z.infer<typeof blobRefSchema>;

/** The job as submitted to `POST /api/v1/jobs`: every file already uploaded and named by sha256. */
export const jobSpecSchema = z
  .strictObject({
    ...commonFields,
    ...runtimeFields,
    module: blobRefSchema.optional(),
    files: z.array(blobRefSchema).max(10_000).default([]),
    tasks: z
      .strictObject({
        sweep: sweepSchema.optional(),
        inputs: z.array(jsonValue).min(1, 'at least one input').optional(),
        inputsBlob: sha256Schema.optional(),
      })
      .superRefine(exactlyOne(['sweep', 'inputs', 'inputsBlob'])),
    owner: z.string().max(200).optional(),
  })
  .superRefine(checkRuntime);
export type JobSpec = z.infer<typeof jobSpecSchema>;
export type JobSpecInput = z.input<typeof jobSpecSchema>;

/** The spec to POST for a job file whose module, files and inputs file are already uploaded. */
export function specFromJobFile(
  job: JobFile,
  uploaded: { module?: BlobRef; files: BlobRef[]; inputsBlob?: string },
  owner?: string,
): JobSpecInput {
  const tasks: JobSpecInput['tasks'] = uploaded.inputsBlob
    ? { inputsBlob: uploaded.inputsBlob }
    : job.tasks.sweep
      ? { sweep: job.tasks.sweep }
      : { inputs: job.tasks.inputs ?? [] };
  return {
    name: job.name,
    runtime: job.runtime,
    ...(uploaded.module ? { module: uploaded.module } : {}),
    ...(job.command ? { command: job.command } : {}),
    tasks,
    files: uploaded.files,
    outputs: job.outputs,
    requirements: job.requirements,
    limits: job.limits,
    priority: job.priority,
    ...(job.network ? { network: true } : {}),
    ...(owner ? { owner } : {}),
  };
}
