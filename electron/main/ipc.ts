// The one typed wrapper over ipcMain: a handler per channel of shared/ipc.ts, its request parsed
// by the channel's schema before the handler sees it. Raw ipcMain is lint-restricted elsewhere.
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

export function handle<C extends IpcChannel>(
  ipc: IpcMainLike,
  channel: C,
  listener: IpcHandlers[C],
): void {
  const schema = ipcRequestSchemas[channel];
  ipc.handle(channel, (_event, request) =>
    listener(parseOrThrow(schema, request, `ipc ${channel}`) as IpcParsedRequest<C>),
  );
}

/** Registers every channel at once, so none can be forgotten (the map type requires them all). */
export function handleAll(ipc: IpcMainLike, handlers: IpcHandlers): () => void {
  const channels = Object.keys(handlers) as IpcChannel[];
  for (const c of channels) handle(ipc, c, handlers[c]);
  return () => channels.forEach((c) => ipc.removeHandler(c));
}
