// A job file read from a picked folder (the web GUI's submit view): which file is the job file, and
// what its `module`, `files` globs and `inputsFile` name in that folder, or the fields that miss.
import type { FieldIssue } from './errors.js';
import { matchGlob, normalizePath } from './glob.js';
import type { JobFile } from './job-file.js';

const JOB_FILE_NAMES = ['job.yaml', 'job.yml', 'job.json'];

/** `job.yaml` (or .yml, .json) at the top of the folder, else its only top-level YAML/JSON file. */
export function findJobFile(paths: Iterable<string>): string | undefined {
  const top = [...paths].filter((p) => !p.includes('/'));
  const named = JOB_FILE_NAMES.find((n) => top.includes(n));
  if (named) return named;
  const candidates = top.filter((p) => /\.(ya?ml|json)$/i.test(p));
  return candidates.length === 1 ? candidates[0] : undefined;
}

export interface FolderPlan {
  module?: string;
  /** Staged files, each once, in the order of the patterns that first matched them. */
  files: string[];
  inputsFile?: string;
  issues: FieldIssue[];
}

/** Resolve the job file's paths against the folder's (relative, `/`-separated) listing. */
export function planJobFolder(job: JobFile, paths: Iterable<string>): FolderPlan {
  const listing = new Set([...paths].map(normalizePath));
  const issues: FieldIssue[] = [];
  const plan: FolderPlan = { files: [], issues };
  const one = (field: string, path: string): string | undefined => {
    const key = normalizePath(path);
    if (listing.has(key)) return key;
    issues.push({
      field,
      message: `${path} is not in the picked folder${listing.size ? '' : ' (pick the job’s folder)'}`,
    });
    return undefined;
  };
  if (job.module !== undefined) {
    const m = one('module', job.module);
    if (m) plan.module = m;
  }
  if (job.tasks.inputsFile !== undefined) {
    const f = one('tasks.inputsFile', job.tasks.inputsFile);
    if (f) plan.inputsFile = f;
  }
  const seen = new Set<string>();
  for (const [i, pattern] of job.files.entries()) {
    const matches = matchGlob(pattern, listing);
    if (matches.length === 0)
      issues.push({ field: `files.${i}`, message: `${pattern} matches no file in the folder` });
    for (const m of matches)
      if (!seen.has(m)) {
        seen.add(m);
        plan.files.push(m);
      }
  }
  return plan;
}
