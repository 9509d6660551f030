// Preload of every Colony window: exposes `window.colony.invoke` for the channels of shared/ipc.ts
// and nothing else of Electron or Node.
import { contextBridge, ipcRenderer } from 'electron';
import {
  IPC_CHANNELS,
  type ColonyBridge,
  type IpcChannel,
  type IpcRequest,
  type IpcResponse,
} from '../../shared/ipc.js';

const allowed = new Set<string>(IPC_CHANNELS);

async function invoke<C extends IpcChannel>(
  channel: C,
  request: IpcRequest<C>,
): Promise<IpcResponse<C>> {
  if (!allowed.has(channel)) throw new Error(`unknown channel ${String(channel)}`);
  return (await ipcRenderer.invoke(channel, request)) as IpcResponse<C>;
}

const bridge: ColonyBridge = { invoke };

contextBridge.exposeInMainWorld('colony', bridge);
