// The contributor endpoint: WebSocket upgrades at /api/v1/connect, authenticated, then protocol frames.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { API_PREFIX } from '../../../shared/api.js';
import { fieldIssues } from '../../../shared/validate.js';
import {
  CLOSE,
  PROTOCOL_VERSION,
  contributorMessageSchema,
  type ContributorMessage,
  type CoordinatorMessage,
} from '../../../shared/protocol.js';
import type { Engine } from './engine.js';
import type { Session, Peer } from './session.js';

const HELLO_TIMEOUT_MS = 10_000;
const MAX_BATCH = 10_000;

export class Connections {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024 });

  constructor(
    private readonly engine: Engine,
    /** The contributor a credential belongs to, or undefined. */
    private readonly authorize: (credential: string | undefined) => string | undefined,
  ) {}

  /** Handle an HTTP upgrade; anything but an authorized /connect is refused before any frame. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? '').split('?')[0];
    if (path !== `${API_PREFIX}/connect`) return refuse(socket, 404, 'Not Found');
    const auth = req.headers.authorization;
    const credential = auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
    const contributorId = this.authorize(credential);
    if (!contributorId) return refuse(socket, 401, 'Unauthorized');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, contributorId));
  }

  private accept(ws: WebSocket, contributorId: string): void {
    // Messages of one event-loop turn leave as one frame: a busy contributor gets its assigns and
    // acks together, one TLS record and one write instead of one per message.
    let outbox: CoordinatorMessage[] = [];
    const flush = () => {
      const batch = outbox;
      outbox = [];
      if (ws.readyState !== ws.OPEN || batch.length === 0) return;
      ws.send(JSON.stringify(batch.length === 1 ? batch[0] : batch));
    };
    const peer: Peer = {
      send: (message: CoordinatorMessage) => {
        if (outbox.push(message) === 1) setImmediate(flush);
      },
      close: (code, reason) => {
        flush();
        ws.close(code, reason);
      },
    };
    let session: Session | undefined;
    const helloTimer = setTimeout(() => ws.close(CLOSE.badMessage, 'no hello'), HELLO_TIMEOUT_MS);
    ws.on('message', (data, isBinary) => {
      const parsed = parse(isBinary || !Buffer.isBuffer(data) ? undefined : data.toString('utf8'));
      if (!parsed.ok) {
        this.engine.log.warn(
          { contributorId: session?.id, error: parsed.error },
          'bad frame from contributor',
        );
        peer.send({ type: 'error', code: 'BAD_INPUT', message: parsed.error });
        peer.close(CLOSE.badMessage, 'bad message');
        return;
      }
      for (const msg of parsed.msgs) if (!handle(msg)) return;
    });
    // One message; false when the connection was closed over it.
    const handle = (msg: ContributorMessage): boolean => {
      try {
        if (!session) {
          if (msg.type !== 'hello') throw new Error('the first message must be hello');
          if (msg.contributorId !== contributorId) {
            peer.close(CLOSE.badCredential, 'credential belongs to another contributor');
            return false;
          }
          if (msg.protocol !== PROTOCOL_VERSION) {
            peer.close(CLOSE.protocolMismatch, `protocol ${PROTOCOL_VERSION} required`);
            return false;
          }
          clearTimeout(helloTimer);
          session = this.engine.hello(peer, msg);
          return true;
        }
        this.engine.message(session, msg);
        return true;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        peer.send({ type: 'error', code: 'BAD_INPUT', message });
        peer.close(CLOSE.badMessage, message.slice(0, 120));
        return false;
      }
    };
    ws.on('close', () => {
      clearTimeout(helloTimer);
      if (session) this.engine.disconnected(session, peer);
    });
    ws.on('error', (err) => this.engine.log.debug({ err }, 'contributor socket error'));
  }

  close(): void {
    for (const ws of this.wss.clients) ws.close(CLOSE.shuttingDown, 'coordinator stopping');
    this.wss.close();
  }
}

/** A frame holds one message or an array of them (batched by the sender), checked as a whole. */
function parse(text: string | undefined) {
  if (text === undefined)
    return { ok: false as const, error: 'binary frames are not part of the protocol' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false as const, error: 'frame is not JSON' };
  }
  const items = Array.isArray(json) ? json : [json];
  if (items.length === 0 || items.length > MAX_BATCH)
    return { ok: false as const, error: `a frame holds 1 to ${MAX_BATCH} messages` };
  const msgs: ContributorMessage[] = [];
  for (const [i, item] of items.entries()) {
    const result = contributorMessageSchema.safeParse(item);
    if (!result.success) {
      const where = Array.isArray(json) ? `message ${i}: ` : '';
      return {
        ok: false as const,
        error:
          where +
          fieldIssues(result.error)
            .map((x) => `${x.field}: ${x.message}`)
            .join('; '),
      };
    }
    msgs.push(result.data);
  }
  return { ok: true as const, msgs };
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
