// People in the GUI, in real Chromium against a real coordinator: sign in with a personal token
// (refused when wrong, kept only on request, cleared on sign-out), each role sees only what it may
// do (viewer, submitter, admin), an admin adds a person in Settings → People and that person signs
// in with the token shown, rotation and removal sign them out, and the audit view shows it all.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobSummary } from '../../shared/api.js';
import { Cluster } from '../integration/helpers/cluster.js';
import { guiSkipReason, openBrowser, until, type Browser } from './helpers/browser.js';

const skip = guiSkipReason();
if (skip) console.warn(`GUI e2e tests skipped: ${skip}`);
const nav = (page: Page) => page.getByRole('navigation', { name: 'Main' });

/** A job that waits (no contributor here): enough to act on it. */
const WAITING = {
  'job.yaml': 'name: NAME\nruntime: node\nmodule: ./m.mjs\ntasks:\n  inputs: [1, 2]\n',
  'm.mjs': 'export default async (n) => n;\n',
};

describe.skipIf(skip !== null)('people in the GUI', () => {
  let cluster: Cluster;
  let browser: Browser;
  let url = '';
  const tokens: Record<string, string> = {};
  const jobs: Record<string, string> = {};

  const signIn = async (page: Page, token: string, keep = false) => {
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByLabel('Token', { exact: true }).fill(token);
    if (keep) await page.getByLabel('Keep me signed in on this browser').check();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('who').waitFor();
  };
  const signOut = async (page: Page) => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  };
  const who = async (page: Page) =>
    `${await page.getByTestId('who-user').textContent()} ${await page.getByTestId('who-role').textContent()}`;
  /** Where the browser keeps the token: this tab (sessionStorage) and this browser (localStorage). */
  const stored = (page: Page) =>
    page.evaluate<{ session: string | null; local: string | null }>(
      "({ session: sessionStorage.getItem('colony.token'), local: localStorage.getItem('colony.token') })",
    );
  const navLinks = async (page: Page) => nav(page).getByRole('link').allTextContents();

  beforeAll(async () => {
    cluster = await Cluster.create();
    url = await cluster.startCoordinator();
    for (const [name, role] of [
      ['ann', 'submitter'],
      ['bob', 'submitter'],
      ['vera', 'viewer'],
    ] as const) {
      const r = await cluster.cli([
        'users',
        'add',
        name,
        '--role',
        role,
        '--json',
        '--data',
        cluster.dataDir,
      ]);
      expect(r.code, r.stderr).toBe(0);
      tokens[name] = (JSON.parse(r.stdout) as { token: string }).token;
    }
    for (const name of ['ann', 'bob']) {
      const file = await cluster.writeJob(`${name}-job`, {
        ...WAITING,
        'job.yaml': WAITING['job.yaml'].replace('NAME', `${name}-job`),
      });
      const r = await cluster.cli([
        'submit',
        file,
        '--data',
        cluster.dataDir,
        '--token',
        tokens[name] as string,
      ]);
      expect(r.code, r.stderr).toBe(0);
      jobs[name] = r.stdout.trim();
    }
    browser = await openBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
  });

  it('asks for a token, refuses a wrong one and stores nothing', async () => {
    const { page } = browser;
    await page.goto(url);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await browser.shot('people-sign-in');
    await page.getByLabel('Token', { exact: true }).fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('not recognised');
    expect(await stored(page)).toEqual({ session: null, local: null });
    await browser.shot('people-sign-in-refused');
  });

  it('shows a viewer everything to read and nothing to change, each with the reason', async () => {
    const { page } = browser;
    await page.reload();
    await signIn(page, tokens.vera as string);
    expect(await who(page)).toBe('vera viewer');
    // This tab only: nothing kept in the browser.
    expect(await stored(page)).toEqual({ session: tokens.vera, local: null });
    expect(await navLinks(page)).toEqual(['Overview', 'Jobs', 'Timeline', 'Contributors']);
    await nav(page).getByRole('link', { name: 'Jobs' }).click();
    const annRow = page.locator(`[data-job="${jobs.ann}"]`);
    await annRow.waitFor();
    expect(await page.getByRole('link', { name: 'Submit a job' }).count()).toBe(0);
    const cancel = annRow.getByRole('button', { name: 'Cancel ann-job' });
    expect(await cancel.isDisabled()).toBe(true);
    expect(await cancel.getAttribute('title')).toBe('vera is a viewer: viewers cannot change jobs');
    await browser.shot('people-viewer-jobs');
    await page.goto(`${url}/#/jobs/${jobs.ann}`);
    expect(await page.getByTestId('action-refusal').textContent()).toContain('viewers cannot');
    // Pages for other roles say why instead of failing.
    await page.goto(`${url}/#/submit`);
    expect(await page.getByTestId('not-allowed').textContent()).toContain(
      'vera is a viewer: viewers can look but not submit',
    );
    await page.goto(`${url}/#/settings/people`);
    expect(await page.getByTestId('not-allowed').textContent()).toContain('People needs an admin');
    await page.goto(`${url}/#/contributors`);
    expect(await page.getByTestId('admin-only-note').textContent()).toContain('needs an admin');
    expect(await page.getByTestId('pairing').count()).toBe(0);
    await signOut(page);
    expect(await stored(page)).toEqual({ session: null, local: null });
  });

  it('lets a submitter change their own jobs only, and keeps them signed in when asked', async () => {
    const { page } = browser;
    await signIn(page, tokens.ann as string, true);
    expect(await who(page)).toBe('ann submitter');
    expect(await stored(page)).toEqual({ session: tokens.ann, local: tokens.ann });
    expect(await navLinks(page)).toEqual([
      'Overview',
      'Jobs',
      'Submit',
      'Timeline',
      'Contributors',
    ]);
    await nav(page).getByRole('link', { name: 'Jobs' }).click();
    const bobCancel = page
      .locator(`[data-job="${jobs.bob}"]`)
      .getByRole('button', { name: 'Cancel bob-job' });
    await bobCancel.waitFor();
    expect(await bobCancel.isDisabled()).toBe(true);
    expect(await bobCancel.getAttribute('title')).toBe(
      'this job belongs to bob: only its owner or an admin can change it',
    );
    // "Mine" shows ann's job alone.
    await page.getByRole('button', { name: 'Mine' }).click();
    expect(await page.locator('[data-job]').count()).toBe(1);
    await browser.shot('people-submitter-jobs');
    // Kept: a reload (and a new tab) still knows who this is.
    await page.reload();
    expect(await who(page)).toBe('ann submitter');
    const annCancel = page
      .locator(`[data-job="${jobs.ann}"]`)
      .getByRole('button', { name: 'Cancel ann-job' });
    expect(await annCancel.isDisabled()).toBe(false);
    await annCancel.click();
    await until(
      async () => (await page.locator(`[data-job="${jobs.ann}"] .badge`).textContent()) ?? '',
      (v) => v === 'cancelled',
      10_000,
      "ann's job cancelled",
    );
    await signOut(page);
    expect(await stored(page)).toEqual({ session: null, local: null });
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  });

  it('lets an admin add a person, whose printed token signs them in; rotation and removal sign them out; the audit log shows it', async () => {
    const { page } = browser;
    const { adminToken } = await cluster.identity();
    // The address `colony up` opens: the owner's token in the URL, for this tab.
    await page.goto(`${url}/#token=${adminToken}`);
    await page.getByTestId('who').waitFor();
    expect(await who(page)).toBe('owner admin');
    expect(page.url()).not.toContain('token=');
    expect(await navLinks(page)).toContain('Settings');
    await nav(page).getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('navigation', { name: 'Settings' }).getByText('People').click();
    await page.locator('[data-user="ann"]').waitFor();
    // A bad name: the field says why, and nobody is added.
    await page.getByLabel('Name', { exact: true }).fill('pat smith');
    await page.getByRole('button', { name: 'Add and make a token' }).click();
    await page.locator('.field-error').waitFor();
    expect(await page.locator('.field-error').textContent()).toContain('a user name is');
    await browser.shot('people-add-error');
    await page.getByLabel('Name', { exact: true }).fill('pat');
    await page.getByLabel('Role').selectOption('submitter');
    await page.getByRole('button', { name: 'Add and make a token' }).click();
    const shown = page.getByTestId('new-token');
    await shown.waitFor();
    const patToken = await shown.locator('input').inputValue();
    expect(patToken.length).toBeGreaterThan(20);
    await page.locator('[data-user="pat"]').waitFor();
    expect(await page.locator('[data-user="pat"] .badge').textContent()).toBe('submitter');
    await browser.shot('people-added');
    await shown.getByRole('button', { name: 'Done' }).click();
    expect(await page.getByTestId('new-token').count()).toBe(0);

    // pat's fair share: a bad weight is refused on the spot and nothing changes; then weight 3
    // and a 40 % cap are saved, shown in the row and held by the coordinator.
    const patShare = page.locator('[data-user="pat"]');
    await patShare.getByRole('button', { name: 'Edit share' }).click();
    await patShare.getByLabel('Weight').fill('0');
    await patShare.getByRole('button', { name: 'Save' }).click();
    expect(await patShare.getByRole('alert').textContent()).toMatch(
      /weight: 0 is not a number above 0/,
    );
    await patShare.getByLabel('Weight').fill('3');
    await patShare.getByLabel('Max share %').fill('40');
    await browser.shot('people-edit-share');
    await patShare.getByRole('button', { name: 'Save' }).click();
    await patShare.getByRole('button', { name: 'Edit share' }).waitFor();
    expect(await patShare.locator('td.num').allTextContents()).toEqual(['3', '40 %', '0 ms']);
    const held = (
      await (
        await cluster.client()
      ).json<{ name: string; weight: number; maxShare?: number }[]>('GET', '/users')
    ).find((u) => u.name === 'pat');
    expect(held).toMatchObject({ weight: 3, maxShare: 0.4 });

    // pat signs in with that token in another tab (its own session).
    const patPage = await browser.context.newPage();
    await patPage.goto(url);
    await signIn(patPage, patToken);
    expect(await who(patPage)).toBe('pat submitter');

    // The admin rotates pat's token: pat's tab is sent back to sign in, saying why.
    const patRow = page.locator('[data-user="pat"]');
    await patRow.getByRole('button', { name: 'Rotate token' }).click();
    await patRow.getByRole('button', { name: "Rotate pat's token" }).click();
    await page.getByTestId('new-token').waitFor();
    const rotated = await page.getByTestId('new-token').locator('input').inputValue();
    expect(rotated).not.toBe(patToken);
    await patPage.getByRole('heading', { name: 'Sign in' }).waitFor({ timeout: 15_000 });
    expect(await patPage.getByRole('status').first().textContent()).toContain('no longer works');
    await signIn(patPage, rotated);
    expect(await who(patPage)).toBe('pat submitter');

    // Removed: pat is signed out at once, and the admin's list no longer has them.
    await patRow.getByRole('button', { name: 'Remove' }).click();
    await browser.shot('people-remove-confirm');
    await patRow.getByRole('button', { name: 'Remove pat' }).click();
    await patRow.waitFor({ state: 'detached' });
    await patPage.getByRole('heading', { name: 'Sign in' }).waitFor({ timeout: 15_000 });
    await patPage.close();

    // The audit log, newest first: pat removed, rotated, given a cap and a weight, added, all by the owner.
    await page.getByRole('navigation', { name: 'Settings' }).getByText('Audit log').click();
    await page.locator('table.audit tbody tr').first().waitFor();
    const rows = async () =>
      (await page.locator('table.audit tbody tr').allTextContents()).map((t) => t.trim());
    const top = (await rows()).slice(0, 5);
    expect(top[0]).toMatch(/owner.*user\.remove.*pat.*done \(200\)/);
    expect(top[1]).toMatch(/owner.*user\.token.*pat/);
    expect(top[2]).toMatch(/owner.*user\.share.*pat.*max share 0\.4/);
    expect(top[3]).toMatch(/owner.*user\.weight.*pat.*weight 3/);
    expect(top[4]).toMatch(/owner.*user\.add.*pat.*done \(201\)/);
    await browser.shot('people-audit');
    // Filtered to ann's job changes: her cancel, then her submit (by the CLI), newest first.
    await page.getByLabel('Who').fill('ann');
    await page.getByLabel('What').selectOption('job');
    await page.getByRole('button', { name: 'Filter' }).click();
    const annRows = await until(rows, (r) => r.length === 2, 10_000, "ann's two job changes");
    const [cancelled, submitted] = annRows[annRows.length - 1] as string[];
    expect(cancelled).toMatch(new RegExp(`ann.*submitter.*job\\.cancel.*${jobs.ann}`));
    expect(submitted).toMatch(new RegExp(`ann.*submitter.*job\\.submit.*${jobs.ann}`));
    await browser.shot('people-audit-filtered');
    // A filter nothing matches says so.
    await page.getByLabel('Who').fill('nobody');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByText('Nothing matches this filter.').waitFor();

    // And the API agrees: pat's tokens open nothing.
    for (const t of [patToken, rotated]) {
      const res = await browser.context.request.get(`${url}/api/v1/jobs`, {
        headers: { authorization: `Bearer ${t}` },
      });
      expect(res.status()).toBe(401);
    }
    const job = (await (
      await browser.context.request.get(`${url}/api/v1/jobs/${jobs.ann}`, {
        headers: { authorization: `Bearer ${adminToken}` },
      })
    ).json()) as JobSummary;
    expect(job.state).toBe('cancelled');
    expect(browser.cspViolations).toEqual([]);
  });
});
