// A test contributor that speaks the real protocol over WSS with a real credential, frame by frame:
// honest when told to be, hostile when the test sends what it likes.
import WebSocket from 'ws';
import { PinnedAgent, pinnedFetch } from '../../../electron/grid/trust/pinned.js';
import type { Assignment, CoordinatorMessage } from '../../../shared/protocol.js';
import { sleep } from './scale.js';

export interface Target {
  url: string;
  fingerprint: string;
  joinSecret: string;
}

/** Trades the join secret for a credential, as `colony contributor --join` does. */
export async function joinAs(
  target: Target,
  contributorId: string,
): Promise<{ contributorId: string; credential: string }> {
  const res = await pinnedFetch(new PinnedAgent(target.fingerprint))(`${target.url}/api/v1/join`, {
    method: 'POST',
    headers: { authorization: `Bearer ${target.joinSecret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ contributorId, name: contributorId }),
  });
  if (res.status !== 200) throw new Error(`join: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { contributorId?: string; credential: string };
  return { contributorId: body.contributorId ?? contributorId, credential: body.credential };
}

export class ProtocolClient {
  readonly messages: CoordinatorMessage[] = [];
  closeCode: number | undefined;
  private constructor(
    readonly ws: WebSocket,
    readonly contributorId: string,
  ) {
    ws.on('message', (data: Buffer) => {
      const json = JSON.parse(data.toString('utf8')) as CoordinatorMessage | CoordinatorMessage[];
      this.messages.push(...(Array.isArray(json) ? json : [json]));
    });
    ws.on('close', (code) => (this.closeCode = code));
    ws.on('error', () => undefined);
  }

  /** Connects and says hello (slots 0: nothing is assigned until `ready`). */
  static async connect(
    target: Target,
    who: { contributorId: string; credential: string },
    opts: {
      heartbeatMs?: number;
      running?: { attemptId: string; jobId: string; idx: number }[];
    } = {},
  ): Promise<ProtocolClient> {
    const ws = new WebSocket(`${target.url.replace('https', 'wss')}/api/v1/connect`, {
      headers: { authorization: `Bearer ${who.credential}` },
      agent: new PinnedAgent(target.fingerprint),
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const client = new ProtocolClient(ws, who.contributorId);
    client.sendJson({
      type: 'hello',
      protocol: 1,
      contributorId: who.contributorId,
      name: who.contributorId,
      caps: {
        cores: 2,
        memoryMb: 1024,
        platform: 'linux',
        arch: 'x64',
        runtimes: ['node'],
        tags: [],
        slots: 2,
      },
      heartbeatMs: opts.heartbeatMs ?? 60_000,
      running: opts.running ?? [],
    });
    await client.waitFor((m) => m.type === 'welcome');
    return client;
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  sendJson(value: unknown): void {
    this.ws.send(JSON.stringify(value));
  }

  sendRaw(text: string | Buffer): void {
    this.ws.send(text);
  }

  /** The first message from `from` on that matches, waiting up to `timeoutMs`; undefined if none. */
  async waitFor(
    match: (m: CoordinatorMessage) => boolean,
    timeoutMs = 10_000,
    from = 0,
  ): Promise<CoordinatorMessage | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.slice(from).find(match);
      if (found || Date.now() > deadline || this.closeCode !== undefined) return found;
      await sleep(10);
    }
  }

  /** Asks for `slots` tasks and returns the assignments that come within `timeoutMs`. */
  async take(slots: number, timeoutMs = 5_000): Promise<Assignment[]> {
    const from = this.messages.length;
    this.sendJson({ type: 'ready', slots });
    const got: Assignment[] = [];
    const deadline = Date.now() + timeoutMs;
    while (got.length < slots && Date.now() < deadline && this.closeCode === undefined) {
      await sleep(20);
      got.length = 0;
      for (const m of this.messages.slice(from)) if (m.type === 'assign') got.push(...m.attempts);
    }
    return got;
  }

  result(attemptId: string, output: unknown): void {
    this.sendJson({ type: 'result', attemptId, state: 'succeeded', output, wallMs: 1, cpuMs: 1 });
  }

  /** Whether the coordinator acknowledged the result (accepted or not), within `timeoutMs`. */
  async ack(attemptId: string, timeoutMs = 3_000): Promise<boolean | undefined> {
    const m = await this.waitFor(
      (x) => x.type === 'result-ack' && x.attemptId === attemptId,
      timeoutMs,
    );
    return m?.type === 'result-ack' ? m.accepted : undefined;
  }

  heartbeat(): void {
    this.sendJson({ type: 'heartbeat', running: [] });
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise((r) => this.ws.once('close', r));
    this.ws.close();
    await Promise.race([closed, sleep(1000)]);
    this.ws.terminate();
  }
}
