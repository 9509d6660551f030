// Pending pairing requests are bounded per source address and in all, the oldest expiring; a
// request belongs to its key; joining never replaces a credential.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCoordinator,
  type RunningCoordinator,
} from '../../../../electron/grid/coordinator/coordinator.js';

const key = () =>
  generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();

describe('pairing bounds', () => {
  let dir: string;
  let coordinator: RunningCoordinator;
  const pending = () => coordinator.credentials.pairings().filter((p) => p.state === 'pending');
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'colony-pairing-'));
    coordinator = await startCoordinator({
      dataDir: dir,
      port: 0,
      logger: pino({ level: 'silent' }),
    });
  });
  afterAll(async () => {
    await coordinator.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps at most 4 pending per address, the oldest expiring; other addresses keep theirs', async () => {
    const c = coordinator.credentials;
    await c.requestPairing({ contributorId: 'real', name: 'real', publicKey: key() }, '10.0.0.1');
    for (let i = 0; i < 10; i++)
      await c.requestPairing({ contributorId: `f${i}`, name: 'f', publicKey: key() }, '10.0.0.66');
    expect(pending().map((p) => p.contributorId)).toEqual(['real', 'f6', 'f7', 'f8', 'f9']);
  });

  it('keeps at most 500 pending in all, the oldest expiring first', async () => {
    const c = coordinator.credentials;
    for (let i = 0; i < 520; i++)
      await c.requestPairing(
        { contributorId: `m${i}`, name: 'm', publicKey: key() },
        `10.1.${Math.floor(i / 200)}.${i % 200}`,
      );
    const ids = pending().map((p) => p.contributorId);
    expect(ids.length).toBe(500);
    expect(ids).toContain('m519');
    expect(ids).not.toContain('real');
  });

  it('a request is its key’s, and the join secret never replaces a credential', async () => {
    const c = coordinator.credentials;
    const k = key();
    const first = await c.requestPairing({ contributorId: 'own', name: 'o', publicKey: k }, 'a');
    await expect(
      c.requestPairing({ contributorId: 'own', name: 'o', publicKey: key() }, 'b'),
    ).rejects.toThrow(/from another key/);
    expect(
      (await c.requestPairing({ contributorId: 'own', name: 'o', publicKey: k }, 'a')).fingerprint,
    ).toBe(first.fingerprint);
    const credential = await c.join('joined', 'j');
    await expect(c.join('joined', 'again')).rejects.toThrow(/is taken/);
    await expect(c.join('own', 'x')).rejects.toThrow(/is taken/);
    await expect(
      c.requestPairing({ contributorId: 'joined', name: 'x', publicKey: key() }, 'c'),
    ).rejects.toThrow(/already holds a credential/);
    expect(c.authenticate(credential)).toBe('joined');
  });
});
