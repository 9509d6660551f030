// TLS pinned to one certificate fingerprint: an https.Agent (for WebSockets) and a fetch built on it.
import { Agent, request as httpsRequest, type AgentOptions, type RequestOptions } from 'node:https';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { Readable } from 'node:stream';
import { ColonyError } from '../../../shared/errors.js';

export class CertificateMismatchError extends ColonyError {
  /** `pinnedBy` says where the expected fingerprint came from, e.g. "the join token". */
  constructor(
    readonly expected: string,
    readonly got: string,
    readonly pinnedBy = 'the certificate this machine was told to trust',
  ) {
    super(
      'UNREACHABLE',
      `coordinator certificate does not match ${pinnedBy} (it presented sha256 ${got.slice(0, 16)}…, expected ${expected.slice(0, 16)}…)`,
      { expected, got },
    );
  }
}

function peerFingerprint(socket: TLSSocket): string {
  return (socket.getPeerCertificate().fingerprint256 ?? '').replaceAll(':', '').toLowerCase();
}

/**
 * An agent whose sockets are handed to HTTP only after the server's certificate matched the pin:
 * nothing (no header, no credential) is written to a server that failed the check.
 */
export class PinnedAgent extends Agent {
  constructor(
    readonly fingerprint: string,
    opts: AgentOptions = {},
    private readonly connectTimeoutMs = 5_000,
    /** Where `fingerprint` came from, for the mismatch message ("the join token", "--fingerprint"). */
    private readonly pinnedBy?: string,
  ) {
    super({ keepAlive: true, ...opts });
  }

  override createConnection(
    options: RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | undefined {
    const socket = connect({ ...(options as ConnectionOptions), rejectUnauthorized: false });
    const fail = (err: Error) => callback?.(err, socket);
    socket.once('error', fail);
    // HTTP's own timeouts start only once it has the socket: bound the TCP + TLS handshake here,
    // or a vanished address (the coordinator moved) hangs until the kernel gives up, minutes on.
    socket.setTimeout(options.timeout ?? this.connectTimeoutMs, () =>
      socket.destroy(
        new Error(`no TLS handshake with ${options.host ?? '?'}:${options.port ?? '?'} in time`),
      ),
    );
    socket.once('secureConnect', () => {
      socket.setTimeout(0);
      socket.off('error', fail);
      const got = peerFingerprint(socket);
      if (got !== this.fingerprint) {
        socket.destroy();
        callback?.(new CertificateMismatchError(this.fingerprint, got, this.pinnedBy), socket);
        return;
      }
      callback?.(null, socket);
    });
    return undefined;
  }
}

export type FetchLike = (
  url: string,
  init?: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Uint8Array | Readable;
    signal?: AbortSignal;
  },
) => Promise<Response>;

/**
 * A fetch over node:https with the pinned agent (Node's global fetch cannot take an https.Agent).
 * Plain http URLs are allowed only to loopback addresses.
 */
export function pinnedFetch(agent: PinnedAgent | undefined): FetchLike {
  return (url, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const target = new URL(url);
      if (target.protocol === 'http:' && !isLoopback(target.hostname))
        return reject(
          new ColonyError(
            'UNREACHABLE',
            `refusing plain http:// to ${target.host}: coordinators on other machines are reached over HTTPS only; use https://${target.host}`,
          ),
        );
      if (target.protocol === 'https:' && !agent)
        return reject(
          new ColonyError(
            'UNREACHABLE',
            `no certificate fingerprint to trust for ${target.host}: pass --fingerprint SHA256 (the third part of its join token) or set COLONY_FINGERPRINT`,
          ),
        );
      const req = (target.protocol === 'https:' ? httpsRequest : httpRequest)(
        target,
        {
          method: init.method ?? 'GET',
          ...(init.headers ? { headers: init.headers } : {}),
          ...(target.protocol === 'https:' ? { agent } : {}),
          ...(init.signal ? { signal: init.signal } : {}),
        },
        (res: IncomingMessage) => {
          const headers = new Headers();
          for (const [k, v] of Object.entries(res.headers))
            if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
          const status = res.statusCode ?? 500;
          const body =
            status === 204 || status === 304
              ? null
              : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
          resolve(new Response(body, { status, statusText: res.statusMessage ?? '', headers }));
        },
      );
      req.once('error', reject);
      if (init.body instanceof Readable) init.body.pipe(req);
      else req.end(init.body);
    });
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\./.test(h);
}
