// §6 GUI: the job view's task table with 100,000 tasks in real Chromium (Debian's) — first rows,
// scroll frame times, a jump to the middle, opening a task. Measured, not asserted.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { chromium } from 'playwright-core';
import { jobSpecSchema } from '../../../shared/job-file.js';
import { startCoordinator } from '../../../electron/grid/coordinator/coordinator.js';
import type { BenchContext } from '../lib/context.js';
import type { Row } from '../lib/report.js';

export const CHROMIUM = '/usr/bin/chromium';
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

export interface TaskTableResult {
  tasks: number;
  firstRowsMs: number;
  scrollSlow: Record<string, number>;
  scrollFast: Record<string, number>;
  jumpToMiddleMs: number;
  openTaskMs: number;
  domRows: number;
}

/** A coordinator (in this process, on loopback) with one job of `tasks` pending tasks, in Chromium. */
export async function measureTaskTable(tasks: number): Promise<TaskTableResult> {
  const dir = await mkdtemp(join(tmpdir(), 'colony-bench-gui-'));
  const coordinator = await startCoordinator({
    dataDir: dir,
    port: 0,
    logger: pino({ level: 'warn' }),
  });
  const profile = await mkdtemp(join(tmpdir(), 'colony-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
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
      tasks: { sweep: { x: { range: [0, tasks] } } },
    });
    const id = await coordinator.engine.submit(spec, tasks);
    const page = browser.pages()[0] ?? (await browser.newPage());
    const t0 = Date.now();
    await page.goto(`${coordinator.url}/#token=${coordinator.identity.adminToken}`);
    await page.goto(`${coordinator.url}/#/jobs/${id}`);
    await page.locator('[data-task="0"]').waitFor();
    const firstRowsMs = Date.now() - t0;

    const slow = stats(await page.evaluate<number[]>(`${SCROLL_FRAMES}({ steps: 120, px: 120 })`));
    const fast = stats(await page.evaluate<number[]>(`${SCROLL_FRAMES}({ steps: 120, px: 4000 })`));

    const t1 = Date.now();
    const middle = Math.floor(tasks / 2);
    await page.evaluate(
      `document.querySelector('[data-testid="task-scroller"]').scrollTop = ${middle * 34}`,
    );
    await page.locator(`[data-task="${middle}"]`).waitFor();
    const jumpMs = Date.now() - t1;

    const t2 = Date.now();
    await page.locator(`[data-task="${middle}"]`).click();
    await page.getByTestId('task-detail').getByText(`Task ${middle}`).waitFor();
    const openTaskMs = Date.now() - t2;

    const result: TaskTableResult = {
      tasks,
      firstRowsMs,
      scrollSlow: { pxPerFrame: 120, ...slow },
      scrollFast: { pxPerFrame: 4000, ...fast },
      jumpToMiddleMs: jumpMs,
      openTaskMs,
      domRows: await page.locator('.tbody .trow').count(),
    };
    return result;
  } finally {
    await browser.close();
    await coordinator.close();
    await rm(profile, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  }
}

export async function benchGui(ctx: BenchContext): Promise<Row[]> {
  const tasks = 100_000;
  const r = await measureTaskTable(tasks);
  ctx.extra.gui = r;
  const frame = 1000 / 60;
  return [
    {
      section: '6 gui',
      measure: `job view with ${tasks.toLocaleString('en-US')} tasks: first rows shown`,
      value: r.firstRowsMs,
      unit: 'ms',
      refs: [],
      note: `jump to the middle ${r.jumpToMiddleMs} ms, open a task ${r.openTaskMs} ms; ${r.domRows} rows in the DOM (virtualised)`,
    },
    {
      section: '6 gui',
      measure: 'scroll at 120 px a frame: frame time p95',
      value: r.scrollSlow.p95 ?? 0,
      unit: 'ms',
      refs: [{ name: 'one frame at 60 Hz', value: frame }],
      target: 'no long frames (> 50 ms)',
      met: r.scrollSlow.over50ms === 0 && r.scrollFast.over50ms === 0,
      note: `slow scroll p50 ${r.scrollSlow.p50} / max ${r.scrollSlow.max} ms; fast scroll (4000 px a frame) p50 ${r.scrollFast.p50} / p95 ${r.scrollFast.p95} / max ${r.scrollFast.max} ms; frames over 50 ms: ${r.scrollSlow.over50ms} + ${r.scrollFast.over50ms}`,
    },
  ];
}
