// The contributor's WebSocket to the coordinator: connect, hello/welcome handshake, validated
// frames both ways, and reconnection with jittered back-off until closed.
import type { Logger } from 'pino';
import WebSocket, { type RawData } from 'ws';
import { JSON_LIMITS, readJson } from '../../../../shared/bounded-json.js';
import { guarded } from '../../guard.js';
import { CertificateMismatchError } from '../../trust/pinned.js';
import {
  CLOSE,
  PROTOCOL_VERSION,
  contributorMessageSchema,
  coordinatorMessageSchema,
  type ContributorMessage,
  type CoordinatorMessage,
  type Hello,
} from '../../../../shared/protocol.js';

export type Welcome = Extract<CoordinatorMessage, { type: 'welcome' }>;

export interface ConnectionOptions {
  /** Coordinator base URL (http or https), read at each connect: discovery may move it. */
  url: string | (() => string);
  /** Pinned TLS agent (docs/trust.md): the socket opens only to the certificate we were told to trust. */
  agent?: import('node:http').Agent;
  credential: string;
  logger: Logger;
  /** Back-off between attempts, doubled each failure, with full jitter. */
  reconnect: { minMs: number; maxMs: number };
  /** Wait after the coordinator refused us for good (bad credential, revoked, other protocol). */
  refusedRetryMs: number;
  /** Give up on a handshake (upgrade + welcome) after this long. */
  handshakeTimeoutMs: number;
  random?: () => number;
  /** Our version, sent as the upgrade's User-Agent (`colony-contributor/VERSION`). */
  version?: string;
}

export interface ConnectionHandlers {
  /** Built afresh for every connection: slots and running attempts change. */
  hello(): Hello;
  welcome(welcome: Welcome): void;
  message(msg: Exclude<CoordinatorMessage, Welcome>): void;
  closed(info: { code: number; reason: string; refused: boolean }): void;
}

// Close codes after which retrying at full speed only hammers the coordinator.
const REFUSALS = new Set<number>([
  CLOSE.badCredential,
  CLOSE.revoked,
  CLOSE.protocolMismatch,
  CLOSE.replaced,
]);

export function connectUrl(base: string): string {
  const url = new URL('/api/v1/connect', base);
  url.protocol =
    url.protocol === 'https:' ? 'wss:' : url.protocol === 'http:' ? 'ws:' : url.protocol;
  return url.toString();
}

export class Connection {
  private ws: WebSocket | undefined;
  private welcomed = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private closing = false;
  private outbox: ContributorMessage[] = [];

  constructor(
    private readonly opts: ConnectionOptions,
    private readonly on: ConnectionHandlers,
  ) {}

  /** Welcomed and open: messages sent now reach the coordinator (or are lost with the socket). */
  get ready(): boolean {
    return this.welcomed && this.ws?.readyState === WebSocket.OPEN;
  }

  open(): void {
    this.closing = false;
    this.connect();
  }

  /** Validates and sends; returns false (and drops the message) when not connected. */
  send(msg: ContributorMessage): boolean {
    if (!this.ready || !this.ws) return false;
    const checked = this.check(msg);
    if (!checked) return false;
    // Messages of one event-loop turn (a result and the ready after it) leave as one frame.
    if (this.outbox.push(checked) === 1) setImmediate(() => this.flush());
    return true;
  }

