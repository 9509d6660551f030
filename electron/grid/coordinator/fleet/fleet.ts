// The admin's side of the fleet (docs/fleet-rollout.md): machines' groups, fleet policies per group
// or machine with locked fields, remote pause / drain; kept in the store, pushed to contributors.
import { ColonyError } from '../../../../shared/errors.js';
import {
  checkFleetPolicy,
  combineFleetPolicies,
  FleetPolicyError,
  type FleetControl,
  type FleetControlState,
  type FleetPolicy,
} from '../../../../shared/fleet-policy.js';
import type { Capabilities } from '../../../../shared/protocol.js';
import type { Engine } from '../engine/engine.js';
import type { Session } from '../engine/session.js';

/** A group or one machine. */
export type FleetTarget = { group: string } | { machine: string };

/** What the console shows of a machine's fleet state beside online/offline. */
export type FleetState = 'paused' | 'draining' | 'drained' | null;

const machineScope = (id: string) => `machine:${id}`;
/** Of a machine's own control and its groups', the strictest holds. */
const CONTROL_RANK: Record<FleetControl, number> = { none: 0, draining: 1, paused: 2 };
const groupScope = (g: string) => `group:${g}`;

export class Fleet {
  /** Groups the admin set, per machine (they replace the machine's tags as its groups). */
  private readonly adminGroups = new Map<string, string[]>();
  private readonly policies = new Map<string, FleetPolicy>();
  private readonly controls = new Map<string, FleetControlState>();
  /** Each machine's combined policy, asked on every dispatch: dropped at every change. */
  private readonly combined = new Map<string, FleetPolicy | null>();

  constructor(private readonly engine: Engine) {
    for (const { contributorId, groups } of engine.read.contributorGroups())
      this.adminGroups.set(contributorId, JSON.parse(groups) as string[]);
    for (const { scope, policy } of engine.read.fleetPolicies())
      this.policies.set(scope, JSON.parse(policy) as FleetPolicy);
    for (const { scope, state, by, reason, at } of engine.read.fleetControls())
      this.controls.set(scope, {
        state: state as FleetControl,
        ...(by !== null ? { by } : {}),
        ...(reason !== null ? { reason } : {}),
        at,
      });
  }

  // ---- reading --------------------------------------------------------------------------------

  /** Every machine the coordinator knows (seen, or holding a credential). */
  private machines(): Map<string, Capabilities | null> {
    const out = new Map<string, Capabilities | null>();
    for (const { id, caps } of this.engine.read.contributors())
      out.set(id, JSON.parse(caps) as Capabilities | null);
    for (const s of this.engine.sessionList()) out.set(s.id, s.caps);
    return out;
  }

  known(id: string): boolean {
    return this.engine.session(id) !== undefined || this.engine.read.contributor(id) !== undefined;
  }

  /** The machine's tags (from its hello or colony-config.json). */
  tagsOf(id: string, caps?: Capabilities | null): string[] {
    const c = caps ?? this.engine.session(id)?.caps;
    if (c !== undefined) return c?.tags ?? [];
    const r = this.engine.read.contributor(id);
    return r ? ((JSON.parse(r.caps) as Capabilities | null)?.tags ?? []) : [];
  }

  /** The admin's groups for it when set, its tags otherwise. */
  groupsOf(id: string, caps?: Capabilities | null): string[] {
    return this.adminGroups.get(id) ?? this.tagsOf(id, caps);
  }

  /** Whether the groups come from the admin (true) or from the machine's own tags. */
  groupsSetByAdmin(id: string): boolean {
    return this.adminGroups.has(id);
  }

