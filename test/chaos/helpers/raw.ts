// Raw HTTPS calls to a coordinator (status codes and error bodies, not the CLI client's exceptions).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PinnedAgent, pinnedFetch } from '../../../electron/grid/trust/pinned.js';
import type { Cluster } from '../../integration/helpers/cluster.js';

export interface RawResponse {
  status: number;
  body: unknown;
}

/** An API caller pinned to the cluster's coordinator, with the admin token unless told otherwise. */
export async function rawApi(cluster: Cluster) {
  const { fingerprint } = JSON.parse(
    await readFile(join(cluster.dataDir, 'coordinator.json'), 'utf8'),
  ) as { fingerprint: string };
  const admin = (await cluster.identity()).adminToken;
  const fetch = pinnedFetch(new PinnedAgent(fingerprint));
  return async (
    method: string,
    path: string,
    body?: string | Uint8Array,
    contentType = 'application/json',
    token: string | null = admin,
  ): Promise<RawResponse> => {
    const res = await fetch(`${cluster.coordinator!.url}/api/v1${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': contentType } : {}),
      },
      ...(body !== undefined ? { body } : {}),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* NDJSON or text */
    }
    return { status: res.status, body: parsed };
  };
}
