// A contributor's way to its coordinator: where it is (token address, --coordinator or mDNS),
// which certificate to pin, and its own credential (join token traded, or pairing approved).
import { mkdir, readFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ColonyError } from '../../shared/errors.js';
import { loadContributorId } from '../grid/contributor/manager-options.js';
import { joinWithToken, loadTrust, pair, type Trust } from '../grid/contributor/enrol.js';
import {
  advertiseContributor,
  CoordinatorBrowser,
  type MdnsOptions,
} from '../grid/discovery/mdns.js';
import { parseJoinToken, type JoinToken } from '../grid/trust/join-token.js';
import { PinnedAgent, pinnedFetch, type FetchLike } from '../grid/trust/pinned.js';

export interface LinkOptions {
  dataDir: string;
  /** Join token text: --join, COLONY_JOIN, or the file `join-token` pre-seeded in the data dir. */
  joinToken?: string;
  coordinatorUrl?: string;
  /** mDNS options, or false for --no-mdns. */
  mdns: MdnsOptions | false;
  log: Logger;
  discoverTimeoutMs?: number;
}

export interface Link {
  contributorId: string;
  trust: Trust;
  currentUrl: () => string;
  tls: { agent: PinnedAgent; fetch: FetchLike };
  /** Ask the LAN again where the coordinator is (after a disconnect). */
  refresh(): void;
  stop(): Promise<void>;
}

async function readSeededToken(dataDir: string): Promise<string | undefined> {
  try {
    return (await readFile(join(dataDir, 'join-token'), 'utf8')).trim() || undefined;
  } catch {
    return undefined;
  }
}

export async function establishLink(o: LinkOptions): Promise<Link> {
  await mkdir(o.dataDir, { recursive: true, mode: 0o700 });
  const contributorId = await loadContributorId(o.dataDir);
  const tokenText = o.joinToken ?? process.env.COLONY_JOIN ?? (await readSeededToken(o.dataDir));
  const token: JoinToken | undefined = tokenText ? parseJoinToken(tokenText) : undefined;
  const fixedUrl = o.coordinatorUrl ?? (token?.address ? `https://${token.address}` : undefined);
  const browser = o.mdns ? new CoordinatorBrowser(o.mdns) : undefined;
  const withdraw = o.mdns
    ? advertiseContributor({ contributorId, name: hostname() }, o.mdns)
    : undefined;
  const stop = async () => {
    await withdraw?.();
    await browser?.stop();
  };
  try {
    let trust = await loadTrust(o.dataDir);
    if (token && trust?.coordinatorId !== token.coordinatorId) trust = undefined;
    const wanted = token?.coordinatorId ?? trust?.coordinatorId;
    const pin = token?.fingerprint ?? trust?.fingerprint;
    const advert =
      fixedUrl || !browser
        ? undefined
        : await browser.find(wanted, o.discoverTimeoutMs ?? 30_000, pin);
    const url = fixedUrl ?? advert?.url ?? trust?.url;
    if (!url)
      throw new ColonyError(
        'UNREACHABLE',
        wanted
          ? `coordinator ${wanted} not found on the LAN (mDNS); pass --coordinator URL`
          : 'no coordinator found on the LAN (mDNS) and no join token',
      );
    if (!trust && token) {
      trust = await joinWithToken({
        dataDir: o.dataDir,
        contributorId,
        name: hostname(),
        token,
        url,
      });
    } else if (!trust) {
      if (!advert)
        throw new ColonyError(
          'BAD_INPUT',
          'pairing without a join token needs mDNS discovery of the coordinator',
        );
      o.log.warn(
        { coordinator: advert.name, fingerprint: advert.fingerprint },
        'asking to pair; an admin must approve this machine',
      );
      trust = await pair({
        dataDir: o.dataDir,
        contributorId,
        name: hostname(),
        user: userInfo().username,
        coordinatorId: advert.coordinatorId,
        fingerprint: advert.fingerprint,
        url,
        onRequested: (fp) =>
          process.stdout.write(
            `pairing requested: approve contributor ${contributorId} (key ${fp.slice(0, 16)}) on the coordinator\n`,
          ),
      });
    }
    const agent = new PinnedAgent(trust.fingerprint);
    const settled = trust;
    return {
      contributorId,
      trust: settled,
      currentUrl: () =>
        fixedUrl ??
        browser?.next(settled.coordinatorId, settled.fingerprint)?.url ??
        settled.url ??
        url,
      tls: { agent, fetch: pinnedFetch(agent) },
      refresh: () => browser?.refresh(),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
