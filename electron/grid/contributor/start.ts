// The one way a contributor starts, for `colony contributor` and the desktop app alike: find the
// coordinator, hold a credential of its own (join token traded once, pairing approved, or the one
// stored in trust.json) and run the manager over HTTPS/WSS pinned to the coordinator's certificate.
import { mkdir, readFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ColonyError } from '../../../shared/errors.js';
import { advertiseContributor, CoordinatorBrowser, type MdnsOptions } from '../discovery/mdns.js';
import { parseJoinToken, type JoinToken } from '../trust/join-token.js';
import { PinnedAgent, pinnedFetch, type FetchLike } from '../trust/pinned.js';
import {
  joinWithToken,
  linkStopped,
  loadTrust,
  pair,
  stopIfAborted,
  type Trust,
} from './link/enrol.js';
import { ContributorManager } from './manager/manager.js';
import { loadContributorId, type ManagerOptions } from './manager/manager-options.js';

export interface LinkOptions {
  /** The contributor's data directory: contributor.json, trust.json, blobs, work. */
  dataDir: string;
  /** Join token text; else the file `join-token` pre-seeded in the data dir, else pairing. */
  joinToken?: string;
  /** Where the coordinator is, when neither the token's address nor mDNS should say. */
  coordinatorUrl?: string;
  /** mDNS options, or false for none (`--no-mdns`, tests). */
  mdns: MdnsOptions | false;
  log: Logger;
  /** How long to look for the coordinator over mDNS. @defaultValue 30000 */
  discoverTimeoutMs?: number;
  /** Machine name shown to the coordinator. @defaultValue os.hostname() */
  name?: string;
  /** Told when a pairing request is pending an admin's approval (with this key's fingerprint). */
  onPairingRequested?: (contributorId: string, keyFingerprint: string) => void;
  /** Gives up looking for the coordinator or waiting for pairing, and stops what started. */
  signal?: AbortSignal;
}

export interface Link {
  contributorId: string;
  /** The credential this contributor holds, and the certificate it pins. Never the join secret. */
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

/** Only HTTPS reaches a coordinator: a URL given by hand must say so (the pin needs TLS). */
function httpsUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ColonyError('BAD_INPUT', `coordinator URL ${JSON.stringify(url)} is not a URL`);
  }
  if (parsed.protocol !== 'https:')
    throw new ColonyError(
      'BAD_INPUT',
      `coordinator URL ${JSON.stringify(url)} must be https:// (its certificate is pinned)`,
    );
  return parsed.origin;
}

/** `promise`, or the "stopped" error as soon as `signal` is aborted. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(linkStopped());
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Where the coordinator is and the credential to use there; joins or pairs when there is none. */
export async function establishLink(o: LinkOptions): Promise<Link> {
  await mkdir(o.dataDir, { recursive: true, mode: 0o700 });
  const contributorId = await loadContributorId(o.dataDir);
  const name = o.name ?? hostname();
  const tokenText = o.joinToken ?? (await readSeededToken(o.dataDir));
  const token: JoinToken | undefined = tokenText ? parseJoinToken(tokenText) : undefined;
  if (token && token.fingerprint === '-')
    throw new ColonyError('BAD_INPUT', 'the join token carries no certificate fingerprint');
  const fixedUrl =
    httpsUrl(o.coordinatorUrl) ?? (token?.address ? `https://${token.address}` : undefined);
  const browser = o.mdns ? new CoordinatorBrowser(o.mdns) : undefined;
  const withdraw = o.mdns ? advertiseContributor({ contributorId, name }, o.mdns) : undefined;
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
        : await untilAborted(browser.find(wanted, o.discoverTimeoutMs ?? 30_000, pin), o.signal);
    const url = fixedUrl ?? advert?.url ?? trust?.url;
    if (!url)
      throw new ColonyError(
        'UNREACHABLE',
        wanted
          ? `coordinator ${wanted} not found on the LAN (mDNS); give its address`
          : 'no coordinator found on the LAN (mDNS) and no join token',
      );
    if (!trust && token) {
      trust = await joinWithToken({ dataDir: o.dataDir, contributorId, name, token, url });
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
        name,
        user: userInfo().username,
        coordinatorId: advert.coordinatorId,
        fingerprint: advert.fingerprint,
        url,
        onRequested: (fp) => o.onPairingRequested?.(contributorId, fp),
        ...(o.signal ? { signal: o.signal } : {}),
      });
    }
    stopIfAborted(o.signal);
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

/** What the caller chooses for the manager; where it connects and with what is the link's. */
export type ManagerChoices = Omit<
  ManagerOptions,
  'url' | 'currentUrl' | 'credential' | 'tls' | 'dataDir'
>;

export interface StartedContributor {
  link: Link;
  manager: ContributorManager;
  /** The coordinator's address when the manager started. */
  url: string;
  /** Stops the manager (its workers included), then discovery. */
  stop(): Promise<void>;
}

/**
 * Establishes the link, then starts a manager that connects with the link's own credential over
 * TLS pinned to the link's fingerprint, and re-asks the LAN where the coordinator is after every
 * disconnect.
 */
export async function startContributor(
  o: LinkOptions & { manager: ManagerChoices },
): Promise<StartedContributor> {
  const link = await establishLink(o);
  const url = link.currentUrl();
  let manager: ContributorManager;
  try {
    manager = new ContributorManager({
      ...o.manager,
      url,
      currentUrl: link.currentUrl,
      tls: link.tls,
      credential: link.trust.credential,
      dataDir: o.dataDir,
      logger: o.manager.logger ?? o.log,
    });
    manager.on('disconnected', () => link.refresh());
    await manager.start();
  } catch (err) {
    await link.stop();
    throw err;
  }
  if (o.signal?.aborted) {
    await manager.stop();
    await link.stop();
    stopIfAborted(o.signal);
  }
  return {
    link,
    manager,
    url,
    async stop() {
      await manager.stop();
      await link.stop();
    },
  };
}
