// Results in Chromium against a real coordinator and contributor on loopback: a finished task's
// kept output, output files with downloads, picture thumbnails and a job's contact sheet, and
// the live timeline of attempts by contributor slot (issue 17's GUI must-shows).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from '../integration/helpers/cluster.js';
import { guiSkipReason, openBrowser, until, type Browser } from './helpers/browser.js';
import { png } from './helpers/png.js';

const skip = guiSkipReason();
if (skip) console.warn(`GUI e2e tests skipped: ${skip}`);

/** Frame n: a gradient in its own hue, so a wrong thumbnail is visible in the screenshots. */
function frame(n: number): Buffer {
  const hues: [number, number, number][] = [
    [220, 60, 60],
    [60, 160, 80],
    [60, 90, 220],
    [220, 170, 40],
    [150, 70, 200],
  ];
  const [r, g, b] = hues[n % hues.length] as [number, number, number];
  return png(96, 64, (x, y) => [
    Math.round((r * (x + 32)) / 128),
    Math.round((g * (y + 32)) / 96),
    Math.round(b * (1 - x / 192)),
  ]);
}

// An SVG output with a script: shown through <img>, the script must never run in the GUI.
const SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="96" height="64" viewBox="0 0 96 64">
<rect width="96" height="64" fill="#2b6"/><circle cx="48" cy="32" r="20" fill="#fff"/>
<script>window.top.__svgScriptRan = true;</script></svg>
`;

describe.skipIf(skip !== null)('results in the GUI (Chromium)', () => {
  let cluster: Cluster;
  let browser: Browser;
  let url = '';

  const submit = async (name: string, files: Record<string, string>): Promise<string> => {
    const file = await cluster.writeJob(name, files);
    const r = await cluster.cli(['submit', file, '--data', cluster.dataDir]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim();
  };

  beforeAll(async () => {
    cluster = await Cluster.create();
    await cluster.startCoordinator();
    await cluster.startContributor('alice', 2, ['--allow-commands']);
    browser = await openBrowser();
    const { adminToken } = await cluster.identity();
    url = cluster.coordinator?.url ?? '';
    await browser.page.goto(`${url}/#token=${adminToken}`);
    await browser.page.getByText('● live').waitFor();
  });
  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
  });

  it('shows no made-up peak on a fresh install', async () => {
    const { page } = browser;
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.getByTestId('chart-empty').waitFor();
    expect(await page.locator('main').textContent()).not.toMatch(/peak/);
    expect(await page.getByTestId('slots-running').textContent()).toMatch(/^0 \/ [1-9]\d*$/);
  });

  it('shows a job’s pictures as thumbnails and a contact sheet, and each task’s files and output', async () => {
    const { page } = browser;
    const jobFile = await cluster.writeJob('frames', {
      'job.yaml': [
        'name: frames',
        'runtime: command',
        'command: ["sh", "-c", "mkdir -p out && cp frames/f{x}.* out/ && echo rendered frame {x} && echo warming up {x} >&2"]',
        'tasks:',
        '  sweep:',
        '    x: { range: [0, 6] }',
        'files: ["frames/*"]',
        'outputs: ["out/*"]',
        '',
      ].join('\n'),
    });
    const pictures = [0, 1, 2, 3, 4].map(frame);
    await mkdir(join(dirname(jobFile), 'frames'), { recursive: true });
    for (const [n, data] of pictures.entries())
      await writeFile(join(dirname(jobFile), 'frames', `f${n}.png`), data);
    await writeFile(join(dirname(jobFile), 'frames', 'f5.svg'), SVG);
    const r = await cluster.cli(['submit', jobFile, '--data', cluster.dataDir]);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    expect((await cluster.waitJob(id)).state).toBe('succeeded');

    await page.goto(`${url}/#/jobs/${id}`);
    const sheet = page.getByTestId('contact-sheet');
    await sheet.waitFor();
    await until(
      () => sheet.locator('figure').count(),
      (n) => n === 6,
      15_000,
      'six frames on the contact sheet',
    );
    // Every thumbnail is a decoded picture, not a broken image.
    await until(
      () =>
        sheet
          .locator('img[data-testid="thumbnail"]')
          .evaluateAll(
            (imgs) =>
              imgs.filter(
                (i) =>
                  (i as unknown as { complete: boolean; naturalWidth: number }).complete &&
                  (i as unknown as { complete: boolean; naturalWidth: number }).naturalWidth > 0,
              ).length,
          ),
      (n) => n === 6,
      15_000,
      'six decoded thumbnails',
    );
    const captions = await sheet.locator('figcaption').allTextContents();
    expect(captions.map((c) => /Task (\d+)/.exec(c)?.[1])).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(await page.evaluate('window.__svgScriptRan')).toBeUndefined();
    await browser.shot('contact-sheet');

    // A frame opens its task: the panel lists its files with thumbnails and downloads.
    await sheet.getByRole('button', { name: /^Open task 2 / }).click();
    await page.waitForURL(new RegExp(`#/jobs/${id}/tasks/2$`));
    const panel = page.getByTestId('task-detail');
    const files = panel.getByTestId('output-files');
    await files.locator('img[data-testid="thumbnail"]').waitFor();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      files.getByRole('link', { name: 'out/f2.png' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('f2.png');
    expect(Buffer.compare(await readFile(await download.path()), pictures[2] as Buffer)).toBe(0);
    // The command's stdout and stderr as printed, not a JSON-escaped string.
    await until(
      async () => (await panel.getByTestId('log-stdout').textContent()) ?? '',
      (v) => v.includes('rendered frame 2'),
      10_000,
      'stdout in the panel',
    );
    expect(await panel.getByTestId('log-stderr').textContent()).toContain('warming up 2');
    expect(await panel.getByTestId('task-output').textContent()).not.toContain('rendered frame');
    await browser.shot('task-panel-files');
  });

  it('shows a finished node task’s stdout and ctx.log lines in its panel', async () => {
    const { page } = browser;
    const id = await submit('logs', {
      'job.yaml': 'name: logs\nruntime: node\nmodule: ./m.mjs\ntasks:\n  inputs: [1, 2]\n',
      'm.mjs': [
        'export default async (n, ctx) => {',
        '  console.log(`hello from stdout ${n}: "quoted" C:\\\\tmp`);',
        '  ctx.log(`ctx line ${n}`);',
        '  ctx.log(`second ctx line ${n}`);',
        '  return { n };',
        '};',
        '',
      ].join('\n'),
    });
    expect((await cluster.waitJob(id)).state).toBe('succeeded');
    await page.goto(`${url}/#/jobs/${id}/tasks/1`);
    const panel = page.getByTestId('task-detail');
    const stdout = panel.getByTestId('log-stdout');
    await stdout.waitFor({ timeout: 8000 }).catch(async (err: unknown) => {
      console.log('PANEL', await panel.innerText().catch(() => 'none'), page.url());
      console.log('CONTRIB', cluster.contributors[0]?.output().slice(-2000));
      throw err;
    });
    expect(await stdout.textContent()).toContain('hello from stdout 2: "quoted" C:\\tmp');
    const log = (await panel.getByTestId('log-log').textContent()) ?? '';
    expect(log).toContain('ctx line 2');
    expect(log).toContain('second ctx line 2');
    expect(log).not.toContain('ctx line 1\n');
    // Coming from the pictures job, nothing of it stays on this job's page.
    expect(await page.getByTestId('contact-sheet').count()).toBe(0);
    await browser.shot('task-panel-logs');
  });

  it('shows running attempts on the timeline by contributor slot and follows them live', async () => {
    const { page } = browser;
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Timeline', exact: true })
      .click();
    await page.getByRole('heading', { name: 'Timeline' }).waitFor();
    const timeline = page.getByTestId('timeline');
    // alice offers two slots: two lanes, filled with the jobs run so far.
    await until(
      () => timeline.locator('[data-lane]').count(),
      (n) => n >= 2,
      10_000,
      'two slot lanes',
    );
    await page.getByRole('button', { name: 'last 5 min' }).click();
    await page.evaluate('window.__sameDocument = true');
    const id = await submit('slow', {
      'job.yaml': 'name: slow\nruntime: node\nmodule: ./m.mjs\ntasks:\n  inputs: [1, 2, 3, 4]\n',
      'm.mjs':
        'export default async (n, ctx) => { for (let i = 0; i < 30; i++) { await new Promise((r) => setTimeout(r, 100)); ctx.progress(i / 30); } return n; };\n',
    });
    const bars = timeline.locator(`rect[data-job="${id}"]`);
    await until(
      () => bars.and(timeline.locator('[data-state="running"]')).count(),
      (n) => n >= 1,
      20_000,
      'a running attempt on the timeline',
    );
    await browser.shot('timeline-running');
    const running = bars.and(timeline.locator('[data-state="running"]')).first();
    const title = (await running.locator('title').textContent()) ?? '';
    expect(title).toMatch(/^slow · task \d · attempt 1\nrunning\n.* – now \(/);
    // The same page follows the job to its end: four succeeded bars, no reload.
    await until(
      () => bars.and(timeline.locator('[data-state="succeeded"]')).count(),
      (n) => n === 4,
      30_000,
      'four succeeded bars',
    );
    expect(await page.evaluate('window.__sameDocument')).toBe(true);
    expect(await bars.and(timeline.locator('[data-state="running"]')).count()).toBe(0);
    // Bars of one job sit in alice's lanes, never two at once in one lane.
    let placed = 0;
    for (const lane of await timeline.locator('[data-lane]').all()) {
      const spans: [number, number][] = [];
      for (const rect of await lane.locator(`rect[data-job="${id}"]`).all()) {
        const x = parseFloat((await rect.getAttribute('x')) ?? '');
        spans.push([x, x + parseFloat((await rect.getAttribute('width')) ?? '')]);
      }
      spans.sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < spans.length; i++)
        expect((spans[i] as [number, number])[0]).toBeGreaterThanOrEqual(
          (spans[i - 1] as [number, number])[1] - 0.35, // the narrowest bar is drawn 0.3 % wide
        );
      placed += spans.length;
    }
    expect(placed).toBe(4);
    await browser.shot('timeline');
    // A bar opens its task.
    await bars.first().click();
    await page.waitForURL(new RegExp(`#/jobs/${id}/tasks/\\d$`));
  });

  it('refuses a bad timeline query with a sentence and asks for the admin token', async () => {
    const base = `${url}/api/v1/timeline`;
    const { adminToken } = await cluster.identity();
    const auth = { authorization: `Bearer ${adminToken}` };
    for (const q of ['since=-1', 'since=soon', 'limit=0', 'limit=100000', 'limit=2.5', 'until=5']) {
      const res = await browser.context.request.get(`${base}?${q}`, { headers: auth });
      expect(res.status(), q).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code, q).toBe('BAD_INPUT');
      expect(body.error.message.length, q).toBeGreaterThan(5);
    }
    expect((await browser.context.request.get(base)).status()).toBe(401);
    const ok = await browser.context.request.get(`${base}?limit=1`, { headers: auth });
    const data = (await ok.json()) as { attempts: unknown[]; truncated: boolean };
    expect(data.attempts).toHaveLength(1);
    expect(data.truncated).toBe(true);
  });

  it('counts running and buffered slots apart and names current tasks by job and number', async () => {
    const { page } = browser;
    const id = await submit('slow2', {
      'job.yaml':
        'name: slow2\nruntime: node\nmodule: ./m.mjs\ntasks:\n  inputs: [1, 2, 3, 4, 5, 6, 7, 8]\n',
      'm.mjs':
        'export default async (n) => { await new Promise((r) => setTimeout(r, 2000)); return n; };\n',
    });
    await page.goto(`${url}/#/contributors`);
    const row = page.locator('table.contributors tbody tr').first();
    await until(
      async () => (await row.getByTestId('current-tasks').textContent()) ?? '',
      (v) => /slow2 #\d.*slow2 #\d/.test(v),
      20_000,
      'two current tasks named by job and number',
    );
    expect(await row.getByTestId('current-tasks').textContent()).not.toMatch(/\d+-[0-9a-z]+/);
    // Running slots and what the work buffer holds are counted apart.
    await until(
      async () => (await row.getByTestId('slots').textContent()) ?? '',
      (v) => /^[1-9]\d* · \d+ \/ [1-9]\d*$/.test(v),
      10_000,
      'running and buffered counted apart',
    );
    await browser.shot('contributors-current-tasks');
    await page.goto(`${url}/#/`);
    await until(
      async () => (await page.getByTestId('slots-running').textContent()) ?? '',
      (v) => /^[1-9]\d* \/ [1-9]\d*$/.test(v),
      10_000,
      'slots running on the overview',
    );
    expect((await cluster.waitJob(id)).state).toBe('succeeded');
    await page.locator('.chart rect[height]:not([height="0"])').first().waitFor();
    await browser.shot('overview-chart');
  });

  it('turns the live indicator red and says so when the coordinator goes away', async () => {
    const { page } = browser;
    await page.getByText('● live').waitFor();
    const coordinator = cluster.coordinator;
    if (!coordinator) throw new Error('no coordinator');
    await cluster.kill(coordinator, 'SIGTERM');
    const status = page.getByRole('status').filter({ hasText: /live|reach/ });
    await until(
      async () => (await status.textContent()) ?? '',
      (v) => v.includes('not live'),
      15_000,
      'the indicator saying the stream is down',
    );
    expect(await status.getAttribute('class')).toContain('conn-down');
    // It stays down while the retries fail, not flickering back to "connecting".
    await new Promise((r) => setTimeout(r, 2500));
    expect(await status.textContent()).toContain('not live');
    await browser.shot('live-indicator-down');
  });

  it('runs under its Content-Security-Policy without a single violation', () => {
    expect(browser.cspViolations).toEqual([]);
  });
});
