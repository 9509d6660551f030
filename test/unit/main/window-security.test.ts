// The windows' security rules: the certificate check (through the plain verify function, and as
// the Electron adapter wires it, with a TEST DOUBLE of the 'electron' module), navigation and
// new-window rules, web preferences, the preload's channel list.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { IPC_CHANNELS } from '../../../shared/ipc.js';
import { loadOrCreateCertificate } from '../../../electron/grid/trust/certificate.js';
import {
  CERT_ACCEPT,
  CERT_REFUSE,
  CONTENT_SECURITY_POLICY,
  certificateSha256,
  externalLink,
  navigationAllowed,
  verifyCertificate,
  webPreferences,
} from '../../../electron/main/window-security.js';
import { repoRoot } from '../grid/worker/harness.js';

/** TEST DOUBLE of the 'electron' module: records what the adapter registers on the session. */
const electronDouble = vi.hoisted(() => {
  const registered: {
    verify?: (
      request: { hostname: string; certificate: { data: string } },
      callback: (verdict: number) => void,
    ) => void;
    headers?: (
      details: { responseHeaders?: Record<string, string[]> },
      callback: (r: { responseHeaders?: Record<string, string[]> }) => void,
    ) => void;
    permission?: (wc: unknown, permission: string, callback: (ok: boolean) => void) => void;
    appEvents: Map<string, (...args: unknown[]) => void>;
  } = { appEvents: new Map() };
  const session = {
    defaultSession: {
      setCertificateVerifyProc: (fn: typeof registered.verify) => (registered.verify = fn),
      setPermissionRequestHandler: (fn: typeof registered.permission) =>
        (registered.permission = fn),
      setPermissionCheckHandler: () => undefined,
      webRequest: {
        onHeadersReceived: (fn: typeof registered.headers) => (registered.headers = fn),
      },
    },
  };
  const app = {
    whenReady: () => Promise.resolve(),
    on: (event: string, fn: (...args: unknown[]) => void) => registered.appEvents.set(event, fn),
  };
  const ipcMain = { handle: () => undefined, removeHandler: () => undefined };
  const unused = () => {
    throw new Error('not used by this test');
  };
  return {
    registered,
    module: {
      app,
      session,
      ipcMain,
      shell: { openExternal: vi.fn() },
      powerMonitor: {},
      BrowserWindow: unused,
      Menu: {},
      nativeImage: {},
      Tray: unused,
    },
  };
});
vi.mock('electron', () => electronDouble.module);

let dir: string;
let ours: { certPem: string; fingerprint: string };
let other: { certPem: string; fingerprint: string };
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'colony-winsec-'));
  mkdirSync(path.join(dir, 'a'));
  mkdirSync(path.join(dir, 'b'));
  ours = await loadOrCreateCertificate(path.join(dir, 'a'), 'coordinator');
  other = await loadOrCreateCertificate(path.join(dir, 'b'), 'coordinator');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('verifyCertificate (the coordinator window trusts exactly its coordinator)', () => {
  it('accepts the pinned certificate and computes the same sha256 the grid pins', () => {
    expect(certificateSha256(ours.certPem)).toBe(ours.fingerprint);
    expect(verifyCertificate(ours.fingerprint, { data: ours.certPem })).toBe(CERT_ACCEPT);
  });

  it('refuses another certificate, even one with the same name', () => {
    expect(other.fingerprint).not.toBe(ours.fingerprint);
    expect(verifyCertificate(ours.fingerprint, { data: other.certPem })).toBe(CERT_REFUSE);
  });

  it('refuses everything when nothing is pinned, and anything it cannot read', () => {
    for (const pin of [undefined, '', 'not-hex', ours.fingerprint.toUpperCase(), '0'.repeat(63)])
      expect(verifyCertificate(pin, { data: ours.certPem })).toBe(CERT_REFUSE);
    for (const data of ['', 'garbage', ours.certPem.slice(0, 200), ours.fingerprint])
      expect(verifyCertificate(ours.fingerprint, { data })).toBe(CERT_REFUSE);
  });
});

