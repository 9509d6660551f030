// Many spellings of one URL path (percent-encoding, case, slashes, dot segments, `;`, query and
// fragment tricks, backslashes), and a raw HTTP(S) request that sends a path exactly as spelled.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type Agent } from 'node:https';
import fc from 'fast-check';

const hex = (c: string, upper: boolean) => {
  const h = c.charCodeAt(0).toString(16).padStart(2, '0');
  return `%${upper ? h.toUpperCase() : h.toLowerCase()}`;
};

/** Every character position of `path` that is not a slash. */
const positions = (path: string) => [...path].flatMap((c, i) => (c === '/' ? [] : [i]));
const slashes = (path: string) => [...path].flatMap((c, i) => (c === '/' ? [i] : []));
const at = (path: string, i: number, insert: string, drop = 0) =>
  path.slice(0, i) + insert + path.slice(i + drop);

/** One rewriting of a path: each keeps or changes what a lax router might take it for. */
export type Spelling = (path: string) => fc.Arbitrary<string>;

const pick = (xs: number[]) => fc.constantFrom(...(xs.length > 0 ? xs : [0]));

export const SPELLINGS: Record<string, Spelling> = {
  'percent-encode one char': (p) =>
    fc
      .tuple(pick(positions(p)), fc.boolean())
      .map(([i, upper]) => at(p, i, hex(p[i] as string, upper), 1)),
  'percent-encode every char': (p) =>
    fc.boolean().map((upper) => [...p].map((c) => (c === '/' ? c : hex(c, upper))).join('')),
  'upper-case letters': (p) =>
    fc
      .tuple(pick(positions(p)), fc.boolean())
      .map(([i, all]) => (all ? p.toUpperCase() : at(p, i, (p[i] as string).toUpperCase(), 1))),
  'doubled slash': (p) => pick(slashes(p)).map((i) => at(p, i, '/')),
  'trailing slash or dot': (p) => fc.constantFrom(`${p}/`, `${p}//`, `${p}/.`, `${p}/%2e`),
  'dot segment': (p) =>
    fc
      .tuple(pick(slashes(p)), fc.constantFrom('/.', '/%2e', '/x/..', '/x/%2e%2e', '/X/%2E%2E'))
      .map(([i, seg]) => at(p, i, seg)),
  'climb from a public route': (p) =>
    fc.constantFrom(
      `/api/v1/health/..${p.slice('/api/v1'.length)}`,
      `/api/v1/health/%2e%2e${p.slice('/api/v1'.length)}`,
      `/api/v1/pairing/..${p.slice('/api/v1'.length)}`,
      `/assets/..${p}`,
      `/..${p}`,
      `/.${p}`,
    ),
  'semicolon parameter': (p) =>
    fc
      .tuple(pick(slashes(p).slice(1).concat(p.length)), fc.constantFrom(';', ';x=1', ';/'))
      .map(([i, s]) => at(p, i, s)),
  'encoded slash': (p) =>
    fc
      .tuple(pick(slashes(p)), fc.constantFrom('%2F', '%2f', '%252F'))
      .map(([i, s]) => at(p, i, s, 1)),
  backslash: (p) =>
    fc.tuple(pick(slashes(p)), fc.constantFrom('\\', '%5C', '%5c')).map(([i, s]) => at(p, i, s, 1)),
  'query and fragment tricks': (p) =>
    fc.constantFrom(
      `${p}?`,
      `${p}?token=x`,
      `${p}?/api/v1/health`,
      `${p}#`,
      `${p}#/api/v1/health`,
      `${p}%3F`,
      `${p}%23`,
      `${p}%00`,
      `${p}?%00`,
    ),
  'absolute-form target': (p) =>
    fc.constantFrom(`https://127.0.0.1${p}`, `http://evil.example${p}`, `//127.0.0.1${p}`),
};

/** A path spelled one way or several ways at once. */
export function spelled(path: string): fc.Arbitrary<{ kinds: string[]; path: string }> {
  const names = Object.keys(SPELLINGS);
  return fc.array(fc.constantFrom(...names), { minLength: 1, maxLength: 3 }).chain((kinds) => {
    let arb: fc.Arbitrary<string> = fc.constant(path);
    for (const k of kinds) arb = arb.chain((p) => (SPELLINGS[k] as Spelling)(p));
    return arb.map((p) => ({ kinds, path: p }));
  });
}

/** Send `method path` with the path exactly as given; resolves with the status (0 if refused). */
export function rawRequest(o: {
  url: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  agent?: Agent;
}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const base = new URL(o.url);
  const send = base.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    let req;
    try {
      req = send(
        {
          host: base.hostname,
          port: base.port,
          method: o.method,
          path: o.path,
          headers: {
            connection: 'close',
            ...(o.body !== undefined
              ? { 'content-length': String(Buffer.byteLength(o.body)) }
              : {}),
            ...o.headers,
          },
          ...(o.agent ? { agent: o.agent } : {}),
          timeout: 10_000,
        },
        (res: IncomingMessage) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c.length < 4096 ? c : c.slice(0, 4096)));
          const done = () =>
            resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers });
          res.on('end', done);
          res.on('error', done);
        },
      );
    } catch (err) {
      // Node's client refuses some paths itself (e.g. control characters): nothing was sent.
      resolve({ status: 0, body: String(err), headers: {} });
      return;
    }
    // An upgrade that was let through is a 101 here, not a response.
    req.on('upgrade', (res: IncomingMessage, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 101, body: '', headers: res.headers });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ status: 0, body: String(err), headers: {} }));
    req.end(o.body);
  });
}
