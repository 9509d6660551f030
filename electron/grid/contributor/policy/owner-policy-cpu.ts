// CPU load of other processes with hysteresis: a moving average, separate busy/quiet thresholds and
// a minimum quiet dwell before computing again, so an oscillating load cannot make us flap.

export interface CpuGateSettings {
  busyAbovePercent: number;
  quietBelowPercent: number;
  smoothingSeconds: number;
  quietForSeconds: number;
}

export class CpuGate {
  /** Smoothed load of other processes, 0..1 (undefined before the first sample). */
  smoothed: number | undefined;
  busy = false;
  private lastAt: number | undefined;
  private quietSince: number | undefined;

  constructor(private readonly s: CpuGateSettings) {}

  /** Feeds one sample (0..1, other processes only) taken at `now`; returns whether the CPU is busy. */
  update(load: number, now: number): boolean {
    const x = Math.min(1, Math.max(0, Number.isFinite(load) ? load : 0));
    const tau = this.s.smoothingSeconds * 1000;
    if (this.smoothed === undefined || this.lastAt === undefined || tau === 0) this.smoothed = x;
    else {
      // Exponential moving average over irregular sampling intervals.
      const dt = Math.max(0, now - this.lastAt);
      const alpha = 1 - Math.exp(-dt / tau);
      this.smoothed += alpha * (x - this.smoothed);
    }
    this.lastAt = now;
    const pct = this.smoothed * 100;
    if (!this.busy) {
      if (pct > this.s.busyAbovePercent) {
        this.busy = true;
        this.quietSince = undefined;
      }
      return this.busy;
    }
    if (pct >= this.s.quietBelowPercent) {
      this.quietSince = undefined;
      return true;
    }
    this.quietSince ??= now;
    if (now - this.quietSince >= this.s.quietForSeconds * 1000) {
      this.busy = false;
      this.quietSince = undefined;
    }
    return this.busy;
  }

  /** When the quiet dwell would end if the load stays low (for "until" in the reason). */
  quietUntil(): number | undefined {
    return this.busy && this.quietSince !== undefined
      ? this.quietSince + this.s.quietForSeconds * 1000
      : undefined;
  }
}