describe('the Electron adapter wires the check into the session (Electron test double)', () => {
  it('registers setCertificateVerifyProc answering with the pinned verdict, plus CSP and no permissions', async () => {
    const { realElectron } = await import('../../../electron/main/electron-adapter.js');
    const e = realElectron();
    await e.app.whenReady();
    const { verify, headers, permission } = electronDouble.registered;
    expect(verify).toBeTypeOf('function');
    const verdict = (data: string) => {
      let got: number | undefined;
      verify!({ hostname: '127.0.0.1', certificate: { data } }, (v) => (got = v));
      return got;
    };
    expect(verdict(ours.certPem)).toBe(CERT_REFUSE); // no coordinator of ours yet
    e.pinCertificate(ours.fingerprint);
    expect(verdict(ours.certPem)).toBe(CERT_ACCEPT);
    expect(verdict(other.certPem)).toBe(CERT_REFUSE);
    e.pinCertificate(undefined); // the coordinator stopped
    expect(verdict(ours.certPem)).toBe(CERT_REFUSE);

    let csp: Record<string, string[]> | undefined;
    headers!({ responseHeaders: { 'x-a': ['1'] } }, (r) => (csp = r.responseHeaders));
    expect(csp).toEqual({ 'x-a': ['1'], 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] });
    let allowed: boolean | undefined;
    permission!({}, 'media', (ok) => (allowed = ok));
    expect(allowed).toBe(false);

    // New windows are denied; http(s) links go to the OS browser; navigation stays on its origin.
    const created = electronDouble.registered.appEvents.get('web-contents-created')!;
    const on = new Map<string, (event: { preventDefault(): void }, url: string) => void>();
    let openHandler: ((d: { url: string }) => { action: string }) | undefined;
    created(
      {},
      {
        setWindowOpenHandler: (fn: typeof openHandler) => (openHandler = fn),
        on: (name: string, fn: (event: { preventDefault(): void }, url: string) => void) =>
          on.set(name, fn),
        getURL: () => 'https://127.0.0.1:7070/#/jobs',
      },
    );
    expect(openHandler!({ url: 'https://example.org/doc' })).toEqual({ action: 'deny' });
    expect(electronDouble.module.shell.openExternal).toHaveBeenCalledWith(
      'https://example.org/doc',
    );
    expect(openHandler!({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' });
    expect(electronDouble.module.shell.openExternal).toHaveBeenCalledTimes(1);
    const prevented = (event: string, url: string) => {
      let stopped = false;
      on.get(event)!({ preventDefault: () => void (stopped = true) }, url);
      return stopped;
    };
    expect(prevented('will-navigate', 'https://127.0.0.1:7070/#/contributors')).toBe(false);
    expect(prevented('will-navigate', 'https://evil.example/')).toBe(true);
    expect(prevented('will-redirect', 'https://127.0.0.1:7071/')).toBe(true);
    expect(prevented('will-attach-webview', 'x')).toBe(true);
  });
});

describe('navigation, new windows, web preferences', () => {
  it('keeps a window on the origin it was opened on', () => {
    const gui = 'https://127.0.0.1:7070/#token=x';
    expect(navigationAllowed(gui, 'https://127.0.0.1:7070/jobs')).toBe(true);
    for (const target of [
      'https://127.0.0.1:7071/',
      'http://127.0.0.1:7070/',
      'https://127.0.0.2:7070/',
      'https://evil.example/',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'data:text/html,hi',
      'not a url',
    ])
      expect(navigationAllowed(gui, target), target).toBe(false);
    const firstRun = 'file:///app/dist/electron/main/first-run.html';
    expect(navigationAllowed(firstRun, firstRun)).toBe(true);
    expect(navigationAllowed(firstRun, 'file:///etc/passwd')).toBe(false);
    expect(navigationAllowed('about:blank', 'about:blank')).toBe(false);
  });

  it('sends only http(s) links to the OS browser', () => {
    expect(externalLink('https://example.org/a?b=1')).toBe('https://example.org/a?b=1');
    expect(externalLink('http://example.org/')).toBe('http://example.org/');
    for (const url of ['file:///etc/passwd', 'smb://share/x', 'javascript:1', 'ms-msdt:x', ''])
      expect(externalLink(url), url).toBeUndefined();
  });

  it('sandboxes every renderer: context isolation, no Node, no webviews', () => {
    for (const prefs of [webPreferences(undefined), webPreferences('/app/preload.cjs')])
      expect(prefs).toMatchObject({
        sandbox: true,
        contextIsolation: true,
        nodeIntegration: false,
        nodeIntegrationInWorker: false,
        nodeIntegrationInSubFrames: false,
        webSecurity: true,
        allowRunningInsecureContent: false,
        webviewTag: false,
      });
    expect(webPreferences(undefined)).not.toHaveProperty('preload');
  });

  it("the preload exposes exactly shared/ipc.ts's channels and requires nothing but electron", () => {
    const source = readFileSync(path.join(repoRoot, 'electron/main/preload.cts'), 'utf8');
    const list = /new Set<string>\(\[([^\]]*)\]\)/.exec(source)?.[1] ?? '';
    const channels = [...list.matchAll(/'([^']+)'/g)].map((m) => m[1]);
    expect(channels.sort()).toEqual([...IPC_CHANNELS].sort());
    const imports = [...source.matchAll(/^import (?!type)[^'"]*['"]([^'"]+)['"]/gm)].map(
      (m) => m[1],
    );
    expect(imports).toEqual(['electron']);
  });
});
