// Contributor credentials: issued for a join secret or an approved pairing, checked on every
// connection, revocable at once. Only hashes are stored; the credential is shown once.
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { ColonyError } from '../../../shared/errors.js';
import { CLOSE } from '../../../shared/protocol.js';
import type { Engine } from './engine.js';

/** A claim must be signed within this window, so a recorded one cannot be replayed later. */
const CLAIM_WINDOW_MS = 5 * 60_000;
/** Unapproved machines cannot fill the store: pending requests beyond this are refused. */
const MAX_PENDING = 500;

export interface PairingRequest {
  contributorId: string;
  name: string;
  user: string | null;
  fingerprint: string;
  state: 'pending' | 'approved' | 'denied';
  createdAt: number;
}

const hash = (token: string) => createHash('sha256').update(token).digest('hex');

export function keyFingerprint(publicKeyPem: string): string {
  const der = createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex');
}

/** What a contributor signs to claim its credential once approved. */
export function claimMessage(contributorId: string, timestamp: number): string {
  return `colony-claim:${contributorId}:${timestamp}`;
}

export class Credentials {
  private readonly byHash = new Map<string, string>();

  constructor(private readonly engine: Engine) {
    const rows = engine.store.db.exec(
      "SELECT hash, contributor_id FROM credentials WHERE state = 'active'",
    )[0];
    for (const [h, id] of rows?.values ?? []) this.byHash.set(h as string, id as string);
  }

  /** The contributor a credential belongs to, or undefined. Hash lookup: no timing on the secret. */
  authenticate(token: string | undefined): string | undefined {
    return token === undefined ? undefined : this.byHash.get(hash(token));
  }

  private async issue(
    contributorId: string,
    name: string,
    via: 'join' | 'pairing',
  ): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    const h = hash(token);
    const { durable } = this.engine.commit({
      t: 'credential.issue',
      contributorId,
      hash: h,
      via,
      name,
      at: this.engine.now(),
    });
    for (const [old, id] of this.byHash) if (id === contributorId) this.byHash.delete(old);
    this.byHash.set(h, contributorId);
    await durable;
    this.engine.log.info({ contributorId, via }, 'credential issued');
    return token;
  }

  /** A holder of the join secret trades it for a credential of its own. */
  async join(contributorId: string, name: string): Promise<string> {
    if (this.state(contributorId) === 'revoked')
      throw new ColonyError(
        'FORBIDDEN',
        `contributor ${contributorId} was revoked; rotate the join secret or pair again`,
      );
    return this.issue(contributorId, name, 'join');
  }

  async requestPairing(r: {
    contributorId: string;
    name: string;
    user?: string;
    publicKey: string;
  }): Promise<PairingRequest> {
    let fingerprint: string;
    try {
      fingerprint = keyFingerprint(r.publicKey);
    } catch {
      throw new ColonyError('BAD_INPUT', 'publicKey: not a PEM public key', {
        issues: [{ field: 'publicKey', message: 'not a PEM public key' }],
      });
    }
    const existing = this.pairing(r.contributorId);
    if (existing?.state === 'approved') return existing;
    if (this.pairings().filter((p) => p.state === 'pending').length >= MAX_PENDING)
      throw new ColonyError('CONFLICT', 'too many pending pairing requests');
    const { durable } = this.engine.commit({
      t: 'pairing.request',
      ...r,
      fingerprint,
      at: this.engine.now(),
    });
    await durable;
    this.engine.events.emit('contributor', r.contributorId);
    return this.pairing(r.contributorId) as PairingRequest;
  }

  async decide(contributorId: string, decision: 'approved' | 'denied'): Promise<void> {
    if (this.pairing(contributorId)?.state !== 'pending')
      throw new ColonyError('NOT_FOUND', `no pending pairing request from ${contributorId}`);
    const { durable } = this.engine.commit({
      t: 'pairing.decide',
      contributorId,
      decision,
      at: this.engine.now(),
    });
    await durable;
    this.engine.log.info({ contributorId, decision }, 'pairing decided');
    this.engine.events.emit('contributor', contributorId);
  }

  /** An approved contributor proves it holds the key it paired with and gets its credential. */
  async claim(contributorId: string, timestamp: number, signature: string): Promise<string> {
    const row = this.engine.store.db.exec(
      'SELECT public_key, state, name FROM pairings WHERE contributor_id = ?',
      [contributorId],
    )[0]?.values[0];
    const fresh = Math.abs(this.engine.now() - timestamp) < CLAIM_WINDOW_MS;
    const valid =
      row !== undefined &&
      fresh &&
      verify(
        null,
        Buffer.from(claimMessage(contributorId, timestamp)),
        row[0] as string,
        Buffer.from(signature, 'base64'),
      );
    if (!valid) throw new ColonyError('UNAUTHORIZED', 'pairing claim not signed by the paired key');
    if (row[1] === 'pending') throw new ColonyError('CONFLICT', 'pairing request not approved yet');
    if (row[1] !== 'approved') throw new ColonyError('FORBIDDEN', 'pairing request was denied');
    return this.issue(contributorId, row[2] as string, 'pairing');
  }

  /** Revoke: the credential stops working now and the contributor is disconnected. */
  async revoke(contributorId: string): Promise<void> {
    if (this.state(contributorId) === undefined && !this.pairing(contributorId))
      throw new ColonyError('NOT_FOUND', `no contributor ${contributorId}`);
    const { durable } = this.engine.commit({
      t: 'credential.revoke',
      contributorId,
      at: this.engine.now(),
    });
    for (const [h, id] of this.byHash) if (id === contributorId) this.byHash.delete(h);
    this.engine.dropContributor(contributorId, CLOSE.revoked, 'credential revoked');
    await durable;
    this.engine.log.warn({ contributorId }, 'contributor revoked');
  }

  state(contributorId: string): 'active' | 'revoked' | undefined {
    const r = this.engine.store.db.exec('SELECT state FROM credentials WHERE contributor_id = ?', [
      contributorId,
    ])[0];
    return r?.values[0]?.[0] as 'active' | 'revoked' | undefined;
  }

  pairing(contributorId: string): PairingRequest | undefined {
    return this.pairings(contributorId)[0];
  }

  pairings(contributorId?: string): PairingRequest[] {
    const sql = `SELECT contributor_id, name, user, fingerprint, state, created_at FROM pairings ${contributorId ? 'WHERE contributor_id = ?' : ''} ORDER BY created_at`;
    const rows =
      this.engine.store.db.exec(sql, contributorId ? [contributorId] : [])[0]?.values ?? [];
    return rows.map((r) => ({
      contributorId: r[0] as string,
      name: r[1] as string,
      user: (r[2] as string | null) ?? null,
      fingerprint: r[3] as string,
      state: r[4] as PairingRequest['state'],
      createdAt: r[5] as number,
    }));
  }
}
