// The web GUI in real Chromium against a real coordinator and contributor on loopback: submit,
// watch, inspect, download, cancel, and the "why isn't it running" reason (issue 4's must-shows).
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { unzipSync, strFromU8 } from 'fflate';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContributorInfo, JobSummary } from '../../shared/api.js';
import { Cluster } from '../integration/helpers/cluster.js';
import { guiSkipReason, openBrowser, until, type Browser } from './helpers/browser.js';

const skip = guiSkipReason();
const nav = (page: Page, name: string) =>
  page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
if (skip) console.warn(`GUI e2e tests skipped: ${skip}`);

const SQUARE = `export default async ({ x }, ctx) => {
  ctx.log('squaring ' + x);
  for (let i = 1; i <= 4; i++) {
    await new Promise((r) => setTimeout(r, 60));
    ctx.progress(i / 4, 'step ' + i);
  }
  return { square: x * x };
};
`;

describe.skipIf(skip !== null)('coordinator GUI in Chromium', () => {
  let cluster: Cluster;
  let browser: Browser;
  let client: Awaited<ReturnType<Cluster['client']>>;
  let squaresUrl = '';

  const submitFile = async (name: string, files: Record<string, string>): Promise<string> => {
    const file = await cluster.writeJob(name, files);
    const r = await cluster.cli(['submit', file, '--data', cluster.dataDir]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim();
  };
  const text = async (testId: string) =>
    ((await browser.page.getByTestId(testId).first().textContent()) ?? '').trim();

  beforeAll(async () => {
    cluster = await Cluster.create();
    await cluster.startCoordinator();
    await cluster.startContributor('alice', 2, ['--allow-commands']);
    client = await cluster.client();
    browser = await openBrowser();
    const { adminToken } = await cluster.identity();
    await browser.page.goto(`${cluster.coordinator?.url}/#token=${adminToken}`);
  });
  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
  });

  it('shows the overview with the contributor online', async () => {
    const { page } = browser;
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.getByText('contributors online').waitFor();
    await until(
      async () => (await page.locator('.stat .big').first().textContent()) ?? '',
      (v) => v === '1',
      15_000,
      'one contributor online',
    );
    // The token left the URL once it was stored.
    expect(page.url()).not.toContain('token=');
    await browser.shot('overview');
  });

  it('submits a job through the form, shows field errors, and watches it reach 100 % live', async () => {
    const { page } = browser;
    await nav(page, 'Submit').click();
    await page.getByLabel('Name', { exact: true }).fill('squares');
    await page.getByLabel('Module (.mjs)').setInputFiles({
      name: 'square.mjs',
      mimeType: 'text/javascript',
      buffer: Buffer.from(SQUARE),
    });
    await page.getByLabel('Stop (exclusive)').fill('24');
    // A bad limit: the API's 400 names the field and the form shows it there.
    await page.getByLabel('Timeout (s)').fill('-5');
    const timeoutError = page.locator('[data-field="limits.timeoutSec"] .field-error');
    await timeoutError.waitFor();
    expect(await timeoutError.textContent()).toContain('must be more than 0'); // a sentence, not zod's text
    await page.getByLabel('Timeout (s)').fill('60');
    await timeoutError.waitFor({ state: 'detached' });
    await until(
      () => text('task-count'),
      (v) => v === '24',
      15_000,
      'a preview of 24 tasks',
    );
    expect(await page.locator('.preview-tasks li').first().textContent()).toBe('{"x":0}');
    await browser.shot('submit');

    await page.evaluate('window.__sameDocument = true');
    await page.getByRole('button', { name: /^Submit 24 tasks/ }).click();
    await page.waitForURL(/#\/jobs\/j[0-9a-z]+$/);
    squaresUrl = page.url();
    const seen = await until(
      () => text('progress-label'),
      (v) => v === '100 %',
      60_000,
      '100 %',
    );
    // Updates arrived on the same page, from the event stream: no reload, intermediate values.
    expect(await page.evaluate('window.__sameDocument')).toBe(true);
    expect(seen.some((v) => v !== '0 %' && v !== '100 %')).toBe(true);
    expect(await text('done-count')).toBe('24');

    // A task's details: input, output, attempts.
    await page.locator('[data-task="5"]').click();
    const detail = page.getByTestId('task-detail');
    await detail.getByTestId('task-output').waitFor();
    expect(JSON.parse((await detail.getByTestId('task-output').textContent()) ?? '')).toEqual({
      square: 25,
    });
    await detail.getByRole('table').waitFor();
    await browser.shot('job-detail');

    // Results as NDJSON, downloaded through the authenticated fetch.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download results (NDJSON)' }).click(),
    ]);
    const lines = (await readFile(await download.path(), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { task: number; output: { square: number } });
    expect(lines).toHaveLength(24);
    for (const line of lines) expect(line.output.square).toBe(line.task * line.task);
  });

  it('downloads a command job’s output files as a zip', async () => {
    const { page } = browser;
    const id = await submitFile('files', {
      'job.yaml': [
        'name: files',
        'runtime: command',
        'command: ["sh", "-c", "mkdir -p out && echo value-{x} > out/r.txt"]',
        'tasks:',
        '  sweep:',
        '    x: { range: [0, 3] }',
        'outputs: ["out/*.txt"]',
        '',
      ].join('\n'),
    });
    expect((await cluster.waitJob(id)).state).toBe('succeeded');
    await page.goto(`${cluster.coordinator?.url}/#/jobs/${id}`);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download output files (zip)' }).click(),
    ]);
    const entries = unzipSync(await readFile(await download.path()));
    const names = Object.keys(entries).sort();
    expect(names).toHaveLength(3);
    for (const [i, name] of names.entries()) {
      expect(name).toMatch(new RegExp(`^task-${i}/.*r\\.txt$`));
      expect(strFromU8(entries[name] as Uint8Array).trim()).toBe(`value-${i}`);
    }
  });

  it('cancels a running job and shows it stop', async () => {
    const { page } = browser;
    const id = await submitFile('forever', {
      'job.yaml':
        'name: forever\nruntime: node\nmodule: ./spin.mjs\ntasks:\n  sweep:\n    x: { range: [0, 20] }\n',
      'spin.mjs': 'export default async () => { for (;;) { /* never yields */ } };\n',
    });
    await page.goto(`${cluster.coordinator?.url}/#/jobs/${id}`);
    await until(
      () => text('running-count'),
      (v) => v === '2',
      20_000,
      'two running tasks',
    );
    await browser.shot('job-running');
    await page.getByRole('button', { name: 'Cancel forever' }).click();
    await until(
      async () => (await page.getByTestId('job-title').textContent()) ?? '',
      (v) => v.includes('cancelled'),
      15_000,
      'the job shown cancelled',
    );
    await until(
      () => text('running-count'),
      (v) => v === '0',
      15_000,
      'nothing running',
    );
    const job = await client.json<JobSummary>('GET', `/jobs/${id}`);
    expect(job.state).toBe('cancelled');
    expect(job.counts.running).toBe(0);
    await browser.shot('job-cancelled');
  });

  it('says why a job no contributor can run is not running', async () => {
    const { page } = browser;
    const id = await submitFile('windows-only', {
      'job.yaml':
        'name: windows-only\nruntime: node\nmodule: ./m.mjs\ntasks:\n  inputs: [1, 2]\nrequirements: { platforms: [win32] }\n',
      'm.mjs': 'export default async (n) => n;\n',
    });
    await page.goto(`${cluster.coordinator?.url}/#/jobs/${id}`);
    const why = page.getByTestId('why');
    await why.waitFor();
    expect(await why.textContent()).toContain('platform=win32');
    await browser.shot('why-not-running');
    await nav(page, 'Jobs').click();
    await page.locator(`[data-job="${id}"] .why-inline`).waitFor();
    await browser.shot('jobs');
  });

  it('lists contributors, approves a pairing request, and shows the join token', async () => {
    const { page } = browser;
    await nav(page, 'Contributors').click();
    await page.locator('table.contributors tbody tr').first().waitFor();
    expect(await page.locator('table.contributors tbody tr').count()).toBe(1);
    // Each machine says how its tasks are isolated.
    expect(await page.locator('[data-testid="isolation"]').first().textContent()).toMatch(
      /^(sandbox|permission model only)/,
    );
    // A machine without a token asks to pair (a public route); the admin approves it here.
    const { publicKey } = generateKeyPairSync('ed25519');
    const asked = await browser.context.request.post(`${cluster.coordinator?.url}/api/v1/pairing`, {
      data: {
        contributorId: 'c-newcomer',
        name: 'newcomer',
        publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      },
    });
    expect(asked.status(), await asked.text()).toBe(202);
    const request = page.locator('[data-pairing="c-newcomer"]');
    await request.waitFor({ timeout: 10_000 });
    await browser.shot('contributors');
    await request.getByRole('button', { name: 'Approve' }).click();
    await request.waitFor({ state: 'detached' });
    const pairings = await client.json<{ contributorId: string; state: string }[]>(
      'GET',
      '/pairing',
    );
    expect(pairings.find((p) => p.contributorId === 'c-newcomer')?.state).toBe('approved');
    await nav(page, 'Settings').click();
    const token = page.getByLabel('Join token');
    await token.waitFor();
    const { coordinatorId } = await cluster.identity();
    expect(await token.inputValue()).toMatch(new RegExp(`^colony1\\.${coordinatorId}\\.`));
    await browser.shot('settings');
  });

  it('charts throughput on the overview and follows a dark system theme', async () => {
    const { page } = browser;
    await nav(page, 'Overview').click();
    await page.locator('.chart rect[height]:not([height="0"])').first().waitFor();
    await browser.shot('overview-after-jobs');
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${squaresUrl}/tasks/3`);
    await page.getByTestId('task-output').waitFor();
    const background = await page.evaluate('getComputedStyle(document.body).backgroundColor');
    expect(background).toBe('rgb(13, 17, 23)');
    await browser.shot('job-detail-dark');
  });
  it('submits a job file picked with its folder, showing a missing module on its field', async () => {
    const { page } = browser;
    await page.emulateMedia({ colorScheme: 'light' });
    // First a folder whose job file names a module that is not there.
    const broken = await cluster.writeJob('broken', {
      'job.yaml': 'name: broken\nruntime: node\nmodule: ./gone.mjs\ntasks:\n  inputs: [1]\n',
    });
    await nav(page, 'Submit').click();
    await page.getByLabel('Job folder').setInputFiles(dirname(broken));
    const moduleError = page.locator('[data-field="module"] .field-error');
    await moduleError.waitFor();
    expect(await moduleError.textContent()).toContain('gone.mjs is not in the picked folder');
    await browser.shot('submit-job-file-error');

    // Then a good folder: job.yaml, the module, staged files matched by a glob.
    const good = await cluster.writeJob('folder-job', {
      'job.yaml': [
        'name: folder-job',
        'runtime: node',
        'module: ./lib/add.mjs',
        'files: ["data/*.txt"]',
        'tasks:',
        '  sweep:',
        '    x: { range: [0, 6] }',
        '    y: [10, 20]',
        '',
      ].join('\n'),
      'lib/add.mjs':
        "import { readFile } from 'node:fs/promises';\n" +
        'export default async ({ x, y }, ctx) => ({ sum: x + y, note: (await readFile(ctx.files["data/n.txt"], "utf8")).trim() });\n',
      'data/n.txt': 'staged\n',
      'data/skip.bin': 'not matched',
    });
    await page.getByLabel('Job folder').setInputFiles(dirname(good));
    await until(
      () => text('task-count'),
      (v) => v === '12',
      15_000,
      'a preview of 12 tasks',
    );
    expect(await page.locator('[data-field="module"] .field-error').count()).toBe(0);
    expect(await text('uploaded')).toContain('1 staged files');
    expect(await page.locator('.preview-tasks li').first().textContent()).toBe('{"x":0,"y":10}');
    await browser.shot('submit-job-file');
    await page.getByRole('button', { name: /^Submit 12 tasks/ }).click();
    await page.waitForURL(/#\/jobs\/j[0-9a-z]+$/);
    const id = /#\/jobs\/(j[0-9a-z]+)$/.exec(page.url())?.[1] as string;
    await until(
      () => text('progress-label'),
      (v) => v === '100 %',
      60_000,
      '100 %',
    );
    const results = await cluster.results(id);
    expect(results).toHaveLength(12);
    expect(results[3]?.output).toEqual({ sum: 1 + 20, note: 'staged' });
  });

  it('shows CPU donated today and revokes a contributor after a confirm', async () => {
    const { page } = browser;
    const bob = await cluster.startContributor('bob', 1);
    const bobId = /contributor (\S+) serving/.exec(bob.output())?.[1] as string;
    await nav(page, 'Contributors').click();
    const row = page.locator(`[data-contributor="${bobId}"]`);
    await row.waitFor({ timeout: 15_000 });
    // alice ran every job so far: her CPU today is more than nothing.
    const aliceId = /contributor (\S+) serving/.exec(cluster.contributors[0]?.output() ?? '')?.[1];
    const aliceCpu = page.locator(`[data-contributor="${aliceId}"] [data-testid="cpu-today"]`);
    await until(
      async () => (await aliceCpu.textContent()) ?? '',
      (v) => v !== '—' && v !== '0 ms',
      10_000,
      'CPU donated today by alice',
    );
    await row.getByRole('button', { name: 'Revoke' }).click();
    await browser.shot('contributors-revoke-confirm');
    await row.getByRole('button', { name: /^Revoke / }).click();
    await until(
      async () => (await row.locator('.badge').textContent()) ?? '',
      (v) => v === 'revoked',
      10_000,
      'bob shown revoked',
    );
    expect(await row.getByRole('button', { name: 'Revoke' }).count()).toBe(0);
    const after = await client.json<ContributorInfo[]>('GET', '/contributors');
    await until(
      async () =>
        (await client.json<ContributorInfo[]>('GET', '/contributors')).find((c) => c.id === bobId)
          ?.state ?? '',
      (v) => v === 'offline',
      10_000,
      'bob disconnected',
    );
    expect(after.some((c) => c.id === bobId)).toBe(true);
    await browser.shot('contributors-revoked');
  });

  it('rotates the join token and the admin token from Settings, and keeps working', async () => {
    const { page } = browser;
    const before = await cluster.identity();
    await nav(page, 'Settings').click();
    const join = page.getByLabel('Join token');
    await join.waitFor();
    expect(await page.getByTestId('network').textContent()).toMatch(/127\.0\.0\.1 port \d+/);
    const oldJoin = await join.inputValue();
    await page.getByRole('button', { name: 'Rotate join token' }).click();
    await page.getByRole('button', { name: 'Rotate', exact: true }).click();
    await until(
      () => join.inputValue(),
      (v) => v !== oldJoin,
      15_000,
      'a new join token',
    );
    const afterJoin = await cluster.identity();
    expect(afterJoin.joinSecret).not.toBe(before.joinSecret);
    expect(await join.inputValue()).toContain(`.${afterJoin.joinSecret}@`);

    // The answer to the rotation is held back 2.5 s: by then the server has cut the tab's event
    // stream (old token) and refused its reconnection with a 401. That refusal is for the token
    // being replaced, so the tab must not sign out; it takes the new one when the answer comes.
    await page.route('**/api/v1/settings/rotate/admin', async (route) => {
      const response = await route.fetch();
      await new Promise((r) => setTimeout(r, 2_500));
      await route.fulfill({ response });
    });
    await page.getByRole('button', { name: 'Rotate admin token' }).click();
    await page.getByRole('button', { name: 'Rotate', exact: true }).click();
    const adminField = page.getByLabel(/New admin token/);
    await adminField.waitFor();
    await page.unroute('**/api/v1/settings/rotate/admin');
    const rotated = await cluster.identity();
    expect(rotated.adminToken).not.toBe(before.adminToken);
    expect(await adminField.inputValue()).toBe(rotated.adminToken);
    await browser.shot('settings-rotated');
    // The old token is refused; this tab took the new one and stays live.
    const old = await browser.context.request.get(`${cluster.coordinator?.url}/api/v1/jobs`, {
      headers: { authorization: `Bearer ${before.adminToken}` },
    });
    expect(old.status()).toBe(401);
    await nav(page, 'Jobs').click();
    await page.locator('[data-job]').first().waitFor();
    await page.getByText('● live').waitFor();
    expect(await page.getByRole('heading', { name: 'Admin token needed' }).count()).toBe(0);
    client = await cluster.client();
  });

  it('runs under its Content-Security-Policy without a single violation', async () => {
    const res = await browser.page.reload();
    const headers = res?.headers() ?? {};
    expect(headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['x-frame-options']).toBe('DENY');
    await browser.page.waitForLoadState('load');
    await browser.page.getByRole('heading').first().waitFor();
    expect(browser.cspViolations).toEqual([]);
  });
});
