// The one typed wrapper over ipcMain: a handler per channel of shared/ipc.ts, the sender's page
// checked, then its request parsed by the channel's schema before the handler sees it. Raw ipcMain
// is lint-restricted elsewhere.
import {
  ipcRequestSchemas,
  type IpcChannel,
  type IpcParsedRequest,
  type IpcResponse,
} from '../../shared/ipc.js';
import { parseOrThrow } from '../../shared/validate.js';

/** The part of Electron's ipcMain we use (the real one and the test double both fit). */
export interface IpcMainLike {
  handle(channel: string, listener: (event: unknown, request: unknown) => unknown): void;
  removeHandler(channel: string): void;
}

export type IpcHandlers = {
  [C in IpcChannel]: (request: IpcParsedRequest<C>) => Promise<IpcResponse<C>> | IpcResponse<C>;
};

/** The URL of the frame that sent an IPC message (Electron's `event.senderFrame.url`). */
export function senderUrl(event: unknown): string | undefined {
  const url = (event as { senderFrame?: { url?: unknown } | null } | null)?.senderFrame?.url;
  return typeof url === 'string' ? url : undefined;
}

/** Accepts a message only from a page `trusted` approves; then parses it by the channel's schema. */
export function handle<C extends IpcChannel>(
  ipc: IpcMainLike,
  channel: C,
  listener: IpcHandlers[C],
  trusted: (url: string | undefined) => boolean,
): void {
  const schema = ipcRequestSchemas[channel];
  ipc.handle(channel, (event, request) => {
    const from = senderUrl(event);
    if (!trusted(from))
      throw new Error(`ipc ${channel}: refused from ${from ?? 'an unknown page'}`);
    return listener(parseOrThrow(schema, request, `ipc ${channel}`) as IpcParsedRequest<C>);
  });
}

/** Registers every channel at once, so none can be forgotten (the map type requires them all). */
export function handleAll(
  ipc: IpcMainLike,
  handlers: IpcHandlers,
  trusted: (url: string | undefined) => boolean,
): () => void {
  const channels = Object.keys(handlers) as IpcChannel[];
  for (const c of channels) handle(ipc, c, handlers[c], trusted);
  return () => channels.forEach((c) => ipc.removeHandler(c));
}
