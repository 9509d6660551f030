// The coordinator's event stream read with fetch (EventSource cannot send the Bearer header).
import type { GridEvent } from '../../shared/api.js';
import { API, authHeaders, token } from './api.js';

export type StreamStatus = 'connecting' | 'live' | 'down' | 'unauthorized';

/** Parse `event:`/`data:` blocks; returns what is left of an unfinished block. */
function parseBlocks(buffer: string, emit: (e: GridEvent) => void): string {
  const blocks = buffer.split('\n\n');
  const rest = blocks.pop() ?? '';
  for (const block of blocks) {
    const data = block
      .split('\n')
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).trimStart())
      .join('\n');
    if (data) emit(JSON.parse(data) as GridEvent);
  }
  return rest;
}

/** The server writes a keep-alive every 15 s: this long without a byte means the stream is dead. */
const SILENCE_MS = 40_000;

/**
 * Stays connected, retrying with backoff; `onStatus('live')` marks each (re)connection. Once the
 * stream dropped, the status stays 'down' through the retries until one succeeds.
 */
export function connectEvents(
  onEvent: (e: GridEvent) => void,
  onStatus: (s: StreamStatus) => void,
): () => void {
  let stopped = false;
  let controller: AbortController | undefined;
  let delay = 500;
  let everLive = false;
  const run = async (): Promise<void> => {
    while (!stopped) {
      controller = new AbortController();
      const current = controller;
      if (!everLive) onStatus('connecting');
      let watchdog: ReturnType<typeof setTimeout> | undefined;
      const quiet = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => current.abort(), SILENCE_MS);
      };
      try {
        const used = token();
        const res = await fetch(`${API}/events`, {
          headers: authHeaders(),
          signal: controller.signal,
        });
        if (res.status === 401 || res.status === 403) {
          // Refused for a token this tab has since replaced (a rotation): try again with the new one.
          if (used !== token()) continue;
          onStatus('unauthorized');
          return;
        }
        if (!res.ok || !res.body) throw new Error(`events: ${res.status}`);
        onStatus('live');
        everLive = true;
        delay = 500;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        quiet();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          quiet();
          buffer = parseBlocks(buffer + value, onEvent);
        }
      } catch {
        /* dropped: reconnect below */
      } finally {
        clearTimeout(watchdog);
      }
      if (stopped) return;
      onStatus('down');
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10_000);
    }
  };
  void run();
  return () => {
    stopped = true;
    controller?.abort();
  };
}
