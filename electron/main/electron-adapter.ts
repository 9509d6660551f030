// Fits the real Electron API to ElectronLike (electron-like.ts): the only file besides the entry,
// the preload and ipc.ts's caller that touches Electron objects directly.
import {
  app,
  BrowserWindow,
  ipcMain,
  Menu,
  nativeImage,
  powerMonitor,
  session,
  shell,
  Tray,
} from 'electron';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ElectronLike, TrayLike, WindowLike } from './electron-like.js';
import type { TrayIcon, TrayModel } from './tray-model.js';
import {
  CONTENT_SECURITY_POLICY,
  externalLink,
  navigationAllowed,
  permissionAllowed,
  verifyCertificate,
  webPreferences,
} from './window-security.js';

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

/** The certificate windows accept: our coordinator's, set by the app when it starts one. */
let pinned: string | undefined;

let secured = false;
let guarded = false;

/** Once, when Electron is ready: certificates, permissions and CSP of the default session. */
function secureSession(): void {
  if (secured) return;
  secured = true;
  const ses = session.defaultSession;
  ses.setCertificateVerifyProc((request, callback) =>
    callback(verifyCertificate(pinned, request.certificate)),
  );
  ses.setPermissionRequestHandler((_wc, _permission, callback) => callback(permissionAllowed()));
  ses.setPermissionCheckHandler(() => permissionAllowed());
  ses.webRequest.onHeadersReceived((details, callback) =>
    callback({
      responseHeaders: {
        ...details.responseHeaders,
        'Content-Security-Policy': [CONTENT_SECURITY_POLICY],
      },
    }),
  );
}

/** Every new WebContents: no new windows (http(s) links open in the OS browser), no webviews. */
function guardContents(): void {
  if (guarded) return;
  guarded = true;
  app.on('web-contents-created', (_event, contents) => {
    contents.setWindowOpenHandler(({ url }) => {
      const external = externalLink(url);
      if (external) void shell.openExternal(external);
      return { action: 'deny' };
    });
    contents.on('will-navigate', (event, url) => {
      if (!navigationAllowed(contents.getURL(), url)) event.preventDefault();
    });
    contents.on('will-redirect', (event, url) => {
      if (!navigationAllowed(contents.getURL(), url)) event.preventDefault();
    });
    contents.on('will-attach-webview', (event) => event.preventDefault());
  });
}

function window(o: { title: string; preload?: string }): WindowLike {
  const w = new BrowserWindow({
    title: o.title,
    width: 1200,
    height: 800,
    show: false,
    webPreferences: webPreferences(o.preload),
  });
  return {
    show: () => w.show(),
    loadURL: (url) => w.loadURL(url),
    isDestroyed: () => w.isDestroyed(),
    close: () => w.close(),
    onClosed: (fn) => void w.on('closed', fn),
  };
}

/** The real Electron; `userData` gives this instance a folder of its own (the self-test's two apps). */
export function realElectron(o: { userData?: string } = {}): ElectronLike {
  return {
    app: {
      requestSingleInstanceLock: () => app.requestSingleInstanceLock(),
      whenReady: async () => {
        guardContents();
        await app.whenReady();
        secureSession();
      },
      onSecondInstance: (fn) => void app.on('second-instance', fn),
      keepRunningWithoutWindows: () => void app.on('window-all-closed', () => undefined),
      quit: () => app.quit(),
      getPath: (name) => (name === 'userData' && o.userData ? o.userData : app.getPath(name)),
      setLoginItemSettings: (s) => app.setLoginItemSettings(s),
      argv: process.argv,
      resourcesPath: process.resourcesPath,
      execPath: process.execPath,
      getVersion: () => app.getVersion(),
    },
    powerMonitor: {
      getSystemIdleTime: () => powerMonitor.getSystemIdleTime(),
      getSystemIdleState: (s) => powerMonitor.getSystemIdleState(s),
      isOnBatteryPower: () => powerMonitor.isOnBatteryPower(),
    },
    ipc: ipcMain,
    pinCertificate: (fingerprint) => void (pinned = fingerprint),
    createTray: tray,
    createWindow: window,
  };
}
