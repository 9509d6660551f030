// The contributor panel's loopback API from the browser (served by panel-server.ts on 127.0.0.1):
// its own token, taken from the URL fragment once, then sent as a Bearer header.
import { ApiError, apiErrorOf } from './api.js';

const PANEL_TOKEN_KEY = 'colony.panelToken';

/** `#panel-token=...` (the URL `colony contributor` prints): keep it for this tab, show the panel. */
export function capturePanelToken(): void {
  const match = /^#panel-token=([^&]+)/.exec(window.location.hash);
  if (!match?.[1]) return;
  sessionStorage.setItem(PANEL_TOKEN_KEY, decodeURIComponent(match[1]));
  history.replaceState(null, '', `${window.location.pathname}${window.location.search}#/panel`);
}

export function panelToken(): string | null {
  return sessionStorage.getItem(PANEL_TOKEN_KEY);
}

export async function panelApi<T>(method: string, path: string, body?: unknown): Promise<T> {
  const t = panelToken();
  const headers: Record<string, string> = t ? { authorization: `Bearer ${t}` } : {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(
      0,
      'UNREACHABLE',
      `cannot reach this computer's contributor (${String(err)})`,
    );
  }
  if (res.ok) return (await res.json()) as T;
  throw await apiErrorOf(res);
}
