// The coordinator's HTTP API from the browser: the signed-in person's token as a Bearer header,
// errors with fields.
import type { FieldIssue } from '../../shared/errors.js';

const TOKEN_KEY = 'colony.token';
export const API = '/api/v1';

/**
 * Take a token from `#token=...` once (the desktop app and `colony up` open the GUI so), keep it
 * for this tab only, and drop it from the URL.
 */
export function captureToken(): boolean {
  const match = /^#token=([^&]+)/.exec(window.location.hash);
  if (!match?.[1]) return false;
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
  history.replaceState(null, '', `${window.location.pathname}${window.location.search}#/`);
  return true;
}

/** This tab's token, else the one this browser was asked to keep. */
export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY) ?? localStorage.getItem(TOKEN_KEY);
}

/**
 * Use `value` from now on: for this tab only (sessionStorage), or kept in this browser across
 * restarts (localStorage) when the person asked for it. A kept token stays kept when replaced
 * (a rotation in Settings).
 */
export function setToken(value: string, keep = kept()): void {
  const t = value.trim();
  sessionStorage.setItem(TOKEN_KEY, t);
  if (keep) localStorage.setItem(TOKEN_KEY, t);
  else localStorage.removeItem(TOKEN_KEY);
}

/** Is the token in use the one this browser keeps? */
export function kept(): boolean {
  const t = localStorage.getItem(TOKEN_KEY);
  return t !== null && t === token();
}

/** Sign-out: the token leaves both storages. */
export function clearToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(TOKEN_KEY);
}

/**
 * Called when the coordinator answers 401 to a request made with `used`: that token was removed,
 * rotated or never valid (the listener decides whether it is still the one in use).
 */
let onUnauthorized: (used: string) => void = () => undefined;
export function whenUnauthorized(listener: (used: string) => void): void {
  onUnauthorized = listener;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: FieldIssue[] = [],
  ) {
    super(message);
    this.name = this.constructor.name;
  }
}

export function authHeaders(): Record<string, string> {
  const t = token();
  return t ? { authorization: `Bearer ${t}` } : {};
}

export async function request(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = authHeaders();
  let payload: BodyInit | undefined;
  if (body instanceof Blob || body instanceof ArrayBuffer) {
    headers['content-type'] = 'application/octet-stream';
    payload = body;
  } else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res: Response;
  try {
    res = await fetch(`${API}${path}`, { method, headers, body: payload ?? null });
  } catch (err) {
    throw new ApiError(0, 'UNREACHABLE', `cannot reach the coordinator (${String(err)})`);
  }
  if (res.ok) return res;
  const used = headers.authorization?.slice('Bearer '.length);
  if (res.status === 401 && used !== undefined) onUnauthorized(used);
  throw await apiErrorOf(res);
}

/** The ApiError for a failed response: our `{"error": {code, message, details}}` body, or the status. */
export async function apiErrorOf(res: Response): Promise<ApiError> {
  let error: { code?: string; message?: string; details?: { issues?: FieldIssue[] } } = {};
  try {
    error = ((await res.json()) as { error?: typeof error }).error ?? {};
  } catch {
    /* not JSON: keep the status alone */
  }
  return new ApiError(
    res.status,
    error.code ?? 'HTTP',
    error.message ?? `${res.status} ${res.statusText}`,
    error.details?.issues ?? [],
  );
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  return (await (await request(method, path, body)).json()) as T;
}

/** Save an authenticated download: a plain link cannot carry the Bearer header. */
export async function download(path: string, filename: string): Promise<void> {
  const blob = await (await request('GET', path)).blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** sha256 of a file in hex, computed here so the blob can be PUT under its name. */
export async function sha256Hex(data: ArrayBuffer): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', data);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Upload a file as a content-addressed blob; returns the reference a job spec carries. */
export async function uploadBlob(
  file: File,
  name = file.name,
): Promise<{ name: string; sha256: string; size: number }> {
  const data = await file.arrayBuffer();
  const sha256 = await sha256Hex(data);
  await request('PUT', `/blobs/${sha256}`, data);
  return { name, sha256, size: data.byteLength };
}
