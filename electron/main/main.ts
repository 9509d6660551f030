// Entry of the Electron main process (`npm start`, the packaged app). `--self-test` runs the
// headless smoke test of self-test.ts instead and exits 0 when it passed.
import path from 'node:path';
import { realElectron } from './electron-adapter.js';
import { ColonyApp } from './app.js';
import type { IpcMainLike } from './ipc.js';
import { runSelfTest } from './self-test.js';

function fail(err: unknown): never {
  process.stderr.write(
    `colony: could not start: ${err instanceof Error ? err.stack : String(err)}\n`,
  );
  process.exit(1);
}

if (process.argv.includes('--self-test')) {
  // The two apps of the self-test have no first-run page: no IPC handlers to share.
  const noIpc: IpcMainLike = { handle: () => undefined, removeHandler: () => undefined };
  runSelfTest(
    (root) => ({ ...realElectron({ userData: path.join(root, 'userData') }), ipc: noIpc }),
    { log: (line) => process.stdout.write(`${line}\n`) },
  ).then((ok) => process.exit(ok ? 0 : 1), fail);
} else {
  new ColonyApp(realElectron()).start().catch(fail);
}
