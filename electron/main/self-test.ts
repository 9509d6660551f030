// `Colony --self-test`: the app checks itself headless, as the release workflow runs a packaged
// build. Two ColonyApps in this process, each with its own user-data folder: one in coordinator
// mode (its window loads the GUI over the pinned certificate), one in contributor mode that joins
// it with a join token; a 10-task job must succeed through the HTTPS API. Exit code 0 or 1.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { JobSummary } from '../../shared/api.js';
import { jobFileSchema, specFromJobFile } from '../../shared/job-file.js';
import { formatJoinToken } from '../grid/trust/join-token.js';
import { PinnedAgent, pinnedFetch } from '../grid/trust/pinned.js';
import { ColonyApp } from './app.js';
import type { ElectronLike } from './electron-like.js';

const TASKS = 10;
const MODULE = 'export default async ({ x }) => ({ square: x * x });\n';

export interface SelfTestOptions {
  /** Progress lines (stdout in the packaged app). */
  log: (line: string) => void;
  /** The whole test must finish within this. @defaultValue 120000 */
  timeoutMs?: number;
}

/** Runs the self-test with an Electron per app, made for the folder it is given; true if it passed. */
export async function runSelfTest(
  electronFor: (root: string) => ElectronLike,
  o: SelfTestOptions,
): Promise<boolean> {
  const root = await mkdtemp(path.join(tmpdir(), 'colony-self-test-'));
  const apps: ColonyApp[] = [];
  const deadline = Date.now() + (o.timeoutMs ?? 120_000);
  const step = (text: string) => o.log(`self-test: ${text}`);
  try {
    // 1. Coordinator mode, on this machine only (no LAN, no mDNS), any free port.
    const ec = electronFor(path.join(root, 'coordinator'));
    await seedSettings(ec, { mode: 'coordinator', coordinator: { port: 0, lan: false } });
    const coordinatorApp = new ColonyApp(ec, { mdns: false, noSingleInstance: true });
    apps.push(coordinatorApp);
    await coordinatorApp.start();
    await coordinatorApp.modeReady;
    const coordinator = coordinatorApp.coordinator;
    if (!coordinator)
      throw new Error(`coordinator mode did not start: ${coordinatorApp.modeError}`);
    await coordinatorApp.windowLoaded;
    step(
      `coordinator mode up at ${coordinator.url}; its window loaded the GUI (pinned certificate)`,
    );

    // 2. Contributor mode, joining with a join token as a user pastes it.
    const joinToken = formatJoinToken({
      coordinatorId: coordinator.identity.coordinatorId,
      fingerprint: coordinator.fingerprint,
      secret: coordinator.identity.joinSecret,
      address: `127.0.0.1:${coordinator.port}`,
    });
    const ek = electronFor(path.join(root, 'contributor'));
    await seedSettings(ek, {
      mode: 'contributor',
      contributor: { joinToken, policy: { computeWhen: 'always', maxWorkers: 2 } },
    });
    const contributorApp = new ColonyApp(ek, { mdns: false, noSingleInstance: true });
    apps.push(contributorApp);
    await contributorApp.start();
    await contributorApp.modeReady;
    const contributor = contributorApp.contributor;
    if (!contributor)
      throw new Error(`contributor mode did not start: ${contributorApp.modeError}`);
    step(`contributor mode up: ${contributor.contributorId} joined with its own credential`);

    // 3. A 10-task job through the coordinator's HTTPS API, as the CLI submits one.
    const fetch = pinnedFetch(new PinnedAgent(coordinator.fingerprint));
    const api = async (method: string, route: string, body?: string | Uint8Array) => {
      const res = await fetch(`${coordinator.url}/api/v1${route}`, {
        method,
        headers: {
          authorization: `Bearer ${coordinator.identity.adminToken}`,
          ...(body === undefined
            ? {}
            : typeof body === 'string'
              ? { 'content-type': 'application/json' }
              : { 'content-type': 'application/octet-stream' }),
        },
        ...(body === undefined ? {} : { body }),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${text.slice(0, 300)}`);
      return text;
    };
    const code = Buffer.from(MODULE);
    const sha256 = createHash('sha256').update(code).digest('hex');
    await api('PUT', `/blobs/${sha256}`, code);
    const job = jobFileSchema.parse({
      name: 'self-test',
      runtime: 'node',
      module: './square.mjs',
      tasks: { sweep: { x: { range: [0, TASKS] } } },
      limits: { timeoutSec: 60, maxAttempts: 3 },
    });
    const spec = specFromJobFile(
      job,
      { module: { name: './square.mjs', sha256, size: code.length }, files: [] },
      'self-test',
    );
    let summary = JSON.parse(await api('POST', '/jobs', JSON.stringify(spec))) as JobSummary;
    step(`submitted job ${summary.id} (${TASKS} tasks)`);
    while (!['succeeded', 'failed', 'cancelled'].includes(summary.state)) {
      if (Date.now() > deadline) throw new Error(`job still ${summary.state} at the deadline`);
      await new Promise((r) => setTimeout(r, 200));
      summary = JSON.parse(await api('GET', `/jobs/${summary.id}`)) as JobSummary;
    }
    if (summary.state !== 'succeeded') throw new Error(`the job ${summary.state}`);
    const results = (await api('GET', `/jobs/${summary.id}/results`))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { task: number; output?: { square?: number } });
    const wrong = results.filter((r) => r.output?.square !== r.task * r.task);
    if (results.length !== TASKS || wrong.length > 0)
      throw new Error(`results: ${results.length} of ${TASKS}, ${wrong.length} wrong`);
    step(`job ${summary.id} succeeded: ${TASKS} correct results`);
    return true;
  } catch (err) {
    step(`FAILED: ${err instanceof Error ? err.message : String(err)}`);
    return false;
  } finally {
    for (const a of apps.reverse()) await a.stop().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  }
}

/** Writes the settings a first-run choice would leave, in that Electron's user-data folder. */
async function seedSettings(e: ElectronLike, settings: object): Promise<void> {
  const dir = e.app.getPath('userData');
  await mkdir(dir, { recursive: true });
  await writeFile(
    path.join(dir, 'settings.json'),
    `${JSON.stringify({ version: 1, ...settings })}\n`,
  );
}
