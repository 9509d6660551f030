// Promise: the join secret only makes new contributors, a pairing request belongs to the key that
// filed it, and a flood of pairing requests cannot lock real machines out. Throughout, a real
// contributor process keeps its credential and keeps running jobs.
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pair } from '../../electron/grid/contributor/link/enrol.js';
import { PinnedAgent, pinnedFetch } from '../../electron/grid/trust/pinned.js';
import { Cluster } from '../integration/helpers/cluster.js';
import { busyJob } from '../integration/helpers/jobs.js';
import { report, scale } from './helpers/scale.js';

const FLOOD_ADDRESSES = scale(4, 20);
const FLOOD_PER_ADDRESS = scale(40, 100);

const publicKey = () =>
  generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();

describe('contributor identity cannot be taken over, pairing cannot be flooded', () => {
  let cluster: Cluster;
  let fingerprint: string;
  let realId: string;
  let realCredential: string;
  let attempts = 0;
  const agents = new Map<string, PinnedAgent>();

  /** A request from a given loopback source address (each one another "machine"). */
  const call = async (
    method: string,
    path: string,
    o: { body?: unknown; token?: string; from?: string } = {},
  ) => {
    const from = o.from ?? '127.0.0.1';
    let agent = agents.get(from);
    if (!agent) agents.set(from, (agent = new PinnedAgent(fingerprint, { localAddress: from })));
    const res = await pinnedFetch(agent)(`${cluster.coordinator?.url}/api/v1${path}`, {
      method,
      headers: {
        ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
        ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const admin = async () => (await cluster.identity()).adminToken;
  const stillWorks = async () => {
    // The real credential is still recognised (403: a blob none of its attempts needs; not 401).
    const res = await call('GET', `/blobs/${'0'.repeat(64)}`, { token: realCredential });
    expect(res.status).toBe(403);
    expect(JSON.stringify(res.json)).toMatch(/not a module or file of a job this contributor/);
    const contributors = (await call('GET', '/contributors', { token: await admin() }))
      .json as unknown as { id: string; state: string }[];
    expect(contributors.find((c) => c.id === realId)?.state).toBe('online');
  };

  beforeAll(async () => {
    cluster = await Cluster.create();
    await cluster.startCoordinator();
    fingerprint = (
      JSON.parse(await readFile(join(cluster.dataDir, 'coordinator.json'), 'utf8')) as {
        fingerprint: string;
      }
    ).fingerprint;
    await cluster.startContributor('real', 2);
    const data = join(cluster.dir, 'real');
    realId = (
      JSON.parse(await readFile(join(data, 'contributor.json'), 'utf8')) as {
        contributorId: string;
      }
    ).contributorId;
    realCredential = (
      JSON.parse(await readFile(join(data, 'trust.json'), 'utf8')) as { credential: string }
    ).credential;
  });
  afterAll(async () => {
    for (const a of agents.values()) a.destroy();
    await cluster?.stop();
    report({
      kind: 'join/pairing takeover and pairing flood',
      faults: attempts,
      jobs: 1,
      tasks: 20,
      lost: 0,
      duplicated: 0,
      wrong: 0,
      recoveryMs: [],
      note: 'takeovers 409, flood bounded per address; real contributor kept working',
    });
  });

  it('POST /join with the join secret and an existing id is refused; the credential stays', async () => {
    const { joinSecret } = await cluster.identity();
    for (const body of [
      { contributorId: realId, name: 'attacker' },
      { contributorId: realId, name: 'real' },
    ]) {
      attempts++;
      const res = await call('POST', '/join', { body, token: joinSecret });
      expect(res.status).toBe(409);
      expect(JSON.stringify(res.json)).toMatch(/is taken: joining only creates new contributors/);
    }
    await stillWorks();
    // A new id still joins.
    const fresh = await call('POST', '/join', {
      body: { contributorId: 'brand-new', name: 'new' },
      token: joinSecret,
    });
    expect(fresh.status).toBe(200);
  });

  it('a pairing request under a taken id, or re-filed with another key, is refused', async () => {
    attempts++;
    const taken = await call('POST', '/pairing', {
      body: { contributorId: realId, name: 'evil', publicKey: publicKey() },
    });
    expect(taken.status).toBe(409);

    const honestKey = publicKey();
    const first = await call('POST', '/pairing', {
      body: { contributorId: 'honest', name: 'honest', publicKey: honestKey },
    });
    expect(first.status).toBe(202);
    attempts++;
    const refile = await call('POST', '/pairing', {
      body: { contributorId: 'honest', name: 'honest', publicKey: publicKey() },
      from: '127.0.0.9',
    });
    expect(refile.status).toBe(409);
    expect(JSON.stringify(refile.json)).toMatch(/from another key/);
    const again = await call('POST', '/pairing', {
      body: { contributorId: 'honest', name: 'honest', publicKey: honestKey },
    });
    expect(again.status).toBe(202);
    expect(again.json.fingerprint).toBe(first.json.fingerprint);
    await stillWorks();
  });

  it(`${FLOOD_ADDRESSES} machines flooding pairing requests cannot lock out a real one`, async () => {
    // A real machine asks first; then the flood.
    await mkdir(join(cluster.dir, 'pairing-machine'), { recursive: true });
    const realMachine = pair({
      dataDir: join(cluster.dir, 'pairing-machine'),
      contributorId: 'pairing-machine',
      name: 'pm',
      coordinatorId: (await cluster.identity()).coordinatorId,
      fingerprint,
      url: cluster.coordinator?.url as string,
      // Within the coordinator's 30 pairing requests a minute per address, while the flood lasts.
      pollMs: 1_000,
      timeoutMs: 60_000,
    });
    const statuses = new Map<number, number>();
    const floods: Promise<void>[] = [];
    for (let a = 0; a < FLOOD_ADDRESSES; a++) {
      const from = `127.0.0.${20 + a}`;
      floods.push(
        (async () => {
          for (let i = 0; i < FLOOD_PER_ADDRESS; i++) {
            attempts++;
            const res = await call('POST', '/pairing', {
              body: { contributorId: `flood-${a}-${i}`, name: 'flood', publicKey: publicKey() },
              from,
            });
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          }
        })(),
      );
    }
    await Promise.all(floods);
    // Rate-limited past a few per address, and at most 4 pending kept per address.
    expect(statuses.get(429) ?? 0).toBeGreaterThan(0);
    expect([...statuses.keys()].every((s) => s === 202 || s === 429)).toBe(true);
    const pending = (await call('GET', '/pairing', { token: await admin() })).json as unknown as {
      contributorId: string;
      state: string;
    }[];
    const flooded = pending.filter((p) => p.contributorId.startsWith('flood-'));
    expect(flooded.length).toBeLessThanOrEqual(4 * FLOOD_ADDRESSES);
    // The real machine's request is still there: the admin approves it and it gets its credential.
    const ids = pending.map((p) => p.contributorId);
    expect(ids).toContain('pairing-machine');
    expect(ids).toContain('honest');
    const approved = await call('POST', '/contributors/pairing-machine/approve', {
      token: await admin(),
    });
    expect(approved.status).toBe(200);
    const trust = await realMachine;
    const works = await call('GET', `/blobs/${'0'.repeat(64)}`, { token: trust.credential });
    expect(works.status).toBe(403); // recognised, not 401
    expect(JSON.stringify(works.json)).toMatch(/not a module or file of a job this contributor/);
    await stillWorks();
  });

  it('the real contributor kept working through all of it: a job completes', async () => {
    const res = await cluster.cli([
      'submit',
      await cluster.writeJob('after-attacks', busyJob('after-attacks', 20, 50)),
      '--data',
      cluster.dataDir,
      '--wait',
    ]);
    expect(res.code, res.stderr).toBe(0);
    await stillWorks();
  });
});
