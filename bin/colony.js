#!/usr/bin/env node
// Entry of the `colony` command: the compiled CLI lives in dist/ (built by `npm run build`,
// which `npm ci` runs through the `prepare` script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/electron/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('colony: not built yet; run `npm run build` (npm ci does it for you)\n');
  process.exit(2);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
