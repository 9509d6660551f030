// The slice of Electron's API the main process uses, as plain interfaces: electron-adapter.ts
// fits the real Electron to it, and tests drive the app with a labelled test double of it.
import type { IpcMainLike } from './ipc.js';
import type { TrayAction, TrayIcon, TrayModel } from './tray-model.js';

export interface TrayLike {
  render(model: TrayModel, onAction: (action: TrayAction) => void): void;
  destroy(): void;
}

export interface WindowLike {
  show(): void;
  /** Loads a page; the window then stays on that page's origin (window-security.ts). */
  loadURL(url: string): Promise<void>;
  isDestroyed(): boolean;
  close(): void;
  onClosed(listener: () => void): void;
}

export interface ElectronLike {
  app: {
    requestSingleInstanceLock(): boolean;
    whenReady(): Promise<void>;
    onSecondInstance(listener: () => void): void;
    /** The app lives in the tray: closing every window must not quit it. */
    keepRunningWithoutWindows(): void;
    quit(): void;
    getPath(name: 'userData' | 'exe'): string;
    setLoginItemSettings(s: { openAtLogin: boolean; args: string[] }): void;
    argv: string[];
    resourcesPath: string;
    /** The binary that runs workers (with ELECTRON_RUN_AS_NODE=1). */
    execPath: string;
    /** The app's version (package.json's), told to the coordinator by a contributor. */
    getVersion(): string;
  };
  powerMonitor: {
    /** Seconds since the last keyboard/mouse input. */
    getSystemIdleTime(): number;
    getSystemIdleState(thresholdSec: number): 'active' | 'idle' | 'locked' | 'unknown';
    isOnBatteryPower(): boolean;
  };
  ipc: IpcMainLike;
  /**
   * The one certificate windows accept (sha256 hex), or none: every HTTPS page a window loads is
   * checked against it (`session.setCertificateVerifyProc` with window-security.ts's verdict).
   */
  pinCertificate(fingerprint: string | undefined): void;
  createTray(icon: TrayIcon): TrayLike;
  /** `preload` only for Colony's own local pages (first run); remote pages get no bridge. */
  createWindow(o: { title: string; preload?: string }): WindowLike;
}
