// Drives the coordinator engine with a manual clock and fake peers (no sockets) over a real store.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { JobSpecInput } from '../../../../shared/job-file.js';
import { jobSpecSchema } from '../../../../shared/job-file.js';
import {
  PROTOCOL_VERSION,
  type Assignment,
  type Capabilities,
  type CoordinatorMessage,
} from '../../../../shared/protocol.js';
import { Engine } from '../../../../electron/grid/coordinator/engine/engine.js';
import { contactTick } from '../../../../electron/grid/coordinator/engine/contact.js';
import { Views } from '../../../../electron/grid/coordinator/api/views.js';
import type { Session } from '../../../../electron/grid/coordinator/engine/session.js';
import { DurableDb } from '../../../../electron/grid/store/durable-db.js';
import type { ApplyResult, Op } from '../../../../electron/grid/store/ops.js';
import { COORDINATOR_STORE } from '../../../../electron/grid/store/state-machine.js';

export const linux: Capabilities = {
  cores: 4,
  memoryMb: 8000,
  platform: 'linux',
  arch: 'x64',
  runtimes: ['node'],
  tags: [],
  slots: 2,
};

export class FakeContributor {
  readonly inbox: CoordinatorMessage[] = [];
  session!: Session;
  closed: number | undefined;
  constructor(readonly id: string) {}
  readonly peer = {
    send: (m: CoordinatorMessage) => void this.inbox.push(m),
    close: (code: number) => void (this.closed = code),
  };
  /** Assignments received so far, and forget them. */
  take(): Assignment[] {
    const out = this.inbox.flatMap((m) => (m.type === 'assign' ? m.attempts : []));
    this.inbox.splice(0, this.inbox.length, ...this.inbox.filter((m) => m.type !== 'assign'));
    return out;
  }
  of<T extends CoordinatorMessage['type']>(type: T): Extract<CoordinatorMessage, { type: T }>[] {
    return this.inbox.filter((m) => m.type === type) as never;
  }
}

export class EngineHarness {
  clock = 1_000_000;
  engine!: Engine;
  views!: Views;
  store!: DurableDb<Op, ApplyResult>;
  private constructor(readonly dir: string) {}

  static async create(): Promise<EngineHarness> {
    const h = new EngineHarness(await mkdtemp(join(tmpdir(), 'colony-engine-')));
    await h.open();
    return h;
  }

  async open(): Promise<void> {
    this.store = await DurableDb.open<Op, ApplyResult>({
      dir: this.dir,
      ...COORDINATOR_STORE,
    });
    this.engine = new Engine(this.store, {
      now: () => this.clock,
      logger: pino({ level: 'silent' }),
      blobPath: (sha) => join(this.dir, sha),
      coordinatorId: 'test-coordinator',
      reconnectGraceMs: 5_000,
    });
    this.views = new Views(this.engine);
  }

  async reopen(): Promise<void> {
    await this.store.close();
    await this.open();
  }

  connect(
    id: string,
    caps: Capabilities = linux,
    running: { attemptId: string; jobId: string; idx: number }[] = [],
  ): FakeContributor {
    const c = new FakeContributor(id);
    c.session = this.engine.hello(c.peer, {
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      contributorId: id,
      name: id,
      caps,
      heartbeatMs: 1000,
      running,
    });
    return c;
  }

  ready(c: FakeContributor, slots: number): Assignment[] {
    this.engine.message(c.session, { type: 'ready', slots });
    return c.take();
  }

  async succeed(
    c: FakeContributor,
    a: Assignment,
    output: unknown = { ok: a.idx },
    wallMs = 100,
  ): Promise<void> {
    this.engine.message(c.session, {
      type: 'result',
      attemptId: a.attemptId,
      state: 'succeeded',
      output: output as never,
      wallMs,
      cpuMs: wallMs,
    });
    await this.settle();
  }

  /** Let result commits become durable and their acks go out. */
  async settle(): Promise<void> {
    await new Promise((r) => setTimeout(r, 20));
  }

  tick(advanceMs: number): void {
    this.clock += advanceMs;
    contactTick(this.engine);
  }

  async submit(spec: Partial<JobSpecInput> = {}, count = 10): Promise<string> {
    const parsed = jobSpecSchema.parse({
      name: 'j',
      runtime: 'node',
      module: { name: 'm.mjs', sha256: 'a'.repeat(64), size: 1 },
      tasks: { sweep: { x: { range: [0, count] } } },
      ...spec,
    });
    const taskCount = parsed.tasks.sweep ? count : (parsed.tasks.inputs?.length ?? 0);
    return this.engine.submit(parsed, taskCount);
  }

  async close(): Promise<void> {
    await this.store.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}
