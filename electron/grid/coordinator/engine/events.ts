// Typed events of the coordinator, consumed by the SSE stream and the GUI.
import { EventEmitter } from 'node:events';

export interface CoordinatorEvents {
  job: [jobId: string];
  task: [jobId: string, idx: number, state: string, attemptId: string];
  contributor: [contributorId: string];
}

export class TypedEmitter<E extends { [K in keyof E]: unknown[] }> {
  private readonly emitter = new EventEmitter();
  constructor() {
    this.emitter.setMaxListeners(1000);
  }
  on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): () => void {
    this.emitter.on(event, listener as (...args: unknown[]) => void);
    return () => this.emitter.off(event, listener as (...args: unknown[]) => void);
  }
  emit<K extends keyof E & string>(event: K, ...args: E[K]): void {
    this.emitter.emit(event, ...args);
  }
}
