// Contributor blob cache against a tiny blob server: auth, dedupe, hash check, upload.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BlobCache,
  BlobTransferError,
} from '../../../../../electron/grid/contributor/link/blob-cache.js';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('BlobCache', () => {
  let dir: string;
  let server: http.Server;
  let baseUrl: string;
  let served: Map<string, Buffer>;
  let requests: {
    method: string;
    sha: string;
    auth?: string;
    type?: string;
    attempt?: string | string[];
    body?: Buffer;
  }[];
  let cache: BlobCache;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'colony-bc-'));
    served = new Map();
    requests = [];
    server = http.createServer((req, res) => {
      const sha = (req.url ?? '').split('/').pop() ?? '';
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        requests.push({
          method: req.method ?? '',
          sha,
          auth: req.headers.authorization,
          type: req.headers['content-type'],
          attempt: req.headers['x-colony-attempt'],
          body,
        });
        if (req.method === 'PUT') return void res.writeHead(201).end();
        const blob = served.get(sha);
        // Slow enough that two concurrent ensure() calls overlap.
        setTimeout(() => (blob ? res.writeHead(200).end(blob) : res.writeHead(404).end()), 50);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    cache = await BlobCache.open(path.join(dir, 'blobs'), { baseUrl, credential: 'cred-1' });
  });
  afterEach(async () => {
    cache.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('downloads once for concurrent callers, with the credential, and reuses the cached copy', async () => {
    const sha = sha256('hello');
    served.set(sha, Buffer.from('hello'));
    const [a, b] = await Promise.all([cache.ensure(sha, 5), cache.ensure(sha, 5)]);
    expect(a).toBe(b);
    expect(readFileSync(a, 'utf8')).toBe('hello');
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ method: 'GET', auth: 'Bearer cred-1' });
    await cache.ensure(sha);
    expect(requests).toHaveLength(1);
  });

  it('refuses bytes whose hash differs and keeps nothing', async () => {
    const sha = sha256('expected');
    served.set(sha, Buffer.from('something else'));
    const err = await cache.ensure(sha).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlobTransferError);
    expect((err as Error).message).toMatch(/hash mismatch/);
    expect(existsSync(cache.path(sha))).toBe(false);
    expect(readdirSync(path.join(dir, 'blobs', 'tmp'))).toEqual([]);
  });

  it('refuses more bytes than the expected size', async () => {
    const sha = sha256('0123456789');
    served.set(sha, Buffer.from('0123456789'));
    await expect(cache.ensure(sha, 4)).rejects.toThrow(/exceeds/);
  });

  it('names the HTTP status of a failed download', async () => {
    const sha = sha256('missing');
    const err = (await cache.ensure(sha).catch((e: unknown) => e)) as BlobTransferError;
    expect(err.code).toBe('BLOB_FETCH_FAILED');
    expect(err.message).toContain('HTTP 404');
    expect(err.message).toContain(sha);
  });

  it('uploads a file under its sha256 as octet-stream, naming its attempt', async () => {
    const file = path.join(dir, 'out.bin');
    writeFileSync(file, 'output bytes');
    const ref = await cache.upload(file, 'a-1');
    expect(ref).toEqual({ sha256: sha256('output bytes'), size: 12 });
    expect(requests[0]).toMatchObject({
      method: 'PUT',
      sha: ref.sha256,
      auth: 'Bearer cred-1',
      type: 'application/octet-stream',
      attempt: 'a-1',
    });
    expect(requests[0]!.body!.toString()).toBe('output bytes');
  });
});
