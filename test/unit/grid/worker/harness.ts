// Test harness: compiles the worker to a temp folder (as the build does to dist/) and sets up a
// Supervisor with its own temp work root and blob cache holding the fixture task modules.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import {
  Supervisor,
  type SupervisorOptions,
} from '../../../../electron/grid/contributor/supervisor/supervisor.js';
import { ensureModuleFile } from '../../../../electron/grid/worker/module-file.js';

export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const fixturesDir = path.join(repoRoot, 'test/fixtures/tasks');

/** Transpiles electron/grid/worker/*.ts into `<outDir>/worker/` with an ESM package.json above it. */
export function buildWorker(outDir: string): string {
  const srcDir = path.join(repoRoot, 'electron/grid/worker');
  const dest = path.join(outDir, 'worker');
  mkdirSync(dest, { recursive: true });
  for (const file of readdirSync(srcDir).filter((f) => f.endsWith('.ts'))) {
    const { outputText } = ts.transpileModule(readFileSync(path.join(srcDir, file), 'utf8'), {
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: false,
      },
    });
    writeFileSync(path.join(dest, file.replace(/\.ts$/, '.js')), outputText);
  }
  writeFileSync(path.join(outDir, 'package.json'), '{"type":"module"}\n');
  return path.join(dest, 'worker-main.js');
}

export interface Harness {
  root: string;
  workRoot: string;
  blobCacheDir: string;
  supervisor: Supervisor;
  /** Absolute `.mjs` path in the blob cache of a fixture, e.g. module('square'). */
  module(name: string): string;
  cleanup(): Promise<void>;
}

export async function startHarness(opts: Partial<SupervisorOptions> = {}): Promise<Harness> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'colony-sup-'));
  const workerPath = buildWorker(path.join(root, 'build'));
  const workRoot = path.join(root, 'work');
  const blobCacheDir = path.join(root, 'cache');
  const modules = new Map<string, string>();
  mkdirSync(path.join(blobCacheDir, 'blobs'), { recursive: true });
  for (const file of readdirSync(fixturesDir).filter((f) => f.endsWith('.mjs'))) {
    const content = readFileSync(path.join(fixturesDir, file));
    const sha = createHash('sha256').update(content).digest('hex');
    const blob = path.join(blobCacheDir, 'blobs', sha);
    writeFileSync(blob, content);
    modules.set(file.replace(/\.mjs$/, ''), await ensureModuleFile(blobCacheDir, sha, blob));
  }
  const supervisor = new Supervisor({
    slots: 2,
    workRoot,
    blobCacheDir,
    allowCommands: false,
    workerPath,
    maxOldSpaceMb: 64,
    spareWorkers: false,
    ...opts,
  });
  await supervisor.start();
  return {
    root,
    workRoot,
    blobCacheDir,
    supervisor,
    module(name) {
      const found = modules.get(name);
      if (!found) throw new Error(`no fixture ${name}`);
      return found;
    },
    async cleanup() {
      await supervisor.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A node-runtime request with test defaults. */
export function nodeRequest(
  h: Harness,
  attemptId: string,
  task: string,
  input: unknown = {},
  timeoutMs = 20_000,
) {
  return {
    attemptId,
    runtime: 'node' as const,
    modulePath: h.module(task),
    input,
    files: [],
    outputs: [],
    timeoutMs,
  };
}
