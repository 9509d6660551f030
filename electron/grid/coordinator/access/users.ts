// People with tokens of their own: add, remove, rotate; each request's token names its user and
// role. Only sha256 hashes are stored; a token is shown once, when it is made.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ColonyError } from '../../../../shared/errors.js';
import type { UserRole } from '../../store/ops.js';
import type { Engine } from '../engine/engine.js';

/** The bootstrap admin token's user: the coordinator's owner. Jobs from before users are theirs. */
export const OWNER_USER = 'owner';

export interface UserView {
  name: string;
  role: UserRole;
  weight: number;
  /** The most of the grid's slots their attempts may hold (0-1]; null: no cap. */
  maxShare: number | null;
  /** Past slot-time (ms) fair share weighs, decayed by the half-life to now. */
  usageMs: number;
  createdAt: number;
  tokenAt: number;
}

type Known = { role: UserRole; hash: Buffer; weight: number; maxShare: number | null };

const hashOf = (token: string) => createHash('sha256').update(token).digest();

export class Users {
  /** name → role and token hash; rebuilt from the store at start, kept in step with each op. */
  private readonly byName = new Map<string, Known>();

  constructor(private readonly engine: Engine) {
    for (const { name, role, hash, weight, maxShare } of engine.read.users())
      this.byName.set(name, { role, hash: Buffer.from(hash, 'hex'), weight, maxShare });
  }

  /**
   * The user a token belongs to. Compares against every user's hash in constant time per hash
   * and without stopping at a hit, so the answer's timing says nothing about the token.
   */
  authenticate(token: string | undefined): { name: string; role: UserRole } | undefined {
    if (token === undefined) return undefined;
    const h = hashOf(token);
    let found: { name: string; role: UserRole } | undefined;
    for (const [name, u] of this.byName)
      if (timingSafeEqual(h, u.hash) && !found) found = { name, role: u.role };
    return found;
  }

  list(): UserView[] {
    return this.engine.read.users().map(({ name, role, weight, maxShare, createdAt, tokenAt }) => ({
      name,
      role,
      weight,
      maxShare,
      usageMs: Math.round(this.engine.usage(name)),
      createdAt,
      tokenAt,
    }));
  }

  get(name: string): UserView | undefined {
    return this.list().find((u) => u.name === name);
  }

  /** Fair-share weight of a user (1 unless set; the owner and unknown names count 1). */
  weight(name: string): number {
    return this.byName.get(name)?.weight ?? 1;
  }

  /** A user's cap on the grid's slots (0-1), undefined when none. */
  maxShare(name: string): number | undefined {
    return this.byName.get(name)?.maxShare ?? undefined;
  }

  async add(
    name: string,
    role: UserRole,
    weight = 1,
    maxShare?: number,
  ): Promise<{ user: UserView; token: string }> {
    if (name === OWNER_USER)
      throw new ColonyError(
        'CONFLICT',
        `"${OWNER_USER}" is the coordinator's own admin (the bootstrap token); choose another name`,
      );
    if (this.byName.has(name)) throw new ColonyError('CONFLICT', `user ${name} already exists`);
    const token = randomBytes(32).toString('base64url');
    const hash = hashOf(token);
    const { durable } = this.engine.commit({
      t: 'user.add',
      name,
      role,
      hash: hash.toString('hex'),
      weight,
      at: this.engine.now(),
      ...(maxShare !== undefined ? { maxShare } : {}),
    });
    this.byName.set(name, { role, hash, weight, maxShare: maxShare ?? null });
    await durable;
    this.engine.log.info({ user: name, role }, 'user added');
    return { user: this.get(name) as UserView, token };
  }

  async remove(name: string): Promise<void> {
    this.require(name);
    const { durable } = this.engine.commit({ t: 'user.remove', name });
    this.byName.delete(name);
    await durable;
    this.engine.log.warn({ user: name }, 'user removed');
  }

  /** A new token for `name`; the old one stops working at once. */
  async rotate(name: string): Promise<{ user: UserView; token: string }> {
    const u = this.require(name);
    const token = randomBytes(32).toString('base64url');
    const hash = hashOf(token);
    const { durable } = this.engine.commit({
      t: 'user.token',
      name,
      hash: hash.toString('hex'),
      at: this.engine.now(),
    });
    this.byName.set(name, { ...u, hash });
    await durable;
    this.engine.log.warn({ user: name }, 'user token rotated');
    return { user: this.get(name) as UserView, token };
  }

  async setWeight(name: string, weight: number): Promise<UserView> {
    const u = this.require(name);
    const { durable } = this.engine.commit({ t: 'user.weight', name, weight });
    u.weight = weight;
    await durable;
    this.engine.dispatch();
    return this.get(name) as UserView;
  }

  /** Cap `name`'s attempts at this share of the grid's slots (null: no cap); applies at once. */
  async setShare(name: string, maxShare: number | null): Promise<UserView> {
    const u = this.require(name);
    const { durable } = this.engine.commit({ t: 'user.share', name, maxShare });
    u.maxShare = maxShare;
    await durable;
    // A raised or removed cap frees slots for this user's waiting work.
    this.engine.dispatch();
    return this.get(name) as UserView;
  }

  private require(name: string): Known {
    if (name === OWNER_USER)
      throw new ColonyError(
        'CONFLICT',
        `"${OWNER_USER}" is the bootstrap admin token; rotate it with \`colony token --rotate admin\``,
      );
    const u = this.byName.get(name);
    if (!u) throw new ColonyError('NOT_FOUND', `no user ${name}`);
    return u;
  }
}
