#!/usr/bin/env node
// Entry of the `colony` command: the compiled CLI lives in dist/ (built by `npm run build`, which
// `npm ci` runs through the `prepare` script). Where an install ran no scripts at all
// (`--ignore-scripts`, or an npm that blocks them), the CLI is compiled here on first use.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/electron/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  let tsc;
  try {
    tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    process.stderr.write('colony: not built yet and TypeScript is not installed; run `npm ci`\n');
    process.exit(2);
  }
  process.stderr.write('colony: first use, compiling the CLI (npm run build does it all)…\n');
  const built = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: ['ignore', 2, 2],
  });
  if (built.status !== 0 || !existsSync(fileURLToPath(entry))) {
    process.stderr.write('colony: could not compile the CLI; run `npm run build` to see why\n');
    process.exit(2);
  }
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
