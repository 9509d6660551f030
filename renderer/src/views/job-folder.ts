// A job file and its folder in the browser: collect the picked or dropped files by relative path,
// parse and validate the job file (YAML or JSON), then upload what it names and build the job spec.
import type { FieldIssue } from '../../../shared/errors.js';
import { planJobFolder } from '../../../shared/job-folder.js';
import {
  jobFileSchema,
  specFromJobFile,
  type JobFile,
  type JobSpecInput,
} from '../../../shared/job-file.js';
import { fieldIssues, humanError } from '../../../shared/validate.js';
import { uploadBlob } from '../api.js';

/** Files by path relative to the job's folder, `/`-separated. */
export type Folder = Map<string, File>;

/** `<input webkitdirectory>` names files `picked-folder/sub/x`: drop the picked folder's name. */
export function folderFromInput(files: FileList | File[]): Folder {
  const folder: Folder = new Map();
  for (const f of files) {
    const rel = f.webkitRelativePath || f.name;
    folder.set(rel.includes('/') ? rel.slice(rel.indexOf('/') + 1) : rel, f);
  }
  return folder;
}

function readAll(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  // readEntries hands out a batch at a time (100 in Chromium) until it returns none.
  return new Promise((resolve, reject) => {
    const out: FileSystemEntry[] = [];
    const next = () =>
      reader.readEntries((batch) => {
        if (batch.length === 0) return resolve(out);
        out.push(...batch);
        next();
      }, reject);
    next();
  });
}

async function walk(entry: FileSystemEntry, prefix: string, folder: Folder): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((res, rej) =>
      (entry as FileSystemFileEntry).file(res, rej),
    );
    folder.set(`${prefix}${entry.name}`, file);
  } else if (entry.isDirectory) {
    const children = await readAll((entry as FileSystemDirectoryEntry).createReader());
    for (const c of children) await walk(c, `${prefix}${entry.name}/`, folder);
  }
}

/** A dropped folder is the job's folder; dropped loose files sit side by side at its top. */
export async function folderFromDrop(data: DataTransfer): Promise<Folder> {
  const entries = [...data.items]
    .map((i) => i.webkitGetAsEntry())
    .filter((e): e is FileSystemEntry => e !== null);
  const folder: Folder = new Map();
  const only = entries.length === 1 ? entries[0] : undefined;
  if (only?.isDirectory) {
    for (const c of await readAll((only as FileSystemDirectoryEntry).createReader()))
      await walk(c, '', folder);
    return folder;
  }
  if (entries.length === 0) for (const f of data.files) folder.set(f.name, f);
  for (const e of entries) await walk(e, '', folder);
  return folder;
}

export type Parsed = { job: JobFile; issues: [] } | { job: null; issues: FieldIssue[] };

export interface ReadJobFile {
  parsed: Parsed;
  /** The values as written, to show beside their errors when the file does not validate. */
  raw: Record<string, unknown>;
}

/** Parse as the CLI does (`.json` as JSON, anything else as YAML), then check the job file schema. */
export async function readJobFile(name: string, text: string): Promise<ReadJobFile> {
  let data: unknown;
  const json = /\.json$/i.test(name);
  try {
    // The YAML parser is loaded only when someone brings a job file.
    data = json ? JSON.parse(text) : (await import('yaml')).parse(text);
  } catch (err) {
    const first = (err as Error).message.split('\n')[0] ?? '';
    return {
      raw: {},
      parsed: {
        job: null,
        issues: [{ field: '', message: `not valid ${json ? 'JSON' : 'YAML'}: ${first}` }],
      },
    };
  }
  const raw = data && typeof data === 'object' ? (data as Record<string, unknown>) : {};
  const result = jobFileSchema.safeParse(data, { error: humanError });
  return {
    raw,
    parsed: result.success
      ? { job: result.data, issues: [] }
      : { job: null, issues: fieldIssues(result.error) },
  };
}

/** Upload the module, staged files and inputs file by sha256; returns the spec for `POST /jobs`. */
export async function buildSpec(
  job: JobFile,
  folder: Folder,
): Promise<{ spec: JobSpecInput | null; issues: FieldIssue[] }> {
  const plan = planJobFolder(job, folder.keys());
  if (plan.issues.length > 0) return { spec: null, issues: plan.issues };
  const upload = (path: string) => uploadBlob(folder.get(path) as File, path);
  const module = plan.module ? await upload(plan.module) : undefined;
  const files = [];
  for (const path of plan.files) files.push(await upload(path));
  const inputsBlob = plan.inputsFile ? (await upload(plan.inputsFile)).sha256 : undefined;
  return {
    spec: specFromJobFile(job, {
      ...(module ? { module } : {}),
      files,
      ...(inputsBlob ? { inputsBlob } : {}),
    }),
    issues: [],
  };
}
