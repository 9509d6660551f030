// Bench (measured, not asserted): the job view's task table with 100,000 tasks in real Chromium —
// first rows, scroll frame times, a jump to the middle, opening a task. Run: npm run bench:gui.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { chromium } from 'playwright-core';
import { jobSpecSchema } from '../../shared/job-file.js';
import { startCoordinator } from '../../electron/grid/coordinator/coordinator.js';

const TASKS = Number(process.argv.find((a) => a.startsWith('--tasks='))?.slice(8) ?? 100_000);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Runs in the page: rAF deltas while `steps` wheel-sized scrolls happen, one per frame. */
const SCROLL_FRAMES = `(async ({ steps, px }) => {
  const el = document.querySelector('[data-testid="task-scroller"]');
  const deltas = [];
  let last = performance.now();
  for (let i = 0; i < steps; i++) {
    el.scrollTop += px;
    await new Promise((r) => requestAnimationFrame(r));
    const now = performance.now();
    deltas.push(now - last);
    last = now;
  }
  return deltas;
})`;

function stats(ms: number[]): Record<string, number> {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    frames: ms.length,
    p50: round(at(0.5)),
    p95: round(at(0.95)),
    max: round(sorted[sorted.length - 1] ?? 0),
    over50ms: ms.filter((d) => d > 50).length,
  };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'colony-bench-gui-'));
  const coordinator = await startCoordinator({
    dataDir: dir,
    port: 0,
    logger: pino({ level: 'warn' }),
  });
  const profile = await mkdtemp(join(tmpdir(), 'colony-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
    ignoreHTTPSErrors: true,
  });
  try {
    // No contributor: every task stays pending, so the table holds all 100,000 rows throughout.
    const spec = jobSpecSchema.parse({
      name: 'bench-table',
      runtime: 'node',
      module: { name: 'm.mjs', sha256: '0'.repeat(64), size: 1 },
      tasks: { sweep: { x: { range: [0, TASKS] } } },
    });
    const id = await coordinator.engine.submit(spec, TASKS);
    const page = browser.pages()[0] ?? (await browser.newPage());
    const t0 = Date.now();
    await page.goto(`${coordinator.url}/#token=${coordinator.identity.adminToken}`);
    await page.goto(`${coordinator.url}/#/jobs/${id}`);
    await page.locator('[data-task="0"]').waitFor();
    const firstRowsMs = Date.now() - t0;

    const slow = stats(await page.evaluate<number[]>(`${SCROLL_FRAMES}({ steps: 120, px: 120 })`));
    const fast = stats(await page.evaluate<number[]>(`${SCROLL_FRAMES}({ steps: 120, px: 4000 })`));

    const t1 = Date.now();
    const middle = Math.floor(TASKS / 2);
    await page.evaluate(
      `document.querySelector('[data-testid="task-scroller"]').scrollTop = ${middle * 34}`,
    );
    await page.locator(`[data-task="${middle}"]`).waitFor();
    const jumpMs = Date.now() - t1;

    const t2 = Date.now();
    await page.locator(`[data-task="${middle}"]`).click();
    await page.getByTestId('task-detail').getByText(`Task ${middle}`).waitFor();
    const openTaskMs = Date.now() - t2;

    const result = {
      tasks: TASKS,
      firstRowsMs,
      scrollSlow: { pxPerFrame: 120, ...slow },
      scrollFast: { pxPerFrame: 4000, ...fast },
      jumpToMiddleMs: jumpMs,
      openTaskMs,
      domRows: await page.locator('.tbody .trow').count(),
    };
    console.log(JSON.stringify(result, null, 2));
    await mkdir(join(ROOT, 'test-artifacts', 'bench'), { recursive: true });
    await writeFile(
      join(ROOT, 'test-artifacts', 'bench', 'gui-task-table.json'),
      `${JSON.stringify(result, null, 2)}\n`,
    );
  } finally {
    await browser.close();
    await coordinator.close();
    await rm(profile, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
