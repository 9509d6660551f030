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
  loadURL(url: string): Promise<void>;
  isDestroyed(): boolean;
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
  };
  powerMonitor: {
    /** Seconds since the last keyboard/mouse input. */
    getSystemIdleTime(): number;
    getSystemIdleState(thresholdSec: number): 'active' | 'idle' | 'locked' | 'unknown';
    isOnBatteryPower(): boolean;
  };
  ipc: IpcMainLike;
  createTray(icon: TrayIcon): TrayLike;
  createWindow(o: { title: string; preload: string }): WindowLike;
}
