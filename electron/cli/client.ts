// HTTP client of the coordinator API for the CLI: bearer auth, error bodies to typed errors.
import { API_PREFIX } from '../../shared/api.js';
import { ColonyError, type ErrorCode } from '../../shared/errors.js';
import { PinnedAgent, pinnedFetch, type FetchLike } from '../grid/trust/pinned.js';

export class ApiClient {
  private readonly fetch: FetchLike;

  /** `fingerprint` pins the coordinator's certificate; plain http is allowed to loopback only. */
  constructor(
    readonly baseUrl: string,
    private readonly token: string | undefined,
    fingerprint?: string,
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
      if (err instanceof ColonyError) throw err;
      throw new ColonyError(
        'UNREACHABLE',
        `cannot reach the coordinator at ${this.baseUrl}: ${(err as Error).cause ? String((err as { cause: unknown }).cause) : (err as Error).message}`,
      );
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
