// Fits the real Electron API to ElectronLike (electron-like.ts): the only file besides the entry,
// the preload and ipc.ts's caller that touches Electron objects directly.
import { app, BrowserWindow, ipcMain, Menu, nativeImage, powerMonitor, Tray } from 'electron';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ElectronLike, TrayLike, WindowLike } from './electron-like.js';
import type { TrayIcon, TrayModel } from './tray-model.js';

const iconDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../build/tray');

function icon(name: TrayIcon): Electron.NativeImage {
  const img = nativeImage.createFromPath(path.join(iconDir, `${name}.png`));
  return img.isEmpty() ? nativeImage.createEmpty() : img;
}

function tray(initial: TrayIcon): TrayLike {
  const t = new Tray(icon(initial));
  return {
    render(model: TrayModel, onAction) {
      t.setImage(icon(model.icon));
      t.setToolTip(model.tooltip);
      t.setContextMenu(
        Menu.buildFromTemplate(
          model.items.map((item) =>
            item.type === 'separator'
              ? { type: 'separator' as const }
              : item.type === 'label'
                ? { label: item.label, enabled: false }
                : { label: item.label, enabled: item.enabled, click: () => onAction(item.action) },
          ),
        ),
      );
    },
    destroy: () => t.destroy(),
  };
}

function window(o: { title: string; preload: string }): WindowLike {
  const w = new BrowserWindow({
    title: o.title,
    width: 1200,
    height: 800,
    show: false,
    webPreferences: {
      preload: o.preload,
      contextIsolation: true,
      nodeIntegration: false,
      sandbox: false,
    },
  });
  return {
    show: () => w.show(),
    loadURL: (url) => w.loadURL(url),
    isDestroyed: () => w.isDestroyed(),
    onClosed: (fn) => void w.on('closed', fn),
  };
}

export function realElectron(): ElectronLike {
  return {
    app: {
      requestSingleInstanceLock: () => app.requestSingleInstanceLock(),
      whenReady: () => app.whenReady(),
      onSecondInstance: (fn) => void app.on('second-instance', fn),
      keepRunningWithoutWindows: () => void app.on('window-all-closed', () => undefined),
      quit: () => app.quit(),
      getPath: (name) => app.getPath(name),
      setLoginItemSettings: (s) => app.setLoginItemSettings(s),
      argv: process.argv,
      resourcesPath: process.resourcesPath,
      execPath: process.execPath,
    },
    powerMonitor: {
      getSystemIdleTime: () => powerMonitor.getSystemIdleTime(),
      getSystemIdleState: (s) => powerMonitor.getSystemIdleState(s),
      isOnBatteryPower: () => powerMonitor.isOnBatteryPower(),
    },
    ipc: ipcMain,
    createTray: tray,
    createWindow: window,
  };
}
