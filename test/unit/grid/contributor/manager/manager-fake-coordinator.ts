// Test helper: a minimal coordinator on 127.0.0.1 (ws socket at /api/v1/connect + blob GET/PUT)
// that records every frame it receives and lets a test script the replies.
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { PROTOCOL_VERSION, type ContributorMessage } from '../../../../../shared/protocol.js';

export const CREDENTIAL = 'test-credential-s3cret';

export interface Received {
  conn: number;
  at: number;
  msg: ContributorMessage;
}

export const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

export class FakeCoordinator {
  readonly blobs = new Map<string, Buffer>();
  /** sha → bytes served instead of the real ones (hash mismatch tests). */
  readonly tamper = new Map<string, Buffer>();
  /** sha → ms to wait before answering a GET. */
  readonly delay = new Map<string, number>();
  readonly uploads = new Map<string, { body: Buffer; contentType?: string }>();
  readonly blobRequests: { method: string; sha: string; auth?: string }[] = [];
  readonly received: Received[] = [];
  readonly upgrades: { auth?: string }[] = [];
  /** Answer hello with welcome (false: test sends its own, or closes). */
  autoWelcome = true;
  closeOnHello: number | undefined;
  port = 0;
  private server: http.Server | undefined;
  private wss: WebSocketServer | undefined;
  private socket: WebSocket | undefined;
  private conns = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get connections(): number {
    return this.conns;
  }

  addBlob(content: Buffer | string): { sha256: string; size: number } {
    const buf = Buffer.from(content);
    const sha = sha256(buf);
    this.blobs.set(sha, buf);
    return { sha256: sha, size: buf.length };
  }

  async listen(port = 0): Promise<void> {
    const server = http.createServer((req, res) => void this.onHttp(req, res));
    const wss = new WebSocketServer({ server, path: '/api/v1/connect' });
    wss.on('connection', (ws, req) => this.onSocket(ws, req));
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    this.wss = wss;
  }

  async close(): Promise<void> {
    for (const c of this.wss?.clients ?? []) c.terminate();
    await new Promise<void>((resolve) => this.wss?.close(() => resolve()) ?? resolve());
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
    this.server = undefined;
    this.wss = undefined;
  }

  send(msg: unknown): void {
    this.raw(JSON.stringify(msg));
  }

  raw(data: string | Buffer): void {
    if (!this.socket) throw new Error('no contributor connected');
    this.socket.send(data);
  }

  /** Drops the current socket without a close handshake, as a network failure would. */
  dropSocket(): void {
    this.socket?.terminate();
  }

  closeSocket(code: number, reason = ''): void {
    this.socket?.close(code, reason);
  }

  of<T extends ContributorMessage['type']>(type: T, conn?: number) {
    return this.received
      .filter((r) => r.msg.type === type && (conn === undefined || r.conn === conn))
      .map((r) => r.msg as Extract<ContributorMessage, { type: T }>);
  }

  async waitFor<T>(find: () => T | undefined | false, ms = 10_000, what = 'condition'): Promise<T> {
    const until = Date.now() + ms;
    for (;;) {
      const found = find();
      if (found !== undefined && found !== false) return found;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 15));
    }
  }

  waitMsg<T extends ContributorMessage['type']>(
    type: T,
    pred: (m: Extract<ContributorMessage, { type: T }>) => boolean = () => true,
    ms?: number,
  ) {
    return this.waitFor(() => this.of(type).find(pred), ms, type);
  }

  private onSocket(ws: WebSocket, req: http.IncomingMessage): void {
    const conn = ++this.conns;
    this.upgrades.push({ auth: req.headers.authorization });
    this.socket = ws;
    ws.on('message', (data) => {
      // A frame carries one message or a batch of them (shared/protocol.ts).
      const frame = JSON.parse((data as Buffer).toString('utf8')) as
        ContributorMessage | ContributorMessage[];
      for (const msg of Array.isArray(frame) ? frame : [frame]) this.onMessage(ws, conn, msg);
    });
  }

  private onMessage(ws: WebSocket, conn: number, msg: ContributorMessage): void {
    {
      this.received.push({ conn, at: Date.now(), msg });
      if (msg.type !== 'hello') return;
      if (this.closeOnHello !== undefined) return ws.close(this.closeOnHello, 'refused');
      if (this.autoWelcome)
        ws.send(
          JSON.stringify({
            type: 'welcome',
            protocol: PROTOCOL_VERSION,
            coordinatorId: 'coord-1',
            contributorId: msg.contributorId,
            heartbeatMs: msg.heartbeatMs,
          }),
        );
    }
  }

  private async onHttp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const m = /^\/api\/v1\/blobs\/([0-9a-f]{64})$/.exec(req.url ?? '');
    if (!m?.[1]) return void res.writeHead(404).end();
    const sha = m[1];
    this.blobRequests.push({ method: req.method ?? '', sha, auth: req.headers.authorization });
    if (req.headers.authorization !== `Bearer ${CREDENTIAL}`) return void res.writeHead(401).end();
    if (req.method === 'PUT') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      if (sha256(body) !== sha) return void res.writeHead(400).end();
      this.uploads.set(sha, { body, contentType: req.headers['content-type'] });
      this.blobs.set(sha, body);
      return void res.writeHead(201).end();
    }
    const wait = this.delay.get(sha);
    if (wait) await new Promise((r) => setTimeout(r, wait));
    const body = this.tamper.get(sha) ?? this.blobs.get(sha);
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
  }
}
