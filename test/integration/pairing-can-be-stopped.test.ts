// Promise: a machine waiting for an admin to approve its pairing can be stopped (the app quits or
// switches mode): the wait ends at once with a clear error instead of holding the app for hours.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pair } from '../../electron/grid/contributor/link/enrol.js';
import { Cluster } from './helpers/cluster.js';

describe('pairing, stopped while it waits for approval', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.create();
    await cluster.startCoordinator();
  });
  afterAll(() => cluster.stop());

  it('ends the wait with "stopped", leaving the request for the admin to decide', async () => {
    const dataDir = join(cluster.dir, 'waiting');
    await mkdir(dataDir, { recursive: true });
    const { fingerprint } = JSON.parse(
      await readFile(join(cluster.dataDir, 'coordinator.json'), 'utf8'),
    ) as { fingerprint: string };
    const stop = new AbortController();
    let requested!: () => void;
    const asked = new Promise<void>((r) => (requested = r));
    const waiting = pair({
      dataDir,
      contributorId: 'waiting-machine',
      name: 'waiting',
      coordinatorId: (await cluster.identity()).coordinatorId,
      fingerprint,
      url: cluster.coordinator!.url,
      // Without the signal this would wait a minute between polls and a day in all: the test times out.
      pollMs: 60_000,
      onRequested: () => requested(),
      signal: stop.signal,
    });
    await asked;
    stop.abort();
    await expect(waiting).rejects.toThrow(/stopped before the coordinator link was made/);
    const client = await cluster.client();
    const pending = await client.json<{ contributorId: string }[]>('GET', '/pairing');
    expect(pending.map((p) => p.contributorId)).toContain('waiting-machine');
  }, 30_000);

  it('a signal already aborted asks nothing of the coordinator', async () => {
    const dataDir = join(cluster.dir, 'never');
    await mkdir(dataDir, { recursive: true });
    const stop = new AbortController();
    stop.abort();
    const { fingerprint } = JSON.parse(
      await readFile(join(cluster.dataDir, 'coordinator.json'), 'utf8'),
    ) as { fingerprint: string };
    await expect(
      pair({
        dataDir,
        contributorId: 'never-asked',
        name: 'never',
        coordinatorId: (await cluster.identity()).coordinatorId,
        fingerprint,
        url: cluster.coordinator!.url,
        signal: stop.signal,
      }),
    ).rejects.toThrow(/stopped/);
    const client = await cluster.client();
    const pending = await client.json<{ contributorId: string }[]>('GET', '/pairing');
    expect(pending.map((p) => p.contributorId)).not.toContain('never-asked');
  });
});
