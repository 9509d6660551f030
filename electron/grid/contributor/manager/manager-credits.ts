// Slot accounting of the manager: how many slots the supervisor holds and how many of the free ones
// are already promised to the coordinator (additive `ready` credits), so no promise exceeds them.

export class SlotCredits {
  /** Slots the supervisor holds now. */
  capacity: number;
  /** Where capacity is heading: maxSlots after `scale`, initialSlots after idling. */
  target: number;
  /** Credits the coordinator holds on the current connection: each is one assignment it may send. */
  promised = 0;
  /** Attempts we may hold beyond capacity, staged and waiting for a slot (prefetch). */
  extra = 0;

  constructor(
    readonly initial: number,
    readonly max: number,
  ) {
    this.capacity = initial;
    this.target = initial;
  }

  /** Free places (slots and the prefetch buffer) not yet promised, given `active` attempts held. */
  unpromised(active: number): number {
    return Math.max(0, this.capacity + this.extra - active - this.promised);
  }

  /**
   * Promises every unpromised free slot, but no more than `cap` attempts held in all (a throttle);
   * returns how many to announce in `ready` (may be 0).
   */
  offer(active: number, cap = Infinity): number {
    const n = Math.min(this.unpromised(active), Math.max(0, cap - active - this.promised));
    this.promised += n;
    return n;
  }

  /**
   * An assignment arrived: uses a credit. Returns false when it would take more slots than the
   * supervisor holds (a coordinator that overspent its credit), and then it must be refused.
   */
  take(active: number): boolean {
    // A promise is honoured even if the prefetch buffer closed since: the attempt waits its turn.
    if (this.promised <= 0 && active >= this.capacity + this.extra) return false;
    this.promised = Math.max(0, this.promised - 1);
    return true;
  }

  /** A new connection starts with no credit at the coordinator. */
  resetPromises(): void {
    this.promised = 0;
  }

  /** `scale`: aim higher, up to max. Returns the new capacity (unchanged when already there). */
  grow(by: number): number {
    this.target = Math.min(this.max, Math.max(this.capacity, this.target) + Math.max(1, by));
    this.capacity = Math.max(this.capacity, this.target);
    return this.capacity;
  }

  /**
   * Idle: aim back at `initial`. Credits cannot be taken back under the additive protocol, so the
   * capacity only drops to what active attempts and outstanding promises still need; the rest of
   * the shrink happens in `settle` as those are used up.
   */
  shrink(active: number): number {
    this.target = this.initial;
    return this.settle(active);
  }

  /** Moves capacity towards target without breaking a promise. Returns the new capacity. */
  settle(active: number): number {
    if (this.capacity > this.target) {
      const needed = active + this.promised - this.extra;
      this.capacity = Math.min(this.capacity, Math.max(this.target, needed));
    }
    return this.capacity;
  }
}
