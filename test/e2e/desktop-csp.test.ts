// The Content-Security-Policy the desktop app adds to what its windows load
// (electron/main/window-security.ts), put on the coordinator's GUI in real Chromium: every view
// renders and nothing is refused. (Electron itself cannot run here; its Chromium enforces the
// same header.)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCoordinator,
  type RunningCoordinator,
} from '../../electron/grid/coordinator/coordinator.js';
import { CONTENT_SECURITY_POLICY } from '../../electron/main/window-security.js';
import { guiSkipReason, openBrowser, type Browser } from './helpers/browser.js';

const skip = guiSkipReason();
if (skip) console.warn(`desktop CSP e2e skipped: ${skip}`);

describe.skipIf(skip !== null)("the desktop windows' CSP on the coordinator GUI", () => {
  let dir: string;
  let coordinator: RunningCoordinator;
  let browser: Browser;
  const refused: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'colony-csp-'));
    coordinator = await startCoordinator({
      dataDir: dir,
      host: '127.0.0.1',
      port: 0,
      logger: pino({ level: 'silent' }),
    });
    browser = await openBrowser();
    const page = browser.page;
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) refused.push(m.text());
    });
    page.on('pageerror', (e) => refused.push(String(e)));
    // Documents get the header, as the app's onHeadersReceived adds it (the API and the event
    // stream pass through untouched).
    await page.route(
      (u) => !u.pathname.startsWith('/api/') && !u.pathname.startsWith('/assets/'),
      async (route) => {
        const res = await route.fetch();
        const headers: Record<string, string> = {
          ...res.headers(),
          'content-security-policy': CONTENT_SECURITY_POLICY,
        };
        delete headers['transfer-encoding'];
        await route.fulfill({ status: res.status(), headers, body: await res.body() });
      },
    );
  });
  afterAll(async () => {
    await browser?.close();
    await coordinator?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('renders every view with nothing refused', async () => {
    const page = browser.page;
    await page.goto(`${coordinator.url}/#token=${coordinator.identity.adminToken}`);
    for (const name of ['Overview', 'Jobs', 'Submit', 'Contributors', 'Settings']) {
      await page
        .getByRole('navigation', { name: 'Main' })
        .getByRole('link', { name, exact: true })
        .click();
      // The view rendered: its main region has content (scripts ran under the policy).
      await expect
        .poll(async () => ((await page.locator('main').first().textContent()) ?? '').length)
        .toBeGreaterThan(20);
    }
    expect(refused).toEqual([]);
  });
});
