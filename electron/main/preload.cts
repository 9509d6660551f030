// Preload of Colony's own local pages (the first-run choice): exposes `window.colony.invoke` for the
// channels of shared/ipc.ts and nothing else of Electron or Node. CommonJS that requires only
// 'electron', as a sandboxed renderer's preload must; the channel list is checked against
// shared/ipc.ts by test/unit/main/window-security.test.ts.
import { contextBridge, ipcRenderer } from 'electron';
import type { ColonyBridge, IpcChannel, IpcRequest, IpcResponse } from '../../shared/ipc.js';

const allowed = new Set<string>([
  'app:state',
  'app:choose-mode',
  'app:set-auto-start',
  'policy:set',
  'policy:pause',
  'policy:resume',
]);

async function invoke<C extends IpcChannel>(
  channel: C,
  request: IpcRequest<C>,
): Promise<IpcResponse<C>> {
  if (!allowed.has(channel)) throw new Error(`unknown channel ${String(channel)}`);
  return (await ipcRenderer.invoke(channel, request)) as IpcResponse<C>;
}

const bridge: ColonyBridge = { invoke };

contextBridge.exposeInMainWorld('colony', bridge);
