// The contributor endpoint: WebSocket sessions of upgrades the router authorized, then protocol frames.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { JSON_LIMITS, readJson } from '../../../../shared/bounded-json.js';
import { ColonyError } from '../../../../shared/errors.js';
import { fieldIssues } from '../../../../shared/validate.js';
import {
  CLOSE,
  PROTOCOL_VERSION,
  contributorMessageSchema,
  type ContributorMessage,
  type CoordinatorMessage,
  type ResultMessage,
} from '../../../../shared/protocol.js';
import { closeReason, guarded } from '../../guard.js';
import type { Engine } from '../engine/engine.js';
import type { Session, Peer } from '../engine/session.js';

const HELLO_TIMEOUT_MS = 10_000;
const MAX_BATCH = 10_000;
/** Bad frames a connection may send (each refused with an error frame) before it is closed. */
export const MAX_BAD_FRAMES = 5;

export class Connections {
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: JSON_LIMITS.frame.maxBytes,
  });

  constructor(
    private readonly engine: Engine,
    /** Rewrites a result whose output files are not stored as declared into a failure. */
    private readonly checkResult: (msg: ResultMessage) => ResultMessage = (m) => m,
  ) {}

  /** Upgrade a request the router already authorized as `contributorId`'s. */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer, contributorId: string): void {
    this.wss.handleUpgrade(
      req,
      socket,
      head,
      guarded(this.engine.log, 'accepting a contributor connection', (ws: WebSocket) =>
        this.session(ws, contributorId, versionOf(req.headers['user-agent'])),
      ),
    );
  }

  private session(ws: WebSocket, contributorId: string, version: string | undefined): void {
    // Messages of one event-loop turn leave as one frame: a busy contributor gets its assigns and
    // acks together, one TLS record and one write instead of one per message.
    let outbox: CoordinatorMessage[] = [];
    const flush = guarded(this.engine.log, 'sending to a contributor', () => {
      const batch = outbox;
      outbox = [];
      if (ws.readyState !== ws.OPEN || batch.length === 0) return;
      ws.send(JSON.stringify(batch.length === 1 ? batch[0] : batch));
    });
    const peer: Peer = {
      send: (message: CoordinatorMessage) => {
        if (outbox.push(message) === 1) setImmediate(flush);
      },
      close: (code, reason) => {
        flush();
        ws.close(code, closeReason(reason));
      },
    };
    let session: Session | undefined;
    let badFrames = 0;
    const helloTimer = setTimeout(
      guarded(this.engine.log, 'hello timer', () => ws.close(CLOSE.badMessage, 'no hello')),
      HELLO_TIMEOUT_MS,
    );
    const onMessage = (data: unknown, isBinary: boolean) => {
      const parsed = parse(isBinary || !Buffer.isBuffer(data) ? undefined : data.toString('utf8'));
      if (!parsed.ok) {
        badFrames++;
        this.engine.log.warn(
          { contributorId: session?.id ?? contributorId, error: parsed.error, badFrames },
          'refused a bad frame from a contributor',
        );
        peer.send({ type: 'error', code: parsed.code, message: parsed.error });
        // Before the hello, or after too many: the connection goes (the coordinator carries on).
        if (!session || badFrames >= MAX_BAD_FRAMES)
          peer.close(CLOSE.badMessage, session ? 'too many bad frames' : 'bad message');
        return;
      }
      for (const msg of parsed.msgs) if (!handle(msg)) return;
    };
    ws.on('message', guarded(this.engine.log, 'a frame from a contributor', onMessage));
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
          session.version = version;
          return true;
        }
        this.engine.message(session, msg.type === 'result' ? this.checkResult(msg) : msg);
        return true;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        peer.send({ type: 'error', code: 'BAD_INPUT', message });
        peer.close(CLOSE.badMessage, message);
        return false;
      }
    };
    ws.on(
      'close',
      guarded(this.engine.log, 'a contributor disconnecting', () => {
        clearTimeout(helloTimer);
        if (session) this.engine.disconnected(session, peer);
      }),
    );
    ws.on('error', (err) => this.engine.log.debug({ err }, 'contributor socket error'));
  }

  close(): void {
    for (const ws of this.wss.clients) ws.close(CLOSE.shuttingDown, 'coordinator stopping');
    this.wss.close();
  }
}

/** The contributor's version from its upgrade's User-Agent (`colony-contributor/0.1.0`), if it says. */
function versionOf(userAgent: string | undefined): string | undefined {
  return /^colony-contributor\/([\w.+-]{1,50})/.exec(userAgent ?? '')?.[1];
}

/** A frame holds one message or an array of them (batched by the sender), checked as a whole. */
function parse(text: string | undefined) {
  const bad = (error: string, code = 'BAD_INPUT') => ({ ok: false as const, error, code });
  if (text === undefined) return bad('binary frames are not part of the protocol');
  let json: unknown;
  try {
    // Bounded (depth, size, counts) before zod or anything else walks it.
    json = readJson(text, JSON_LIMITS.frame, 'frame');
  } catch (err) {
    if (err instanceof ColonyError) return bad(err.message, err.code);
    throw err;
  }
  const items = Array.isArray(json) ? json : [json];
  if (items.length === 0 || items.length > MAX_BATCH)
    return bad(`a frame holds 1 to ${MAX_BATCH} messages`);
  const msgs: ContributorMessage[] = [];
  for (const [i, item] of items.entries()) {
    const result = contributorMessageSchema.safeParse(item);
    if (!result.success) {
      const where = Array.isArray(json) ? `message ${i}: ` : '';
      return bad(
        where +
          fieldIssues(result.error)
            .map((x) => `${x.field}: ${x.message}`)
            .join('; ')
            .slice(0, 2000),
      );
    }
    msgs.push(result.data);
  }
  return { ok: true as const, msgs };
}
