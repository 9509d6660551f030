// The contributor panel in real Chromium against a real `colony contributor` (issue 5): the URL it
// prints, status with the coordinator, running tasks and CPU donated, pause/resume, and a policy
// setting changed live (a bad value shown on its field first).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContributorInfo } from '../../shared/api.js';
import type { PanelPolicy } from '../../shared/panel-api.js';
import { Cluster } from '../integration/helpers/cluster.js';
import { guiSkipReason, openBrowser, until, type Browser } from './helpers/browser.js';

const skip = guiSkipReason();
if (skip) console.warn(`panel e2e tests skipped: ${skip}`);

// About 300 ms of CPU a task, with progress along the way.
const BURN = `export default async ({ x }, ctx) => {
  for (let step = 1; step <= 3; step++) {
    const end = Date.now() + 100;
    while (Date.now() < end) {}
    ctx.progress(step / 3, 'step ' + step);
    await new Promise((r) => setTimeout(r, 150));
  }
  return x;
};
`;

describe.skipIf(skip !== null)('contributor panel in Chromium', () => {
  let cluster: Cluster;
  let browser: Browser;
  let panelUrl = '';

  const panelApi = async <T>(path: string): Promise<T> => {
    const token = (await readFile(join(cluster.dir, 'alice', 'panel-token'), 'utf8')).trim();
    const res = await fetch(`${new URL(panelUrl).origin}/api/v1${path}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return (await res.json()) as T;
  };
  const testText = async (id: string) =>
    ((await browser.page.getByTestId(id).first().textContent()) ?? '').trim();

  beforeAll(async () => {
    cluster = await Cluster.create();
    await cluster.startCoordinator();
    const alice = await cluster.startContributor('alice', 1);
    const m = /contributor panel at (http:\/\/127\.0\.0\.1:\d+\/#panel-token=\S+)/.exec(
      alice.output(),
    );
    expect(m, alice.output()).not.toBeNull();
    panelUrl = m?.[1] as string;
    browser = await openBrowser();
    await browser.page.goto(panelUrl);
  });
  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
  });

  it('shows the coordinator, a running task with progress, and CPU donated', async () => {
    const { page } = browser;
    await page.getByRole('heading', { name: 'This computer in the grid' }).waitFor();
    expect(page.url()).not.toContain('panel-token=');
    await until(
      () => testText('panel-coordinator'),
      (v) => v.includes(cluster.coordinator?.url ?? '?') && v.includes('online'),
      15_000,
      'connected to the coordinator',
    );
    expect(await testText('panel-state')).toContain('working');
    const file = await cluster.writeJob('burn', {
      'job.yaml': 'name: burn\nruntime: node\nmodule: ./burn.mjs\ntasks:\n  inputs: [1, 2, 3, 4]\n',
      'burn.mjs': BURN,
    });
    const r = await cluster.cli(['submit', file, '--data', cluster.dataDir]);
    expect(r.code, r.stderr).toBe(0);
    await page.locator('.panel-tasks li').first().waitFor({ timeout: 20_000 });
    await browser.shot('panel-running');
    await cluster.waitJob(r.stdout.trim());
    await until(
      () => testText('cpu-today'),
      (v) => v !== '0 ms' && v !== '',
      10_000,
      'CPU donated today',
    );
    expect(await testText('cpu-total')).not.toBe('0 ms');
  });

  it('shows a bad setting on its field, then changes the CPU limit live', async () => {
    const { page } = browser;
    const limit = page.getByLabel(/CPU limit/);
    await limit.fill('3');
    await page.getByRole('button', { name: 'Save settings' }).click();
    const err = page.locator('[data-field="cpuLimitPercent"] .field-error');
    await err.waitFor();
    expect(await err.textContent()).toMatch(/5|too small/i);
    expect((await panelApi<PanelPolicy>('/policy')).settings.cpuLimitPercent).toBe(100);
    await browser.shot('panel-setting-error');

    await limit.fill('50');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByTestId('policy-saved').waitFor();
    expect(await testText('policy-saved')).toContain('applied now');
    const policy = await panelApi<PanelPolicy>('/policy');
    expect(policy).toMatchObject({ live: true, settings: { cpuLimitPercent: 50 } });
    await until(
      () => testText('panel-state'),
      (v) => v.includes('limited to 50 % CPU'),
      10_000,
      'the limit in the reason',
    );
    // Saved in the data dir for the next start.
    const saved = JSON.parse(
      await readFile(join(cluster.dir, 'alice', 'owner-policy.json'), 'utf8'),
    ) as { cpuLimitPercent: number };
    expect(saved.cpuLimitPercent).toBe(50);
    await page.evaluate('window.scrollTo(0, 0)');
    await browser.shot('panel');
  });

  it('pauses until resumed, which the coordinator sees, then resumes', async () => {
    const { page } = browser;
    const client = await cluster.client();
    await page.getByRole('button', { name: 'Pause until I resume' }).click();
    await until(
      () => testText('panel-state'),
      (v) => v.includes('Paused by you'),
      5_000,
      'paused',
    );
    await until(
      async () => (await client.json<ContributorInfo[]>('GET', '/contributors'))[0]?.policy?.state,
      (v) => v === 'paused',
      10_000,
      'the coordinator told of the pause',
    );
    await browser.shot('panel-paused');
    await page.getByRole('button', { name: 'Resume' }).click();
    await until(
      () => testText('panel-state'),
      (v) => v.includes('working'),
      5_000,
      'working again',
    );
  });
});
