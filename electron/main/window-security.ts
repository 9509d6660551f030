// What every Colony window may do, as plain functions the Electron adapter wires in and tests call:
// the certificate check (only the pinned coordinator), navigation and new-window rules, the
// renderer's web preferences and the Content-Security-Policy added to what windows load.
import { createHash, X509Certificate } from 'node:crypto';

/** Chromium's verdicts for `session.setCertificateVerifyProc`: 0 accept, -2 refuse. */
export const CERT_ACCEPT = 0;
export const CERT_REFUSE = -2;

/** The sha256 (lowercase hex, no colons) of a PEM certificate's DER, as Colony pins it. */
export function certificateSha256(pem: string): string {
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');
}

/**
 * The certificate check of every window: accepted only when its sha256 is the pinned one. With no
 * pin (no coordinator of ours is running) every certificate is refused; a certificate that cannot
 * be read is refused too. Hostname and the system's trust store play no part.
 */
export function verifyCertificate(
  pinned: string | undefined,
  certificate: { data: string },
): typeof CERT_ACCEPT | typeof CERT_REFUSE {
  if (!pinned || !/^[0-9a-f]{64}$/.test(pinned)) return CERT_REFUSE;
  try {
    return certificateSha256(certificate.data) === pinned ? CERT_ACCEPT : CERT_REFUSE;
  } catch {
    return CERT_REFUSE;
  }
}

function originOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.protocol === 'file:' ? `file://${u.pathname}` : u.origin;
  } catch {
    return undefined;
  }
}

/** `will-navigate`: a window stays on the origin it was opened on (a file page stays itself). */
export function navigationAllowed(current: string, target: string): boolean {
  const from = originOf(current);
  return from !== undefined && from !== 'null' && from === originOf(target);
}

/** `setWindowOpenHandler` always denies; an http(s) link goes to the OS browser instead. */
export function externalLink(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}

/** BrowserWindow webPreferences of every Colony window. */
export function webPreferences(preload: string | undefined) {
  return {
    ...(preload ? { preload } : {}),
    sandbox: true,
    contextIsolation: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    spellcheck: false,
  } as const;
}

/**
 * Added to every response a Colony window loads (the coordinator's GUI, the contributor panel):
 * scripts and connections only from the page's own origin, nothing framed, no plugins.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Permission requests (camera, notifications, geolocation...): Colony's pages need none. */
export function permissionAllowed(): boolean {
  return false;
}
