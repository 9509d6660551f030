// The one channel map between the Electron main process and its windows: each channel's request
// schema (parsed in main, once) and response type. The preload exposes only these channels.
import { z } from 'zod';
import { APP_MODES, type AppMode, type AppSettings } from './app-settings.js';
import {
  ownerPolicySettingsSchema,
  SNOOZE_KINDS,
  type OwnerPolicySettings,
  type PolicyDecision,
} from './owner-policy.js';

export interface AppStateView {
  mode: AppMode | undefined;
  autoStart: boolean;
  /** The GUI to show: the coordinator's web app, local or remote. */
  guiUrl?: string;
  /** Why the chosen mode is not running (e.g. the coordinator's certificate did not match). */
  error?: string;
  contributor?: {
    connected: boolean;
    coordinatorUrl?: string;
    decision?: PolicyDecision;
    running: { attemptId: string; jobId: string; progress?: number; message?: string }[];
    policy: OwnerPolicySettings;
  };
}

export const ipcRequestSchemas = {
  'app:state': z.undefined(),
  'app:choose-mode': z.strictObject({ mode: z.enum(APP_MODES) }),
  'app:set-auto-start': z.strictObject({ enabled: z.boolean() }),
  'policy:set': ownerPolicySettingsSchema,
  'policy:pause': z.strictObject({ kind: z.enum(SNOOZE_KINDS) }),
  'policy:resume': z.undefined(),
} as const;

export interface IpcResponses {
  'app:state': AppStateView;
  'app:choose-mode': AppSettings;
  'app:set-auto-start': AppSettings;
  'policy:set': OwnerPolicySettings;
  'policy:pause': PolicyDecision | undefined;
  'policy:resume': PolicyDecision | undefined;
}

export type IpcChannel = keyof typeof ipcRequestSchemas & keyof IpcResponses;
export type IpcRequest<C extends IpcChannel> = z.input<(typeof ipcRequestSchemas)[C]>;
export type IpcParsedRequest<C extends IpcChannel> = z.output<(typeof ipcRequestSchemas)[C]>;
export type IpcResponse<C extends IpcChannel> = IpcResponses[C];

export const IPC_CHANNELS = Object.keys(ipcRequestSchemas) as IpcChannel[];

/** What the preload puts on `window.colony`. */
export interface ColonyBridge {
  invoke<C extends IpcChannel>(channel: C, request: IpcRequest<C>): Promise<IpcResponse<C>>;
}
