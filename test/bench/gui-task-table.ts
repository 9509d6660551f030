// `npm run bench:gui`: §6 alone (the task table with 100,000 tasks in Chromium), as JSON on stdout
// and in test-artifacts/bench/gui-task-table.json. `npm run bench` runs it as section 6.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureTaskTable } from './sections/gui.js';

const TASKS = Number(process.argv.find((a) => a.startsWith('--tasks='))?.slice(8) ?? 100_000);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

const result = await measureTaskTable(TASKS);
console.log(JSON.stringify(result, null, 2));
await mkdir(join(ROOT, 'test-artifacts', 'bench'), { recursive: true });
await writeFile(
  join(ROOT, 'test-artifacts', 'bench', 'gui-task-table.json'),
  `${JSON.stringify(result, null, 2)}\n`,
);
