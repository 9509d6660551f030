// Node tasks run under the permission model (the second belt, tested here without the sandbox):
// no child processes, no writes outside, no home folder.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeRequest, startHarness, type Harness } from '../../worker/harness.js';

describe('Supervisor permission model', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ slots: 1, sandbox: 'off' });
  });
  afterAll(async () => {
    await h.cleanup();
  });

  it.each([
    ['spawn', {}],
    ['read-home', {}],
  ])('denies %s as a permission failure', async (task, input) => {
    const outcome = await h.supervisor.run(nodeRequest(h, `perm-${task}`, task, input));
    expect(outcome).toMatchObject({ state: 'failed', reason: 'permission' });
    expect(outcome.state === 'failed' && outcome.error).toMatch(
      /permission denied \(ERR_ACCESS_DENIED\)/,
    );
  });

  it('allows writes in the workdir but denies them outside', async () => {
    const outside = path.join(h.root, 'outside.txt');
    const outcome = await h.supervisor.run(
      nodeRequest(h, 'perm-write', 'write-outside', { path: outside }),
    );
    expect(outcome).toMatchObject({ state: 'failed', reason: 'permission' });
    expect(outcome.state === 'failed' && outcome.error).toMatch(
      /ERR_ACCESS_DENIED.*FileSystemWrite/,
    );
    expect(existsSync(outside)).toBe(false);
  });

  it('reports its isolation as the permission model', () => {
    expect(h.supervisor.isolation).toBe('permission-model');
  });

  it('still runs ordinary tasks afterwards', async () => {
    const outcome = await h.supervisor.run(nodeRequest(h, 'perm-after', 'square', { x: 5 }));
    expect(outcome).toMatchObject({ state: 'succeeded', output: { y: 25 } });
  });
});
