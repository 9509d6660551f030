// Promise (docs/fleet-rollout.md, the console): the contributors page stays usable with 500
// machines — filter by group, state, reason and isolation, sort, select and pause in bulk — and a
// machine's page shows its fleet policy with the locked fields. A real coordinator (in this
// process, so joins are not rate-limited); 500 lightweight contributors speaking the real protocol
// (hello, heartbeat) over real pinned-TLS WebSockets; real Chromium.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContributorInfo } from '../../shared/api.js';
import { PROTOCOL_VERSION, type Hello } from '../../shared/protocol.js';
import {
  startCoordinator,
  type RunningCoordinator,
} from '../../electron/grid/coordinator/coordinator.js';
import { PinnedAgent, pinnedFetch } from '../../electron/grid/trust/pinned.js';
import { guiSkipReason, openBrowser, until, type Browser } from './helpers/browser.js';

const skip = guiSkipReason();
if (skip) console.warn(`GUI e2e tests skipped: ${skip}`);

const MACHINES = 500;
const GROUPS = ['lab', 'office', 'floor-2', 'render'];

/** Machine i's group, owner-policy state and isolation: a spread to filter on. */
function profile(i: number): {
  tags: string[];
  policy: Hello['policy'];
  isolation: 'sandbox' | 'permission-model';
} {
  const policy =
    i % 5 === 0
      ? { state: 'paused' as const, reason: 'Paused: this computer is running on battery' }
      : i % 7 === 0
        ? { state: 'idle' as const, reason: 'Idle: outside the schedule (Mon-Fri 18:00-08:00)' }
        : { state: 'working' as const, reason: 'Working: allowed at any time' };
  return {
    tags: [GROUPS[i % GROUPS.length]!],
    policy,
    isolation: i % 3 === 0 ? 'permission-model' : 'sandbox',
  };
}

