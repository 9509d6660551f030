// Puts the manager's slot accounting into effect: resizes the supervisor, offers free slots with
// `ready`, grows on `scale` and shrinks back after a quiet spell without breaking a promise.
import type { IsolationLevel } from '../../../../shared/protocol.js';
import type { Logger } from 'pino';
import type { ContributorMessage } from '../../../../shared/protocol.js';
import { SlotCredits } from './manager-credits.js';

export interface SlotLink {
  /** Welcomed and open: a `ready` sent now reaches the coordinator. */
  readonly ready: boolean;
  send(msg: ContributorMessage): boolean;
  /** Reconnect at once, so the coordinator drops this connection's credit. */
  recycle(reason: string): void;
}

export interface SlotHost {
  setSupervisorSlots(n: number): void;
  /** Attempts holding a slot: fetching blobs, running, or uploading outputs. */
  activeCount(): number;
  link(): SlotLink | undefined;
  changed(slots: { capacity: number; free: number }): void;
  /** The owner policy says no work now: offer nothing. */
  paused?(): boolean;
  /** Attempts worth holding now (a throttle); undefined: as many as there are slots. */
  holdLimit?(): number | undefined;
  /** How well tasks are isolated here, told with every offer. */
  isolation?(): IsolationLevel | undefined;
}

export class SlotManager {
  readonly credits: SlotCredits;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    initial: number,
    max: number,
    private readonly idleShrinkMs: number,
    private readonly host: SlotHost,
    private readonly log: Logger,
  ) {
    this.credits = new SlotCredits(initial, max);
  }

  get capacity(): number {
    return this.credits.capacity;
  }

  /** Announces every free slot not yet promised: the coordinator adds it to our credit. */
  offer(): void {
    if (!this.host.link()?.ready || this.host.paused?.()) return;
    const n = this.credits.offer(this.host.activeCount(), this.host.holdLimit?.() ?? Infinity);
    const isolation = this.host.isolation?.();
    const ready = { type: 'ready' as const, slots: n, ...(isolation ? { isolation } : {}) };
    if (n > 0 && !this.host.link()?.send(ready)) this.credits.promised -= n;
  }

  /** An assignment arrived; false when it does not fit and must be refused. */
  take(): boolean {
    const ok = this.credits.take(this.host.activeCount());
    if (ok) this.armIdleShrink();
    return ok;
  }

  /** A new connection (or none): the coordinator holds no credit for us any more. */
  connectionReset(): void {
    this.credits.resetPromises();
    this.settle();
  }

  scale(backlog: number, slotsOnOffer: number): void {
    const before = this.credits.capacity;
    const after = this.credits.grow(backlog - slotsOnOffer);
    if (after !== before) {
      this.host.setSupervisorSlots(after);
      this.log.info({ from: before, to: after, backlog }, 'scaled up');
      this.changed();
    }
    this.armIdleShrink();
    this.offer();
  }

  /** Applies a pending shrink as far as running attempts and promised credits allow. */
  settle(): void {
    const active = this.host.activeCount();
    const before = this.credits.capacity;
    const after = this.credits.settle(active);
    if (after !== before) {
      this.host.setSupervisorSlots(after);
      this.log.info({ from: before, to: after }, 'scaled down after idling');
      this.changed();
    }
    // `ready` credit cannot be withdrawn; with nothing running, a fresh connection (credit 0) is
    // the clean way to hand back the slots we no longer want to fill.
    const link = this.host.link();
    const blocked = after > this.credits.target && this.credits.promised > 0;
    if (blocked && active === 0 && link?.ready) {
      this.log.info(
        { slots: after, target: this.credits.target },
        'reconnecting to hand back credit',
      );
      link.recycle('shrinking slots');
    }
  }

  stop(): void {
    clearTimeout(this.idleTimer);
  }

  private armIdleShrink(): void {
    clearTimeout(this.idleTimer);
    const { target, capacity, initial } = this.credits;
    if (target <= initial && capacity <= initial) return;
    this.idleTimer = setTimeout(() => {
      this.credits.shrink(this.host.activeCount());
      this.settle();
    }, this.idleShrinkMs);
    this.idleTimer.unref();
  }

  private changed(): void {
    const free = Math.max(0, this.credits.capacity - this.host.activeCount());
    this.host.changed({ capacity: this.credits.capacity, free });
  }
}
