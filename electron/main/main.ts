// Entry of the Electron main process (`npm start`, the packaged app).
import { realElectron } from './electron-adapter.js';
import { ColonyApp } from './app.js';

const colony = new ColonyApp(realElectron());
colony.start().catch((err: unknown) => {
  process.stderr.write(
    `colony: could not start: ${err instanceof Error ? err.stack : String(err)}\n`,
  );
  process.exit(1);
});