  /** Every group with its machines. */
  groups(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [id, caps] of this.machines())
      for (const g of this.groupsOf(id, caps)) out.set(g, [...(out.get(g) ?? []), id]);
    return out;
  }

  members(group: string): string[] {
    return this.groups().get(group) ?? [];
  }

  /** The policies that apply to a machine (its groups' by name, then its own), laid together. */
  policyOf(id: string): FleetPolicy | null {
    if (this.policies.size === 0) return null;
    const cached = this.combined.get(id);
    if (cached !== undefined) return cached;
    const parts: { source: string; policy: FleetPolicy }[] = [];
    for (const g of [...this.groupsOf(id)].sort()) {
      const p = this.policies.get(groupScope(g));
      if (p) parts.push({ source: groupScope(g), policy: p });
    }
    const own = this.policies.get(machineScope(id));
    if (own) parts.push({ source: machineScope(id), policy: own });
    const policy = combineFleetPolicies(parts);
    this.combined.set(id, policy);
    return policy;
  }

  /** The policy set on exactly this group or machine. */
  policyAt(target: FleetTarget): FleetPolicy | null {
    return this.policies.get(scopeOf(target)) ?? null;
  }

  allPolicies(): { scope: string; policy: FleetPolicy }[] {
    return [...this.policies].map(([scope, policy]) => ({ scope, policy }));
  }

  /**
   * The pause or drain in force on a machine: its own, or one of its groups' (which holds for the
   * machines that join the group later too); a pause wins over a drain.
   */
  controlOf(id: string): FleetControlState {
    if (this.controls.size === 0) return { state: 'none' };
    let found = this.controls.get(machineScope(id));
    for (const g of this.groupsOf(id)) {
      const c = this.controls.get(groupScope(g));
      if (c && (!found || CONTROL_RANK[c.state] > CONTROL_RANK[found.state])) found = c;
    }
    return found ?? { state: 'none' };
  }

  /** paused / draining / drained (a draining machine with nothing left), or null. */
  stateOf(session: Session | undefined, id: string): FleetState {
    const c = this.controlOf(id).state;
    if (c === 'paused') return 'paused';
    if (c === 'draining') return (session?.attempts.size ?? 0) > 0 ? 'draining' : 'drained';
    return null;
  }

  /** The dispatcher's question: may this machine get another attempt now? */
  mayAssign(session: Session): boolean {
    if (this.policies.size === 0 && this.controls.size === 0) return true;
    if (this.controlOf(session.id).state !== 'none') return false;
    const p = this.policyOf(session.id);
    if (p?.locked.includes('maxWorkers')) {
      const max = p.settings.maxWorkers;
      if (typeof max === 'number' && session.attempts.size >= max) return false;
    }
    return true;
  }

  // ---- changing -------------------------------------------------------------------------------

  private requireMachines(ids: readonly string[]): void {
    if (ids.length === 0) throw new ColonyError('BAD_INPUT', 'name at least one contributor');
    const unknown = ids.filter((id) => !this.known(id));
    if (unknown.length > 0)
      throw new ColonyError('NOT_FOUND', `no contributor ${unknown.join(', ')}`);
  }

  private requireGroup(group: string): string[] {
    const members = this.members(group);
    if (members.length === 0)
      throw new ColonyError(
        'NOT_FOUND',
        `no contributor is in group ${group} (groups: ${[...this.groups().keys()].sort().join(', ') || 'none'})`,
      );
    return members;
  }

  /** The machines a target names, checked: an unknown machine or empty group is an error. */
  resolve(target: FleetTarget): string[] {
    if ('group' in target) return this.requireGroup(target.group);
    this.requireMachines([target.machine]);
    return [target.machine];
  }

  /** Sets (null: clears, back to their tags) the groups of machines; all known, or nothing changes. */
  async setGroups(ids: readonly string[], groups: string[] | null, by: string): Promise<void> {
    this.requireMachines(ids);
    const at = this.engine.now();
    let durable: Promise<void> = Promise.resolve();
    for (const id of ids) {
      ({ durable } = this.engine.commit({
        t: 'fleet.groups',
        contributorId: id,
        groups,
        by,
        at,
      }));
      if (groups === null) this.adminGroups.delete(id);
      else this.adminGroups.set(id, groups);
    }
    this.combined.clear();
    await durable;
    this.pushAll();
  }

  async setPolicy(
    target: FleetTarget,
    settings: unknown,
    lock: readonly string[],
    by: string,
    reason?: string,
  ): Promise<FleetPolicy> {
    this.resolve(target);
    let checked;
    try {
      checked = checkFleetPolicy(settings, lock);
    } catch (err) {
      if (err instanceof FleetPolicyError)
        throw new ColonyError('BAD_INPUT', `fleet policy: ${err.message}`);
      throw err;
    }
    const policy: FleetPolicy = {
      settings: checked.settings,
      locked: checked.locked,
      by,
      ...(reason ? { reason } : {}),
      at: this.engine.now(),
    };
    const scope = scopeOf(target);
    const { durable } = this.engine.commit({ t: 'fleet.policy', scope, policy, at: policy.at! });
    this.policies.set(scope, policy);
    this.combined.clear();
    await durable;
    this.pushAll();
    return policy;
  }

  async clearPolicy(target: FleetTarget): Promise<void> {
    const scope = scopeOf(target);
    if (!this.policies.has(scope))
      throw new ColonyError('NOT_FOUND', `no fleet policy is set on ${scope.replace(':', ' ')}`);
    const { durable } = this.engine.commit({
      t: 'fleet.policy',
      scope,
      policy: null,
      at: this.engine.now(),
    });
    this.policies.delete(scope);
    this.combined.clear();
    await durable;
    this.pushAll();
  }

  /**
   * Pause, drain or resume (`none`) machines or groups. A group's pause or drain is kept on the
   * group, so a machine that joins it later is paused or drained too; resuming a group also
   * resumes its members paused one by one. Returns the machines affected now.
   */
  async control(
    targets: readonly FleetTarget[],
    state: FleetControl,
    by: string,
    reason?: string,
  ): Promise<string[]> {
    // Every target is resolved (and so checked) before anything is written.
    const ids = new Set<string>();
    const scopes = new Set<string>();
    for (const t of targets) {
      const members = this.resolve(t);
      for (const id of members) ids.add(id);
      if ('machine' in t) scopes.add(machineScope(t.machine));
      else {
        scopes.add(groupScope(t.group));
        if (state === 'none') for (const id of members) scopes.add(machineScope(id));
      }
    }
    const at = this.engine.now();
    let durable: Promise<void> = Promise.resolve();
    for (const scope of scopes) {
      ({ durable } = this.engine.commit({
        t: 'fleet.control',
        scope,
        state,
        by,
        ...(reason ? { reason } : {}),
        at,
      }));
      if (state === 'none') this.controls.delete(scope);
      else this.controls.set(scope, { state, by, ...(reason ? { reason } : {}), at });
    }
    await durable;
    for (const id of ids) this.push(id);
    this.engine.dispatch();
    return [...ids];
  }

  // ---- telling contributors -------------------------------------------------------------------

  /** Sends a machine its groups, fleet policy and control (after its welcome, and at each change). */
  push(id: string): void {
    // Its tags may have changed with its hello.
    this.combined.delete(id);
    const s = this.engine.session(id);
    if (!s?.peer) return;
    s.send({
      type: 'fleet',
      groups: this.groupsOf(id),
      policy: this.policyOf(id),
      control: this.controlOf(id),
    });
    this.engine.events.emit('contributor', id);
  }

  pushAll(): void {
    for (const id of this.engine.sessionList().map((s) => s.id)) this.push(id);
    this.engine.dispatch();
  }
}

function scopeOf(target: FleetTarget): string {
  return 'group' in target ? groupScope(target.group) : machineScope(target.machine);
}