describe.skipIf(skip !== null)('the contributors console with 500 machines', () => {
  let dir: string;
  let coordinator: RunningCoordinator;
  let browser: Browser;
  const sockets: WebSocket[] = [];
  let beat: NodeJS.Timeout | undefined;
  const ids = Array.from({ length: MACHINES }, (_, i) => `sim-${String(i).padStart(3, '0')}`);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'colony-console-'));
    coordinator = await startCoordinator({
      dataDir: dir,
      port: 0,
      logger: pino({ level: 'silent' }),
      rateLimit: { enrolPerMinute: 1_000_000, failedAuthPerMinute: 1_000_000 },
    });
    const agent = new PinnedAgent(coordinator.fingerprint);
    // Connect in batches of 50: each joins for a credential of its own, then says hello.
    for (let from = 0; from < MACHINES; from += 50)
      await Promise.all(
        ids.slice(from, from + 50).map(async (id, k) => {
          const i = from + k;
          const credential = await coordinator.credentials.join(id, `desk-${i}`);
          const ws = new WebSocket(`${coordinator.url.replace('https', 'wss')}/api/v1/connect`, {
            headers: {
              authorization: `Bearer ${credential}`,
              // Half the fleet on an older version, as during a rollout.
              'user-agent': `colony-contributor/${i % 2 === 0 ? '0.9.0' : '1.0.0'}`,
            },
            agent,
            perMessageDeflate: false,
          });
          sockets.push(ws);
          ws.on('error', () => undefined);
          await new Promise((resolve, reject) => {
            ws.once('open', resolve);
            ws.once('error', reject);
          });
          const p = profile(i);
          const welcomed = new Promise<void>((resolve) =>
            ws.on('message', (d: Buffer) => {
              if (d.toString().includes('"welcome"')) resolve();
            }),
          );
          ws.send(
            JSON.stringify({
              type: 'hello',
              protocol: PROTOCOL_VERSION,
              contributorId: id,
              name: `desk-${i}`,
              caps: {
                cores: 4,
                memoryMb: 8192,
                platform: 'linux',
                arch: 'x64',
                runtimes: ['node'],
                tags: p.tags,
                slots: 3,
                isolation: p.isolation,
              },
              heartbeatMs: 30_000,
              running: [],
              policy: p.policy,
            } satisfies Hello),
          );
          await welcomed;
        }),
      );
    // Heartbeats keep the machines online while the test runs (bounded: cleared in afterAll).
    beat = setInterval(() => {
      for (const [i, ws] of sockets.entries())
        if (ws.readyState === WebSocket.OPEN)
          ws.send(JSON.stringify({ type: 'heartbeat', running: [], policy: profile(i).policy }));
    }, 10_000);
    browser = await openBrowser();
    // Wide enough for the console's columns.
    await browser.page.setViewportSize({ width: 1600, height: 1000 });
    await browser.page.goto(`${coordinator.url}/#token=${coordinator.identity.adminToken}`);
  }, 180_000);

  afterAll(async () => {
    clearInterval(beat);
    for (const ws of sockets) ws.terminate();
    await browser?.close();
    await coordinator?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await pinnedFetch(new PinnedAgent(coordinator.fingerprint))(
      `${coordinator.url}/api/v1${path}`,
      {
        method,
        headers: {
          authorization: `Bearer ${coordinator.identity.adminToken}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      },
    );
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const count = () => browser.page.getByTestId('console-count').innerText();

  it('lists all 500, filters by group, state, reason and isolation, and sorts', async () => {
    const { page } = browser;
    await page.goto(`${coordinator.url}/#/contributors`);
    await until(count, (t) => t === `${MACHINES} machines`, 60_000, 'all machines listed');
    // 100 rows at a time; the rest on request.
    expect(await page.locator('table.contributors tbody tr').count()).toBe(100);
    await browser.shot('console-500');

    const filters = page.getByRole('search', { name: 'Filter machines' });
    await filters.getByLabel('Group').selectOption('lab');
    await until(count, (t) => t === `125 of ${MACHINES} machines`, 10_000, 'lab filter');
    for (const g of await page.getByTestId('groups').allInnerTexts()) expect(g).toBe('lab');

    await filters.getByLabel('State').selectOption('paused');
    // lab = i % 4 == 0; paused = i % 5 == 0: i % 20 == 0, 25 machines.
    await until(count, (t) => t === `25 of ${MACHINES} machines`, 10_000, 'paused lab');
    for (const w of await page.getByTestId('why').allInnerTexts()) expect(w).toMatch(/battery/);
    await browser.shot('console-filtered');

    await filters.getByLabel('State').selectOption('');
    await filters.getByLabel('Reason').fill('schedule');
    // lab and i % 7 == 0 and not i % 5 == 0.
    const expected = ids.filter((_, i) => i % 4 === 0 && i % 7 === 0 && i % 5 !== 0).length;
    await until(count, (t) => t === `${expected} of ${MACHINES} machines`, 10_000, 'reason');
    await filters.getByLabel('Reason').fill('');
    await filters.getByLabel('Isolation').selectOption('permission model only');
    const lapm = ids.filter((_, i) => i % 4 === 0 && i % 3 === 0).length;
    await until(count, (t) => t === `${lapm} of ${MACHINES} machines`, 10_000, 'isolation');
    await filters.getByLabel('Isolation').selectOption('');
    // lab machines are all even: all on 0.9.0.
    await filters.getByLabel('Version').selectOption('1.0.0');
    await until(count, (t) => t === `0 of ${MACHINES} machines`, 10_000, 'version');
    await filters.getByLabel('Group').selectOption('');
    await until(count, (t) => t === `250 of ${MACHINES} machines`, 10_000, 'version');
    for (const v of await page.getByTestId('version').allInnerTexts()) expect(v).toBe('1.0.0');
    await filters.getByLabel('Version').selectOption('');
    await filters.getByLabel('Group').selectOption('lab');

    // Sort by machine name, then the other way.
    const names = () =>
      page.locator('table.contributors tbody tr td:nth-child(2) strong').allInnerTexts();
    await page.getByRole('button', { name: /^Machine/ }).click();
    const down = await names();
    expect(down).toEqual([...down].sort().reverse());
    await page.getByRole('button', { name: /^Machine/ }).click();
    const up = await names();
    expect(up).toEqual([...up].sort());
  });

  it('pauses a filtered selection in bulk, and only those', async () => {
    const { page } = browser;
    // Still filtered to the lab group (125).
    await page.getByLabel('Select all shown by the filter').check();
    await until(count, (t) => t.endsWith('125 selected'), 10_000, 'selection');
    await browser.shot('console-selected');
    await page
      .getByRole('group', { name: 'Actions on the selected machines' })
      .getByRole('button', { name: 'Pause', exact: true })
      .click();
    await page.getByRole('status').filter({ hasText: 'paused: 125 machines' }).waitFor();
    const list = await api<ContributorInfo[]>('GET', '/contributors');
    const paused = list.filter((c) => c.fleet === 'paused');
    expect(paused.length).toBe(125);
    expect(paused.every((c) => c.groups?.includes('lab'))).toBe(true);
    // The page shows them paused by the admin.
    await page.getByLabel('Select all shown by the filter').uncheck();
    const filters = page.getByRole('search', { name: 'Filter machines' });
    await filters.getByLabel('Group').selectOption('');
    await filters.getByLabel('State').selectOption('paused');
    // The admin's 125 and the 100 others on battery, minus the 25 in both.
    await until(count, (t) => t === `${125 + 100 - 25} of ${MACHINES} machines`, 15_000, 'paused');
    await browser.shot('console-bulk-paused');
    // The audit log has it, once for the whole selection.
    const audit = await api<{ action: string; status: number }[]>('GET', '/audit?action=fleet');
    expect(audit.filter((e) => e.action === 'fleet.pause' && e.status === 200)).toHaveLength(1);
  });

  it('sets a group fleet policy from the page; a bad lock is refused and changes nothing', async () => {
    const { page } = browser;
    await page.getByText('Fleet policy for a group').click();
    const form = page.locator('details.fleet-policy');
    await form.getByLabel('Group').selectOption('render');
    await form.getByLabel('Settings (JSON)').fill('{ "maxWorkers": 2, "idleMinutes": 15 }');
    await form.getByLabel('Lock').fill('maxWorkers,colour');
    await form.getByRole('button', { name: 'Set policy' }).click();
    await form.getByRole('alert').filter({ hasText: 'cannot lock "colour"' }).waitFor();
    await browser.shot('console-policy-refused');
    expect((await api<{ policies: unknown[] }>('GET', '/fleet')).policies).toEqual([]);
    await form.getByLabel('Lock').fill('maxWorkers');
    await form.getByLabel('Reason').fill('render nodes share a UPS');
    await form.getByRole('button', { name: 'Set policy' }).click();
    await form
      .getByRole('status')
      .filter({ hasText: 'set on group render (125 machines)' })
      .waitFor();
    const { policies } = await api<{ policies: { scope: string; policy: { locked: string[] } }[] }>(
      'GET',
      '/fleet',
    );
    expect(policies.map((p) => [p.scope, p.policy.locked])).toEqual([
      ['group:render', ['maxWorkers']],
    ]);
  });

  it("a machine's page shows its fleet policy with locked fields", async () => {
    await api('PUT', '/fleet/policy', {
      group: 'office',
      settings: { maxWorkers: 1, idleMinutes: 10 },
      lock: ['maxWorkers'],
      reason: 'reception desks',
    });
    const { page } = browser;
    await page.goto(`${coordinator.url}/#/contributors/${ids[1]}`);
    const table = page.getByTestId('fleet-policy');
    await table.waitFor();
    const rows = await table.locator('tbody tr').allInnerTexts();
    expect(rows.find((r) => r.startsWith('maxWorkers'))).toMatch(/locked by owner/);
    expect(rows.find((r) => r.startsWith('idleMinutes'))).toMatch(/owner may change/);
    await page.getByText('Why: reception desks').waitFor();
    expect(await page.getByTestId('machine-groups').innerText()).toMatch(/office \(its tags\)/);
    await browser.shot('console-machine-page');
  });
});
