// The supervisor's slots: one long-lived worker process each, restarted (with back-off) when it dies.
import type { Logger } from 'pino';
import { ExecError } from '../worker/errors.js';
import type { Attempt } from './supervisor-attempt.js';
import { WorkerProcess, type WorkerSpawnOptions } from './process-worker.js';

export interface Slot {
  id: number;
  worker?: WorkerProcess | undefined;
  attempt?: Attempt | undefined;
  /** Shrunk away while busy: removed when its attempt ends. */
  retiring: boolean;
  /** Consecutive workers that died before saying ready: backs off restarts of a broken set-up. */
  startFailures: number;
  restartTimer?: NodeJS.Timeout | undefined;
}

export interface SlotPoolEvents {
  onStart(slot: number, pid: number): void;
  onExit(slot: number, pid: number, code: number | null, signal: NodeJS.Signals | null): void;
}

const WORKER_START_TRIES = 3;

export class SlotPool {
  readonly slots: Slot[] = [];
  private nextId = 1;
  private stopped = false;

  constructor(
    private readonly spawnOptions: () => WorkerSpawnOptions,
    private readonly events: SlotPoolEvents,
    private readonly logger?: Logger,
  ) {}

  active(): Slot[] {
    return this.slots.filter((s) => !s.retiring);
  }

  free(): Slot | undefined {
    return this.slots.find((s) => !s.retiring && !s.attempt);
  }

  pids(): number[] {
    return this.slots.flatMap((s) => (s.worker?.alive ? [s.worker.pid] : []));
  }

  /** Grows at once; shrinking removes idle slots now and marks busy ones to go when released. */
  resize(n: number): void {
    for (const slot of this.slots)
      if (slot.retiring && this.active().length < n) slot.retiring = false;
    while (this.active().length < n) this.add();
    const candidates = this.active().reverse();
    candidates.sort((a, b) => Number(Boolean(a.attempt)) - Number(Boolean(b.attempt)));
    for (const slot of candidates.slice(0, Math.max(0, candidates.length - n))) {
      if (slot.attempt) slot.retiring = true;
      else this.remove(slot);
    }
  }

  add(): Slot {
    const slot: Slot = { id: this.nextId++, retiring: false, startFailures: 0 };
    this.slots.push(slot);
    this.spawn(slot);
    return slot;
  }

  remove(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    clearTimeout(slot.restartTimer);
    slot.worker?.kill();
  }

  /** After an attempt: drop a retiring slot, or replace a worker the attempt killed or lost. */
  release(slot: Slot): void {
    if (slot.retiring || this.stopped) this.remove(slot);
    else if (!slot.worker?.alive) this.scheduleRestart(slot);
  }

  /** Kills every worker and waits for their exits. */
  async stop(): Promise<void> {
    this.stopped = true;
    const workers = this.slots.flatMap((s) => (s.worker ? [s.worker] : []));
    for (const slot of [...this.slots]) this.remove(slot);
    await Promise.all(workers.map((w) => w.exited));
  }

  /** The slot's worker once ready, starting one if needed; throws after a few failed starts. */
  async readyWorker(slot: Slot): Promise<WorkerProcess> {
    let lastError: unknown;
    for (let i = 0; i < WORKER_START_TRIES; i++) {
      if (!slot.worker) {
        clearTimeout(slot.restartTimer);
        slot.restartTimer = undefined;
        this.spawn(slot);
      }
      const worker = slot.worker;
      if (!worker) break;
      try {
        await worker.ready;
        if (worker.alive) return worker;
      } catch (err) {
        lastError = err;
      }
      if (slot.worker === worker) slot.worker = undefined;
    }
    throw lastError instanceof Error
      ? lastError
      : new ExecError('WORKER_START_FAILED', 'worker could not be started');
  }

  private spawn(slot: Slot): void {
    if (this.stopped) return;
    const worker = new WorkerProcess(this.spawnOptions());
    slot.worker = worker;
    this.events.onStart(slot.id, worker.pid);
    worker.ready.then(
      () => (slot.startFailures = 0),
      (err: unknown) => {
        slot.startFailures++;
        this.logger?.warn({ err, slot: slot.id }, 'worker failed to start');
      },
    );
    void worker.exited.then(({ code, signal }) => {
      this.events.onExit(slot.id, worker.pid, code, signal);
      if (slot.worker !== worker) return;
      slot.worker = undefined;
      // A busy slot's worker is replaced when its attempt is released, not under its feet.
      if (!slot.attempt) this.scheduleRestart(slot);
    });
  }

  private scheduleRestart(slot: Slot): void {
    if (this.stopped || !this.slots.includes(slot) || slot.worker || slot.restartTimer) return;
    const delay =
      slot.startFailures === 0 ? 0 : Math.min(10_000, 250 * 2 ** (slot.startFailures - 1));
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (!this.stopped && this.slots.includes(slot) && !slot.worker) this.spawn(slot);
    }, delay);
  }
}
