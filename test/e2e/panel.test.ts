// The contributor panel in real Chromium against a real `colony contributor` (issue 5): the URL it
// prints, status with the coordinator, running tasks and CPU donated, pause/resume, and a policy
// setting changed live (a bad value shown on its field first).
import { spawn } from 'node:child_process';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
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

  it('edits the schedule as a week grid, not as JSON', async () => {
    const { page } = browser;
    const anyTime = page.getByLabel('any time (no schedule)');
    await anyTime.uncheck();
    // No hour picked and not "any time": refused on the field, nothing saved.
    await page.getByRole('button', { name: 'Save settings' }).click();
    const err = page.locator('[data-field="schedule"] .field-error');
    await err.waitFor();
    expect(await err.textContent()).toContain('pick at least one hour');
    expect((await panelApi<PanelPolicy>('/policy')).settings.schedule).toEqual([]);

    await page.getByRole('button', { name: 'All of Monday' }).click();
    await page.getByRole('button', { name: 'Tuesday 18:00–19:00' }).click();
    await page.getByRole('button', { name: 'Tuesday 19:00–20:00' }).click();
    expect(
      await page.getByRole('button', { name: 'Tuesday 18:00–19:00' }).getAttribute('aria-pressed'),
    ).toBe('true');
    await browser.shot('panel-schedule');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByTestId('policy-saved').waitFor();
    expect((await panelApi<PanelPolicy>('/policy')).settings.schedule).toEqual([
      { days: [1], from: '00:00', to: '00:00' },
      { days: [2], from: '18:00', to: '20:00' },
    ]);
    // Read back from the saved policy, the grid shows the same hours.
    await page.reload();
    await page.getByRole('button', { name: 'Tuesday 19:00–20:00' }).waitFor();
    expect(
      await page.getByRole('button', { name: 'Tuesday 19:00–20:00' }).getAttribute('aria-pressed'),
    ).toBe('true');
    expect(
      await page.getByRole('button', { name: 'Tuesday 20:00–21:00' }).getAttribute('aria-pressed'),
    ).toBe('false');
    // Back to any time, so the rest runs unrestricted.
    await page.getByLabel('any time (no schedule)').check();
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByTestId('policy-saved').waitFor();
    expect((await panelApi<PanelPolicy>('/policy')).settings.schedule).toEqual([]);
  });

  it('pauses until resumed, which the coordinator sees, then resumes', async () => {
    const { page } = browser;
    const client = await cluster.client();
    await page.getByRole('button', { name: 'Pause until I resume' }).click();
    await until(
      () => testText('panel-state'),
      (v) => v.includes('Paused by you'),
      15_000,
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
      15_000,
      'working again',
    );
  });

  it.runIf(process.platform === 'linux')(
    'edits the busy programs and the mode, and shows what the policy sees and why it pauses',
    async () => {
      const { page } = browser;
      await page.reload();
      await page.getByTestId('sensor-fullscreen').waitFor();
      // A headless contributor has no desktop; this machine may or may not have a CPU sensor.
      expect(await testText('sensor-fullscreen')).toBe(
        'cannot tell: no desktop session (headless contributor)',
      );
      expect(await testText('sensor-temperature')).toMatch(/^(cannot tell: .+|\d+ °C \(.+\))$/);
      expect(await testText('sensor-programs')).toBe('none of the listed programs is running');
      expect(await testText('panel-mode')).toBe('While you use this computer: pause');

      await page.getByLabel(/Pause while these programs run/).fill('zoom\ncolony-panel-game');
      await page
        .getByLabel('While you use this computer', { exact: true })
        .selectOption('throttle');
      await page.getByRole('button', { name: 'Save settings' }).click();
      await page.getByTestId('policy-saved').waitFor();
      const policy = await panelApi<PanelPolicy>('/policy');
      expect(policy.settings.busyPrograms.linux).toEqual(['zoom', 'colony-panel-game']);
      expect(policy.settings.whenActive).toBe('throttle');
      await until(
        () => testText('panel-mode'),
        (v) => v === 'While you use this computer: throttle to 1 worker at 25 % CPU',
        15_000,
        'the mode shown',
      );

      const exe = join(cluster.dir, 'colony-panel-game');
      await copyFile('/bin/sleep', exe);
      const game = spawn(exe, ['600'], { stdio: 'ignore' });
      try {
        await until(
          () => testText('panel-state'),
          (v) => v.includes('Paused: colony-panel-game is running'),
          10_000,
          'the pause for the program',
        );
        expect(await testText('sensor-programs')).toBe('running: colony-panel-game');
        await page.evaluate('window.scrollTo(0, 0)');
        await browser.shot('panel-busy-program');
      } finally {
        game.kill('SIGKILL');
      }
      await until(
        () => testText('panel-state'),
        (v) => v.includes('working'),
        10_000,
        'working again once the program ended',
      );
      await page.getByLabel('While you use this computer', { exact: true }).selectOption('pause');
      await page.getByRole('button', { name: 'Save settings' }).click();
      await page.getByTestId('policy-saved').waitFor();
    },
  );

  it("shows the admin's locked fields with who and why, refuses loosening one, accepts tightening", async () => {
    const { page } = browser;
    const id = /contributor (\S+) serving/.exec(cluster.contributors[0]?.output() ?? '')?.[1];
    const file = join(cluster.dir, 'desk.json');
    await writeFile(file, JSON.stringify({ cpuLimitPercent: 40 }));
    const set = await cluster.cli([
      'contributors',
      'policy',
      id ?? '?',
      file,
      '--lock',
      'cpuLimitPercent',
      '--reason',
      'shared desk',
      '--data',
      cluster.dataDir,
    ]);
    expect(set.code, set.stderr).toBe(0);
    await until(
      async () => (await panelApi<PanelPolicy>('/policy')).fleet?.policy?.locked ?? [],
      (l) => l.includes('cpuLimitPercent'),
      10_000,
      'the lock to reach the contributor',
    );
    await page.reload();
    const box = page.getByTestId('fleet-box');
    await box.waitFor();
    expect(await box.innerText()).toMatch(
      /Set by the admin “owner” for this computer: shared desk/,
    );
    expect(await box.locator('[data-field="cpuLimitPercent"]').innerText()).toMatch(
      /40\s+locked\s+40/,
    );
    await box.scrollIntoViewIfNeeded();
    await browser.shot('panel-fleet-box');
    // Looser than the lock: refused with the reason, nothing saved.
    const own = (await panelApi<PanelPolicy>('/policy')).settings.cpuLimitPercent;
    expect(own).toBeGreaterThan(40);
    const limit = page.getByLabel(/CPU limit/);
    await limit.fill('80');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText(/cpuLimitPercent is locked at 40/).waitFor();
    expect(await page.getByText(/cpuLimitPercent is locked at 40/).innerText()).toMatch(
      /shared desk.*only make it stricter/,
    );
    await browser.shot('panel-fleet-locked');
    expect((await panelApi<PanelPolicy>('/policy')).settings.cpuLimitPercent).toBe(own);
    // Stricter: saved and in force.
    await limit.fill('30');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByTestId('policy-saved').waitFor();
    const after = await panelApi<PanelPolicy>('/policy');
    expect([after.settings.cpuLimitPercent, after.effective.cpuLimitPercent]).toEqual([30, 30]);
    const clear = await cluster.cli([
      'contributors',
      'policy',
      id ?? '?',
      '--clear',
      '--data',
      cluster.dataDir,
    ]);
    expect(clear.code, clear.stderr).toBe(0);
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
