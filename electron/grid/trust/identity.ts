// The coordinator's identity on disk: its id, admin token and join secret, created once, owner-only.
import { randomBytes, createHash, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

const identitySchema = z.object({
  coordinatorId: z.string().min(8),
  adminToken: z.string().min(16),
  joinSecret: z.string().min(16),
});
export type Identity = z.infer<typeof identitySchema>;

function token(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

export function identityPath(dataDir: string): string {
  return join(dataDir, 'identity.json');
}

async function write(dataDir: string, identity: Identity): Promise<void> {
  const file = identityPath(dataDir);
  await writeFile(`${file}.tmp`, JSON.stringify(identity, null, 2), { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}

export async function loadOrCreateIdentity(dataDir: string): Promise<Identity> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  try {
    return identitySchema.parse(JSON.parse(await readFile(identityPath(dataDir), 'utf8')));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const identity: Identity = {
    coordinatorId: randomBytes(8).toString('hex'),
    adminToken: token(),
    joinSecret: token(),
  };
  await write(dataDir, identity);
  return identity;
}

export async function rotate(
  dataDir: string,
  which: 'adminToken' | 'joinSecret',
): Promise<Identity> {
  const identity = await loadOrCreateIdentity(dataDir);
  const next = { ...identity, [which]: token() };
  await write(dataDir, next);
  return next;
}

/** Constant-time comparison: hashing first makes the lengths equal and leaks nothing by timing. */
export function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
