// The coordinator's TLS identity: an ECDSA P-256 key and self-signed certificate, made once, owner-only.
import { X509Certificate } from 'node:crypto';
import { readFile, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import selfsigned from 'selfsigned';

export interface Certificate {
  certPem: string;
  keyPem: string;
  /** sha256 of the certificate (DER), lowercase hex: what join tokens pin. */
  fingerprint: string;
}

export function fingerprintOf(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256.replaceAll(':', '').toLowerCase();
}

async function readIfPresent(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function writePrivate(file: string, text: string): Promise<void> {
  await writeFile(`${file}.tmp`, text, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}

export async function loadOrCreateCertificate(
  dataDir: string,
  commonName: string,
): Promise<Certificate> {
  const certFile = join(dataDir, 'cert.pem');
  const keyFile = join(dataDir, 'key.pem');
  const [certPem, keyPem] = await Promise.all([readIfPresent(certFile), readIfPresent(keyFile)]);
  if (certPem && keyPem) return { certPem, keyPem, fingerprint: fingerprintOf(certPem) };
  // EC keys generate in milliseconds; the name is informative only, trust is by fingerprint.
  const made = await selfsigned.generate(
    [{ name: 'commonName', value: commonName.slice(0, 60) || 'colony' }],
    {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notAfterDate: new Date(Date.now() + 3650 * 24 * 3600 * 1000),
    },
  );
  await writePrivate(keyFile, made.private);
  await writePrivate(certFile, made.cert);
  return { certPem: made.cert, keyPem: made.private, fingerprint: fingerprintOf(made.cert) };
}
