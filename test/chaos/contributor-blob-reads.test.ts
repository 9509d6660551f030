// Promise: a contributor downloads only what an attempt it holds needs (that job's module and
// files), while it holds it: not another job's module, files or outputs, and nothing once it is done.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PinnedAgent, pinnedFetch } from '../../electron/grid/trust/pinned.js';
import { Cluster } from '../integration/helpers/cluster.js';
import { ProtocolClient, joinAs, type Target } from './helpers/protocol-client.js';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('blob reads by a contributor (real coordinator, protocol-level contributor)', () => {
  let c: Cluster;
  let target: Target;
  beforeAll(async () => {
    c = await Cluster.create();
    await c.startCoordinator();
    const { fingerprint } = JSON.parse(
      await readFile(join(c.dataDir, 'coordinator.json'), 'utf8'),
    ) as { fingerprint: string };
    target = { url: c.coordinator!.url, fingerprint, joinSecret: (await c.identity()).joinSecret };
  });
  afterAll(() => c.stop());

  const submit = async (name: string, files: Record<string, string>) => {
    const r = await c.cli(['submit', await c.writeJob(name, files), '--data', c.dataDir]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim();
  };

  it("gets its own job's module and files while it runs them, and nothing else", async () => {
    const mine = {
      module: 'export default ({ x }) => ({ mine: x });\n',
      file: 'my staged data\n',
    };
    const theirs = {
      module: 'export default ({ x }) => ({ theirs: x, secret: 42 });\n',
      file: 'their confidential data\n',
    };
    await submit('mine', {
      'job.yaml':
        'name: mine\nruntime: node\nmodule: ./m.mjs\nfiles: [data.txt]\ntasks:\n  sweep: { x: { range: [0, 1] } }\n',
      'm.mjs': mine.module,
      'data.txt': mine.file,
    });
    const who = await joinAs(target, 'c-reader');
    const client = await ProtocolClient.connect(target, who);
    const [held] = await client.take(1, 10_000);
    expect(held?.module?.sha256).toBe(sha(mine.module));
    // Another user's job, submitted meanwhile: queued, never assigned to this contributor.
    await submit('theirs', {
      'job.yaml':
        'name: theirs\nruntime: node\nmodule: ./t.mjs\nfiles: [secret.txt]\ntasks:\n  sweep: { x: { range: [0, 1] } }\n',
      't.mjs': theirs.module,
      'secret.txt': theirs.file,
    });
    const fetch = pinnedFetch(new PinnedAgent(target.fingerprint));
    const get = async (hash: string) => {
      const res = await fetch(`${target.url}/api/v1/blobs/${hash}`, {
        headers: { authorization: `Bearer ${who.credential}` },
      });
      return { status: res.status, body: await res.text() };
    };
    expect(await get(sha(mine.module))).toEqual({ status: 200, body: mine.module });
    expect(await get(sha(mine.file))).toEqual({ status: 200, body: mine.file });
    for (const other of [theirs.module, theirs.file, 'never uploaded']) {
      const r = await get(sha(other));
      expect(r.status).toBe(403);
      expect(r.body).toMatch(/not a module or file of a job this contributor is running/);
      expect(r.body).not.toContain('confidential');
    }
    // Done with it: the job's blobs are no longer its to read.
    client.result(held!.attemptId, { mine: 0 });
    expect(await client.ack(held!.attemptId)).toBe(true);
    expect((await get(sha(mine.module))).status).toBe(403);
    // The admin still reads everything.
    const admin = await c.client();
    expect((await admin.request('GET', `/blobs/${sha(theirs.file)}`)).status).toBe(200);
    await client.close();
  });
});