  private flush(): void {
    const batch = this.outbox;
    this.outbox = [];
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || batch.length === 0) return;
    ws.send(JSON.stringify(batch.length === 1 ? batch[0] : batch));
  }

  /** Closes for good: no more reconnects. */
  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.retryTimer);
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1000, 'contributor stopping');
      // A coordinator that never answers the close handshake must not hold up shutdown.
      setTimeout(() => {
        ws.terminate();
        resolve();
      }, 1000).unref();
    });
  }

  /** Closes this socket and reconnects at once; the coordinator drops the credit it held for it. */
  recycle(reason: string): void {
    this.failures = 0;
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.close(1000, reason);
  }

  /** Drops the socket as if the network failed (tests, and a stuck handshake). */
  drop(): void {
    this.ws?.terminate();
  }

  private connect(): void {
    if (this.closing) return;
    const url = connectUrl(typeof this.opts.url === 'function' ? this.opts.url() : this.opts.url);
    const ws = new WebSocket(url, {
      headers: {
        authorization: `Bearer ${this.opts.credential}`,
        ...(this.opts.version ? { 'user-agent': `colony-contributor/${this.opts.version}` } : {}),
      },
      ...(this.opts.agent ? { agent: this.opts.agent } : {}),
      handshakeTimeout: this.opts.handshakeTimeoutMs,
      maxPayload: JSON_LIMITS.frame.maxBytes,
    });
    this.ws = ws;
    this.welcomed = false;
    let httpStatus: number | undefined;
    ws.on('unexpected-response', (req, res) => {
      httpStatus = res.statusCode;
      res.resume();
      req.destroy();
    });
    const log = this.opts.logger;
    ws.on(
      'open',
      guarded(log, 'opening the connection', () => this.onOpen(ws)),
    );
    ws.on(
      'message',
      guarded(log, 'a frame from the coordinator', (data: RawData, isBinary: boolean) =>
        this.onFrame(ws, data, isBinary),
      ),
    );
    ws.on('error', (err) => {
      // An impostor at the coordinator's address is worth a warning; other socket errors are noise.
      if (err instanceof CertificateMismatchError)
        this.opts.logger.warn(
          { err: err.message, url },
          'refused a coordinator: wrong certificate',
        );
      else this.opts.logger.debug({ err: err.message, url }, 'socket error');
    });
    ws.on(
      'close',
      guarded(log, 'the connection closing', (code: number, reason: Buffer) =>
        this.onClose(ws, code, reason.toString(), httpStatus),
      ),
    );
  }

  private onOpen(ws: WebSocket): void {
    this.sendRaw(ws, this.on.hello());
    // The welcome must follow promptly; a coordinator that stays silent gets a fresh try.
    this.handshakeTimer = setTimeout(() => {
      this.opts.logger.warn('no welcome from the coordinator in time; reconnecting');
      ws.terminate();
    }, this.opts.handshakeTimeoutMs);
  }

  private onFrame(ws: WebSocket, data: RawData, isBinary: boolean): void {
    if (ws !== this.ws) return;
    // A frame holds one message or a batch of them; each is checked and handled in order.
    for (const msg of parseFrame(data, isBinary)) {
      if (ws !== this.ws) return;
      if (!msg.ok) {
        this.opts.logger.warn(
          { problem: msg.error },
          'ignored an invalid message from the coordinator',
        );
        continue;
      }
      const m = msg.value;
      if (m.type === 'welcome') {
        this.onWelcome(ws, m);
        continue;
      }
      if (!this.welcomed) {
        this.opts.logger.warn({ type: m.type }, 'ignored a message that came before the welcome');
        continue;
      }
      this.on.message(m);
    }
  }

  private onWelcome(ws: WebSocket, welcome: Welcome): void {
    if (this.welcomed) return;
    clearTimeout(this.handshakeTimer);
    if (welcome.protocol !== PROTOCOL_VERSION) {
      this.opts.logger.error(
        { ours: PROTOCOL_VERSION, theirs: welcome.protocol },
        'the coordinator speaks another protocol version',
      );
      ws.close(CLOSE.protocolMismatch, 'protocol mismatch');
      return;
    }
    this.welcomed = true;
    this.failures = 0;
    this.on.welcome(welcome);
  }

  private onClose(ws: WebSocket, code: number, reason: string, httpStatus?: number): void {
    if (ws !== this.ws) return;
    clearTimeout(this.handshakeTimer);
    const wasWelcomed = this.welcomed;
    this.welcomed = false;
    this.ws = undefined;
    const refused = REFUSALS.has(code) || httpStatus === 401 || httpStatus === 403;
    if (refused) {
      this.opts.logger.error(
        { code, reason, httpStatus },
        'the coordinator refused this contributor (credential, revocation or protocol); retrying slowly',
      );
    } else if (wasWelcomed) {
      this.opts.logger.warn({ code, reason }, 'disconnected from the coordinator');
    }
    this.on.closed({ code, reason, refused });
    if (this.closing) return;
    this.retryTimer = setTimeout(
      guarded(this.opts.logger, 'reconnecting', () => this.connect()),
      this.nextDelay(refused),
    );
  }

  private nextDelay(refused: boolean): number {
    if (refused) return this.opts.refusedRetryMs;
    const { minMs, maxMs } = this.opts.reconnect;
    const cap = Math.min(maxMs, minMs * 2 ** this.failures);
    this.failures = Math.min(this.failures + 1, 30);
    const random = this.opts.random ?? Math.random;
    return Math.round(minMs + random() * Math.max(0, cap - minMs));
  }

  private sendRaw(ws: WebSocket, msg: ContributorMessage): boolean {
    const checked = this.check(msg);
    if (!checked) return false;
    ws.send(JSON.stringify(checked));
    return true;
  }

  private check(msg: ContributorMessage): ContributorMessage | undefined {
    const checked = contributorMessageSchema.safeParse(msg);
    if (!checked.success) {
      // Our own bug: better a log line than a frame the coordinator closes the socket over.
      this.opts.logger.error(
        { type: msg.type, problem: checked.error.message },
        'refused to send an invalid message',
      );
      return undefined;
    }
    return checked.data;
  }
}

type Parsed = { ok: true; value: CoordinatorMessage } | { ok: false; error: string };

function parseFrame(data: RawData, isBinary: boolean): Parsed[] {
  if (isBinary) return [{ ok: false, error: 'binary frame' }];
  const text = Array.isArray(data)
    ? Buffer.concat(data).toString('utf8')
    : Buffer.from(data as Buffer).toString('utf8');
  let json: unknown;
  try {
    json = readJson(text, JSON_LIMITS.frame, 'frame');
  } catch (err) {
    return [{ ok: false, error: (err as Error).message }];
  }
  return (Array.isArray(json) ? json : [json]).map((item): Parsed => {
    const parsed = coordinatorMessageSchema.safeParse(item);
    if (!parsed.success) return { ok: false, error: parsed.error.message.slice(0, 500) };
    return { ok: true, value: parsed.data };
  });
}
