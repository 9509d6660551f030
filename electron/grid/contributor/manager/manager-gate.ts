// Prefetch (a work buffer of one): while tasks are short, the manager holds one attempt more than
// it has worker slots, with its blobs already staged, and starts it the moment a slot frees — the
// round trip to the coordinator is then hidden behind the running task. Long tasks are never
// hoarded: the buffer opens only while the recent attempts' wall time is under a threshold.

/** Decides whether to buffer: an exponentially weighted mean of recent attempts' wall time. */
export class PrefetchPolicy {
  private meanMs: number | undefined;

  /** @param belowMs buffer one attempt while the mean wall time is under this; 0 never buffers. */
  constructor(private readonly belowMs: number) {}

  /** Attempts to hold beyond the worker slots now: 0 or 1. */
  get depth(): number {
    return this.meanMs !== undefined && this.meanMs < this.belowMs ? 1 : 0;
  }

  /** An attempt ended after `wallMs` on a worker. */
  observe(wallMs: number): void {
    if (!Number.isFinite(wallMs) || wallMs < 0) return;
    this.meanMs = this.meanMs === undefined ? wallMs : 0.8 * this.meanMs + 0.2 * wallMs;
  }
}

/**
 * Staged attempts wait here, in arrival order, for a free worker slot. A granted attempt must call
 * `done()` once it has taken the slot (or given up), so a slot is never granted twice.
 */
export class SlotGate {
  private readonly queue: { id: string; grant: (ok: boolean) => void }[] = [];
  private granted = 0;

  constructor(
    /** Free worker slots right now. */
    private readonly free: () => number,
    /** True while nothing may start (owner policy pause). */
    private readonly closed: () => boolean,
  ) {}

  /** Resolves true when the attempt may take a slot now, false when it was withdrawn first. */
  wait(id: string): Promise<boolean> {
    return new Promise((grant) => {
      this.queue.push({ id, grant });
      this.admit();
    });
  }

  /** The attempt stops waiting (cancelled, vacated): its wait resolves false. */
  withdraw(id: string): void {
    const i = this.queue.findIndex((w) => w.id === id);
    if (i >= 0) this.queue.splice(i, 1)[0]!.grant(false);
  }

  /** A granted attempt took its slot (or will not): the next may be admitted. */
  done(): void {
    this.granted = Math.max(0, this.granted - 1);
    this.admit();
  }

  /** Grants waiting attempts as many slots as are free; call whenever a slot may have freed. */
  admit(): void {
    if (this.closed()) return;
    let n = this.free() - this.granted;
    while (n-- > 0 && this.queue.length > 0) {
      this.granted++;
      this.queue.shift()!.grant(true);
    }
  }

  /** Attempts staged and waiting, oldest first. */
  get waiting(): string[] {
    return this.queue.map((w) => w.id);
  }
}
