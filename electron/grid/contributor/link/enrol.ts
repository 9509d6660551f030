// How a contributor comes to hold a credential (docs/trust.md): trade a join token's secret for one,
// or ask to pair and wait for an admin's approval. The result is kept in trust.json (0600).
import {
  generateKeyPairSync,
  sign,
  type KeyObject,
  createPrivateKey,
  createPublicKey,
} from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { ColonyError } from '../../../../shared/errors.js';
import type { JoinToken } from '../../trust/join-token.js';
import { PinnedAgent, pinnedFetch, type FetchLike } from '../../trust/pinned.js';

const trustSchema = z.object({
  coordinatorId: z.string(),
  fingerprint: z.string(),
  credential: z.string(),
  url: z.string().optional(),
});
export type Trust = z.infer<typeof trustSchema>;

const trustFile = (dataDir: string) => join(dataDir, 'trust.json');

export async function loadTrust(dataDir: string): Promise<Trust | undefined> {
  try {
    return trustSchema.parse(JSON.parse(await readFile(trustFile(dataDir), 'utf8')));
  } catch {
    return undefined;
  }
}

export async function saveTrust(dataDir: string, trust: Trust): Promise<void> {
  await writeFile(`${trustFile(dataDir)}.tmp`, JSON.stringify(trust, null, 2), { mode: 0o600 });
  await rename(`${trustFile(dataDir)}.tmp`, trustFile(dataDir));
}

async function post(
  fetch: FetchLike,
  url: string,
  path: string,
  body: unknown,
  bearer?: string,
): Promise<{ status: number; json: Record<string, unknown>; retryAfterMs: number }> {
  const res = await fetch(new URL(`/api/v1${path}`, url).toString(), {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
    },
    body: JSON.stringify(body),
  });
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  const retryAfter = Number(res.headers.get('retry-after'));
  return {
    status: res.status,
    json,
    retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : 0,
  };
}

function errorText(json: Record<string, unknown>): string {
  return ((json.error as { message?: string } | undefined)?.message ?? 'refused').toString();
}

/** Trade the join secret for this contributor's own credential. */
export async function joinWithToken(o: {
  dataDir: string;
  contributorId: string;
  name: string;
  token: JoinToken;
  url: string;
}): Promise<Trust> {
  if (o.token.fingerprint === '-')
    throw new ColonyError('BAD_INPUT', 'the join token carries no certificate fingerprint');
  const fetch = pinnedFetch(new PinnedAgent(o.token.fingerprint, {}, undefined, 'the join token'));
  const { status, json } = await post(
    fetch,
    o.url,
    '/join',
    { contributorId: o.contributorId, name: o.name },
    o.token.secret,
  );
  if (status !== 200)
    throw new ColonyError(
      status === 401 ? 'UNAUTHORIZED' : 'BAD_INPUT',
      `joining failed: ${errorText(json)}`,
    );
  const trust: Trust = {
    coordinatorId: o.token.coordinatorId,
    fingerprint: o.token.fingerprint,
    credential: json.credential as string,
    url: o.url,
  };
  await saveTrust(o.dataDir, trust);
  return trust;
}

async function pairingKey(dataDir: string): Promise<{ privateKey: KeyObject; publicPem: string }> {
  const file = join(dataDir, 'pairing-key.pem');
  try {
    const privateKey = createPrivateKey(await readFile(file, 'utf8'));
    return {
      privateKey,
      publicPem: createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString(),
    };
  } catch {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    await writeFile(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
  }
}

/** The error of a link given up on (the app quits or switches mode while it is being made). */
export function linkStopped(): ColonyError {
  return new ColonyError('UNREACHABLE', 'stopped before the coordinator link was made');
}

/** Throws linkStopped() once `signal` is aborted. */
export function stopIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw linkStopped();
}

/**
 * Ask to pair, then wait (bounded) for an admin to approve. Without a token the coordinator's
 * certificate is trusted on first use, as SSH does; the admin checks our key's fingerprint.
 */
export async function pair(o: {
  dataDir: string;
  contributorId: string;
  name: string;
  user?: string;
  coordinatorId: string;
  fingerprint: string;
  url: string;
  pollMs?: number;
  timeoutMs?: number;
  onRequested?: (keyFingerprint: string) => void;
  /** Gives up waiting for the admin (the app quits or switches mode meanwhile). */
  signal?: AbortSignal;
}): Promise<Trust> {
  stopIfAborted(o.signal);
  const fetch = pinnedFetch(
    new PinnedAgent(o.fingerprint, {}, undefined, 'the certificate the coordinator advertised'),
  );
  const { privateKey, publicPem } = await pairingKey(o.dataDir);
  const asked = await post(fetch, o.url, '/pairing', {
    contributorId: o.contributorId,
    name: o.name,
    ...(o.user ? { user: o.user } : {}),
    publicKey: publicPem,
  });
  if (asked.status !== 202)
    throw new ColonyError('BAD_INPUT', `pairing request refused: ${errorText(asked.json)}`);
  o.onRequested?.(asked.json.fingerprint as string);
  const deadline = Date.now() + (o.timeoutMs ?? 24 * 3600_000);
  while (Date.now() < deadline) {
    stopIfAborted(o.signal);
    const timestamp = Date.now();
    const signature = sign(
      null,
      Buffer.from(`colony-claim:${o.contributorId}:${timestamp}`),
      privateKey,
    ).toString('base64');
    const claim = await post(
      fetch,
      o.url,
      `/pairing/${encodeURIComponent(o.contributorId)}/claim`,
      { timestamp, signature },
    );
    if (claim.status === 200) {
      const trust: Trust = {
        coordinatorId: o.coordinatorId,
        fingerprint: o.fingerprint,
        credential: claim.json.credential as string,
        url: o.url,
      };
      await saveTrust(o.dataDir, trust);
      return trust;
    }
    // 409: not decided yet; 429: asked too often (the coordinator limits pairing per address).
    if (claim.status !== 409 && claim.status !== 429)
      throw new ColonyError('FORBIDDEN', `pairing not granted: ${errorText(claim.json)}`);
    const wait = Math.max(o.pollMs ?? 3000, claim.retryAfterMs);
    await sleep(Math.min(wait, Math.max(0, deadline - Date.now())), undefined, {
      ...(o.signal ? { signal: o.signal } : {}),
    }).catch(() => undefined);
  }
  stopIfAborted(o.signal);
  throw new ColonyError('UNREACHABLE', 'pairing was not approved in time');
}
