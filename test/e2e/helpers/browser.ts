// Real Chromium for GUI tests: Debian's /usr/bin/chromium driven by playwright-core, fresh profile.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ROOT } from '../../integration/helpers/cluster.js';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = join(ROOT, 'test-artifacts', 'screenshots');

/** Why the GUI tests cannot run here, or null when they can. */
export function guiSkipReason(): string | null {
  if (!existsSync(CHROMIUM))
    return `${CHROMIUM} is missing: apt-get install -y chromium (never a downloaded browser)`;
  if (!existsSync(join(ROOT, 'dist', 'renderer', 'index.html')))
    return 'the GUI is not built: run npm run build';
  return null;
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Console reports of anything the Content-Security-Policy blocked, on every page. */
  cspViolations: string[];
  shot(name: string): Promise<void>;
  close(): Promise<void>;
}

export async function openBrowser(): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'colony-chromium-'));
  await mkdir(SCREENSHOTS, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 800 },
    // The coordinator's certificate is self-signed; trust is by fingerprint, not by a CA.
    ignoreHTTPSErrors: true,
    acceptDownloads: true,
  });
  const cspViolations: string[] = [];
  const watch = (p: Page) =>
    p.on('console', (m) => {
      if (/Content[- ]Security[- ]Policy/i.test(m.text())) cspViolations.push(m.text());
    });
  context.pages().forEach(watch);
  context.on('page', watch);
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    cspViolations,
    shot: async (name) => {
      await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
    },
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Poll `read` until `ok` holds; every value seen is returned, so tests can tell it moved live. */
export async function until<T>(
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<T[]> {
  const seen: T[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (seen[seen.length - 1] !== value) seen.push(value);
    if (ok(value)) return seen;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; saw ${JSON.stringify(seen.slice(-10))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
