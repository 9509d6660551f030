// `Colony --self-test` run here under Node, with the TEST DOUBLE of Electron (fake-electron.ts) for
// each of its two apps: coordinator mode, contributor mode joining it with a join token, and a
// 10-task job through the real HTTPS API with real worker processes.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSelfTest } from '../../../electron/main/self-test.js';
import { FakeElectron } from './fake-electron.js';
import { buildWorker } from '../grid/worker/harness.js';

describe('--self-test (Electron test double)', () => {
  // The self-test makes its folders under one temp root and removes it when done.
  function electronFor(root: string): FakeElectron {
    const e = new FakeElectron(root);
    // The worker entry where a packaged app has it (app.asar.unpacked).
    buildWorker(path.join(root, 'resources', 'app.asar.unpacked', 'dist', 'electron', 'grid'));
    return e;
  }

  it('starts each mode, joins the contributor to the coordinator, runs a 10-task job, passes', async () => {
    const lines: string[] = [];
    const made: FakeElectron[] = [];
    const ok = await runSelfTest(
      (root) => {
        const e = electronFor(root);
        made.push(e);
        return e;
      },
      { log: (l) => lines.push(l) },
    );
    expect(lines.join('\n')).not.toMatch(/FAILED/);
    expect(ok).toBe(true);
    expect(lines).toEqual([
      expect.stringMatching(/coordinator mode up at https:\/\/127\.0\.0\.1:\d+; its window loaded/),
      expect.stringMatching(/contributor mode up: \S+ joined with its own credential/),
      expect.stringMatching(/submitted job \S+ \(10 tasks\)/),
      expect.stringMatching(/job \S+ succeeded: 10 correct results/),
    ]);
    // The coordinator app pinned its own certificate; its window got the GUI, without a bridge.
    const [coordinatorE] = made;
    expect(coordinatorE!.pins[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(coordinatorE!.windows[0]!.urls[0]).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/#token=/);
    expect(coordinatorE!.windows[0]!.preload).toBeUndefined();
  });

  it('fails (exit 1 in the app) when the contributor cannot run the job', async () => {
    const lines: string[] = [];
    const ok = await runSelfTest(
      (root) => {
        const e = electronFor(root);
        // A binary that is not Node: the contributor's workers cannot start.
        e.app.execPath = '/bin/false';
        return e;
      },
      { log: (l) => lines.push(l), timeoutMs: 20_000 },
    );
    expect(ok).toBe(false);
    expect(lines.at(-1)).toMatch(/^self-test: FAILED: /);
  });
});
