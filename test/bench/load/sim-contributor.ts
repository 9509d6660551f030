// A simulated contributor: speaks the real protocol (hello, ready, started, result, heartbeat)
// over the real WebSocket endpoint, with no worker behind it — the load generator's building block.
import { WebSocket } from 'ws';
import { PinnedAgent, pinnedFetch } from '../../../electron/grid/trust/pinned.js';
import type { CoordinatorMessage, Hello } from '../../../shared/protocol.js';
import { PROTOCOL_VERSION } from '../../../shared/protocol.js';

export interface SimOptions {
  url: string;
  /** The join secret: traded once for this contributor's own credential, as `colony contributor` does. */
  secret: string;
  /** The coordinator certificate's sha256 ('-' for plain http). */
  fingerprint: string;
  id: string;
  slots: number;
  heartbeatMs: number;
}

const agents = new Map<string, PinnedAgent>();
function pinned(fingerprint: string): PinnedAgent {
  let agent = agents.get(fingerprint);
  if (!agent) agents.set(fingerprint, (agent = new PinnedAgent(fingerprint)));
  return agent;
}

export class SimContributor {
  private ws: WebSocket | undefined;
  onMessage: (msg: CoordinatorMessage) => void = () => undefined;

  constructor(readonly o: SimOptions) {}

  /** Joins (POST /join with the join secret) for a credential of its own. */
  private async credential(): Promise<string> {
    if (!this.o.url.startsWith('https:')) return this.o.secret;
    const fetch = pinnedFetch(pinned(this.o.fingerprint));
    const res = await fetch(`${this.o.url}/api/v1/join`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.o.secret}` },
      body: JSON.stringify({ contributorId: this.o.id, name: this.o.id }),
    });
    const body = (await res.json()) as { credential?: string };
    if (!res.ok || !body.credential) throw new Error(`${this.o.id}: join refused (${res.status})`);
    return body.credential;
  }

  /** Joins, connects and says hello; resolves on welcome (bounded). */
  async connect(timeoutMs = 30_000): Promise<void> {
    const credential = await this.credential();
    const ws = new WebSocket(`${this.o.url.replace(/^http/, 'ws')}/api/v1/connect`, {
      headers: { authorization: `Bearer ${credential}` },
      perMessageDeflate: false,
      ...(this.o.url.startsWith('https:') ? { agent: pinned(this.o.fingerprint) } : {}),
    });
    this.ws = ws;
    return new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`${this.o.id}: no welcome`)), timeoutMs);
      ws.once('error', (err) => {
        clearTimeout(timer);
        rej(err);
      });
      ws.once('open', () => {
        const hello: Hello = {
          type: 'hello',
          protocol: PROTOCOL_VERSION,
          contributorId: this.o.id,
          name: this.o.id,
          caps: {
            cores: 2,
            memoryMb: 4096,
            platform: 'linux',
            arch: 'x64',
            runtimes: ['node'],
            tags: [],
            slots: this.o.slots,
          },
          heartbeatMs: this.o.heartbeatMs,
          running: [],
        };
        ws.send(JSON.stringify(hello));
      });
      ws.on('message', (data: Buffer) => {
        // A frame is one message or a batch (shared/protocol.ts).
        const frame = JSON.parse(data.toString('utf8')) as
          CoordinatorMessage | CoordinatorMessage[];
        for (const msg of Array.isArray(frame) ? frame : [frame]) {
          if (msg.type === 'welcome') {
            clearTimeout(timer);
            res();
            continue;
          }
          this.onMessage(msg);
        }
      });
    });
  }

  send(msg: object): void {
    this.ws?.send(JSON.stringify(msg));
  }

  /** Messages of one turn in one frame, as the real manager batches them. */
  sendMany(msgs: object[]): void {
    this.ws?.send(JSON.stringify(msgs.length === 1 ? msgs[0] : msgs));
  }

  close(): Promise<void> {
    const ws = this.ws;
    if (!ws || ws.readyState === ws.CLOSED) return Promise.resolve();
    return new Promise((res) => {
      const timer = setTimeout(() => {
        ws.terminate();
        res();
      }, 2_000);
      ws.once('close', () => {
        clearTimeout(timer);
        res();
      });
      ws.close();
    });
  }
}
