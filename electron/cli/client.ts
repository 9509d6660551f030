// HTTP client of the coordinator API for the CLI: bearer auth, error bodies to typed errors.
import { API_PREFIX } from '../../shared/api.js';
import { ColonyError, type ErrorCode } from '../../shared/errors.js';
import {
  CertificateMismatchError,
  PinnedAgent,
  pinnedFetch,
  type FetchLike,
} from '../grid/trust/pinned.js';

/** Where the pinned fingerprint came from: the mismatch message says how to fix that source. */
export type FingerprintSource =
  { kind: 'flag' } | { kind: 'env' } | { kind: 'data-dir'; file: string };

function errCode(err: unknown): string | undefined {
  for (let e = err, i = 0; e instanceof Error && i < 4; e = e.cause, i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

function errMessage(err: unknown): string {
  const e = err as Error;
  return e.cause instanceof Error ? e.cause.message : e.message;
}

/** A transport failure as a sentence that says what to do. */
export function explainTransportError(
  err: unknown,
  baseUrl: string,
  source?: FingerprintSource,
): ColonyError {
  if (err instanceof CertificateMismatchError) {
    const seen = `the coordinator at ${baseUrl} presented certificate sha256 ${err.got.slice(0, 16)}…`;
    const want = `${err.expected.slice(0, 16)}…`;
    const how =
      source?.kind === 'flag'
        ? `not the ${want} that --fingerprint gives: check the value (the third part of \`colony token join\` on the coordinator), or this address is another machine`
        : source?.kind === 'env'
          ? `not the ${want} that COLONY_FINGERPRINT gives: check the variable (the third part of \`colony token join\` on the coordinator), or this address is another machine`
          : source?.kind === 'data-dir'
            ? `not the ${want} recorded in ${source.file}: that file is from another coordinator; pass --data with this coordinator's data directory, or --fingerprint`
            : `not the ${want} this client trusts`;
    return new ColonyError('UNREACHABLE', `${seen}, ${how}`, {
      expected: err.expected,
      got: err.got,
    });
  }
  if (err instanceof ColonyError) return err;
  const url = new URL(baseUrl);
  const code = errCode(err);
  if (url.protocol === 'http:' && (code === 'ECONNRESET' || /socket hang up/.test(errMessage(err))))
    return new ColonyError(
      'UNREACHABLE',
      `the coordinator at ${url.host} speaks HTTPS: use https://${url.host} (not http://)`,
    );
  if (
    url.protocol === 'https:' &&
    (code === 'EPROTO' || /wrong version number|packet length too long/i.test(errMessage(err)))
  )
    return new ColonyError(
      'UNREACHABLE',
      `${url.host} does not speak HTTPS: is it a Colony coordinator? (coordinators print "listening at https://…")`,
    );
  if (code === 'ECONNREFUSED')
    return new ColonyError(
      'UNREACHABLE',
      `nothing listens at ${baseUrl}: is the coordinator running there? (colony coordinator, or colony up)`,
    );
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return new ColonyError(
      'UNREACHABLE',
      `cannot find the host ${url.hostname}: check the address in ${baseUrl}`,
    );
  return new ColonyError(
    'UNREACHABLE',
    `cannot reach the coordinator at ${baseUrl}: ${errMessage(err)}`,
  );
}

export class ApiClient {
  private readonly fetch: FetchLike;

  /** `fingerprint` pins the coordinator's certificate; plain http is allowed to loopback only. */
  constructor(
    readonly baseUrl: string,
    private readonly token: string | undefined,
    fingerprint?: string,
    private readonly fingerprintSource?: FingerprintSource,
  ) {
    this.fetch = pinnedFetch(fingerprint ? new PinnedAgent(fingerprint) : undefined);
  }

  async request(
    method: string,
    path: string,
    body?: unknown,
    raw?: { contentType: string; data: Uint8Array },
  ): Promise<Response> {
    let res: Response;
    try {
      res = await this.fetch(`${this.baseUrl}${API_PREFIX}${path}`, {
        method,
        headers: {
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(raw ? { 'content-type': raw.contentType } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : raw ? { body: raw.data } : {}),
      });
    } catch (err) {
      throw explainTransportError(err, this.baseUrl, this.fingerprintSource);
    }
    if (res.ok) return res;
    const text = await res.text();
    let parsed: { error?: { code?: string; message?: string; details?: unknown } } = {};
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      /* not our error body */
    }
    const code = (parsed.error?.code ??
      (res.status === 401 ? 'UNAUTHORIZED' : 'INTERNAL')) as ErrorCode;
    throw new ColonyError(
      code,
      parsed.error?.message ?? `${res.status} ${res.statusText}`,
      parsed.error?.details,
    );
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.request(method, path, body);
    return (await res.json()) as T;
  }
}
