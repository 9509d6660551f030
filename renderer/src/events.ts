// The coordinator's event stream read with fetch (EventSource cannot send the Bearer header).
import type { GridEvent } from '../../shared/api.js';
import { API, authHeaders } from './api.js';

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

/** Stays connected, retrying with backoff; `onStatus('live')` marks each (re)connection. */
export function connectEvents(
  onEvent: (e: GridEvent) => void,
  onStatus: (s: StreamStatus) => void,
): () => void {
  let stopped = false;
  let controller: AbortController | undefined;
  let delay = 500;
  const run = async (): Promise<void> => {
    while (!stopped) {
      controller = new AbortController();
      onStatus('connecting');
      try {
        const res = await fetch(`${API}/events`, {
          headers: authHeaders(),
          signal: controller.signal,
        });
        if (res.status === 401 || res.status === 403) {
          onStatus('unauthorized');
          return;
        }
        if (!res.ok || !res.body) throw new Error(`events: ${res.status}`);
        onStatus('live');
        delay = 500;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer = parseBlocks(buffer + value, onEvent);
        }
      } catch {
        /* dropped: reconnect below */
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
