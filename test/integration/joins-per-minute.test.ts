// Promise (docs/cli.md): the coordinator takes at most --joins-per-minute joins and pairing
// requests from one address a minute (30 unless set), so many machines behind one NAT can be let in
// and a guesser of the join secret cannot hammer it; a value that is not a whole number in range
// is refused before anything starts. Real coordinator processes, real HTTPS on loopback.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../electron/cli/client.js';
import { Cluster } from './helpers/cluster.js';

describe('colony coordinator --joins-per-minute', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.create();
  });
  afterAll(() => cluster.stop());

  it('refuses a value that is not a whole number from 1 to 1000000, starting nothing', async () => {
    for (const bad of ['0', '-1', '2.5', 'many', '1000001']) {
      const dir = join(cluster.dir, `bad-${bad}`);
      const res = await cluster.cli([
        'coordinator',
        '--data',
        dir,
        '--port',
        '0',
        '--no-mdns',
        '--joins-per-minute',
        bad,
      ]);
      expect(res.code, bad).not.toBe(0);
      expect(res.stderr).toContain(
        `--joins-per-minute: ${bad} is not a whole number from 1 to 1000000`,
      );
      expect(existsSync(join(dir, 'store')), bad).toBe(false);
    }
  });

  it('takes that many joins from one address a minute, then refuses more (429)', async () => {
    await cluster.startCoordinator(['--joins-per-minute', '40']);
    const { joinSecret } = await cluster.identity();
    const { fingerprint } = JSON.parse(
      await readFile(join(cluster.dataDir, 'coordinator.json'), 'utf8'),
    ) as { fingerprint: string };
    const joiner = new ApiClient((await cluster.client()).baseUrl, joinSecret, fingerprint);
    // 31 machines: one more than the default would let in.
    for (let i = 0; i < 31; i++) {
      const res = await joiner.json<{ credential: string }>('POST', '/join', {
        contributorId: `nat-${i}`,
        name: `nat-${i}`,
      });
      expect(res.credential.length, `join ${i}`).toBeGreaterThan(20);
    }
    let refused: unknown;
    for (let i = 31; i < 60 && !refused; i++)
      await joiner
        .json('POST', '/join', { contributorId: `nat-${i}`, name: `nat-${i}` })
        .catch((err: unknown) => (refused = err));
    expect(String(refused)).toMatch(/too many|rate|429/i);
  });
});
