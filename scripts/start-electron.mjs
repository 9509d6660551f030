#!/usr/bin/env node
// `npm start`: builds the main process and launches Electron, or says clearly that the Electron
// runtime is missing and how to get it. `npm ci` never downloads it (package.json denies
// electron's install script); electron's own entry fetches it on first use where the network
// allows, and this script reports when that failed.
import { spawnSync } from 'node:child_process';
import { existsSync, copyFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

function electronBinary() {
  try {
    // The package's index returns the binary path, downloading the binary first if it is missing
    // (it prints that and throws when the download fails).
    const bin = require('electron');
    return typeof bin === 'string' && existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}

const bin = electronBinary();
if (!bin) {
  process.stderr.write(
    [
      'colony: the Electron runtime is missing, so the desktop app cannot start.',
      'Get it with:   node node_modules/electron/install.js   (downloads the Electron binary from',
      '               GitHub; npm installs skip that download: package.json denies its install script)',
      'The headless faces need no Electron:  npx colony up   |   npx colony contributor --join TOKEN',
      '',
    ].join('\n'),
  );
  process.exit(1);
}
const tsc = spawnSync(
  process.execPath,
  [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.electron.json'],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
copyFileSync(`${root}/electron/main/first-run.html`, `${root}/dist/electron/main/first-run.html`);
const run = spawnSync(bin, [`${root}/dist/electron/main/main.js`, ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(run.status ?? 1);
