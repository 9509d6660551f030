// Contributor credentials: issued for a join secret or an approved pairing, checked on every
// connection, revocable at once. Only hashes are stored; the credential is shown once.
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { ColonyError } from '../../../../shared/errors.js';
import { CLOSE } from '../../../../shared/protocol.js';
import type { Engine } from '../engine/engine.js';

/** A claim must be signed within this window, so a recorded one cannot be replayed later. */
const CLAIM_WINDOW_MS = 5 * 60_000;
/** Unapproved machines cannot fill the store: past this many pending requests the oldest expires. */
const MAX_PENDING = 500;
/** Pending requests one source address may hold; a newer one pushes its oldest out. */
const MAX_PENDING_PER_ADDRESS = 4;

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
    for (const { hash: h, contributorId } of engine.read.activeCredentials())
      this.byHash.set(h, contributorId);
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

  /**
   * A holder of the (fleet-wide) join secret trades it for a credential of its own, under a NEW
   * contributor id: an id that already holds a credential or a pairing request belongs to someone
   * else, and the join secret can neither replace that credential nor take over its tasks.
   */
  async join(contributorId: string, name: string): Promise<string> {
    const state = this.state(contributorId);
    if (state === 'revoked')
      throw new ColonyError(
        'FORBIDDEN',
        `contributor ${contributorId} was revoked; join with a fresh data directory or pair again`,
      );
    if (state === 'active' || this.pairing(contributorId))
      throw new ColonyError(
        'CONFLICT',
        `contributor id ${contributorId} is taken: joining only creates new contributors (start this machine with a fresh data directory to join under a new id)`,
      );
    return this.issue(contributorId, name, 'join');
  }

  /** Source address of each pending request filed since start (not kept across restarts). */
  private readonly pendingFrom = new Map<string, string>();

  private async expire(contributorId: string, why: string): Promise<void> {
    const { durable } = this.engine.commit({
      t: 'pairing.expire',
      contributorId,
      at: this.engine.now(),
    });
    this.pendingFrom.delete(contributorId);
    await durable;
    this.engine.log.warn({ contributorId, why }, 'pending pairing request expired');
    this.engine.events.emit('contributor', contributorId);
  }

  async requestPairing(
    r: {
      contributorId: string;
      name: string;
      user?: string;
      publicKey: string;
    },
    /** The requester's source address, for the per-address bound. */
    address = '',
  ): Promise<PairingRequest> {
    let fingerprint: string;
    try {
      fingerprint = keyFingerprint(r.publicKey);
    } catch {
      throw new ColonyError('BAD_INPUT', 'publicKey: not a PEM public key', {
        issues: [{ field: 'publicKey', message: 'not a PEM public key' }],
      });
    }
    // The request is the key's: the same key asking again gets its request back; another key
    // cannot re-file it (the admin would approve the wrong machine), nor pair an id in use.
    const existing = this.pairing(r.contributorId);
    if (existing && existing.fingerprint !== fingerprint)
      throw new ColonyError(
        'CONFLICT',
        `contributor id ${r.contributorId} already has a pairing request from another key`,
      );
    if (existing?.state === 'approved' || existing?.state === 'pending') return existing;
    if (!existing && this.state(r.contributorId) !== undefined)
      throw new ColonyError(
        'CONFLICT',
        `contributor id ${r.contributorId} already holds a credential: pair under a new id`,
      );
    // Bounded per source address, the oldest expiring: a flood from one machine pushes out only
    // its own requests, never a real machine's; over the global bound the oldest goes.
    const pending = this.pairings().filter((p) => p.state === 'pending');
    const mine = pending.filter((p) => this.pendingFrom.get(p.contributorId) === address);
    for (const old of mine.slice(0, Math.max(0, mine.length - MAX_PENDING_PER_ADDRESS + 1)))
      await this.expire(old.contributorId, `more than ${MAX_PENDING_PER_ADDRESS} from ${address}`);
    const left = pending.filter((p) => !mine.includes(p));
    const over = left.length + Math.min(mine.length, MAX_PENDING_PER_ADDRESS - 1) + 1 - MAX_PENDING;
    for (const old of left.slice(0, Math.max(0, over)))
      await this.expire(old.contributorId, `more than ${MAX_PENDING} pending`);
    const { durable } = this.engine.commit({
      t: 'pairing.request',
      ...r,
      fingerprint,
      at: this.engine.now(),
    });
    this.pendingFrom.set(r.contributorId, address);
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
    this.pendingFrom.delete(contributorId);
    await durable;
    this.engine.log.info({ contributorId, decision }, 'pairing decided');
    this.engine.events.emit('contributor', contributorId);
  }

  /** An approved contributor proves it holds the key it paired with and gets its credential. */
  async claim(contributorId: string, timestamp: number, signature: string): Promise<string> {
    const row = this.engine.read.pairingKey(contributorId);
    const fresh = Math.abs(this.engine.now() - timestamp) < CLAIM_WINDOW_MS;
    const valid =
      row !== undefined &&
      fresh &&
      verify(
        null,
        Buffer.from(claimMessage(contributorId, timestamp)),
        row.publicKey,
        Buffer.from(signature, 'base64'),
      );
    if (!valid) throw new ColonyError('UNAUTHORIZED', 'pairing claim not signed by the paired key');
    if (row.state === 'pending')
      throw new ColonyError('CONFLICT', 'pairing request not approved yet');
    if (row.state !== 'approved') throw new ColonyError('FORBIDDEN', 'pairing request was denied');
    return this.issue(contributorId, row.name, 'pairing');
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
    return this.engine.read.credentialState(contributorId);
  }

  pairing(contributorId: string): PairingRequest | undefined {
    return this.pairings(contributorId)[0];
  }

  pairings(contributorId?: string): PairingRequest[] {
    return this.engine.read.pairings(contributorId);
  }
}
