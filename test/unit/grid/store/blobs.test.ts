import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BlobStore } from '../../../../electron/grid/store/blobs.js';
import {
  BadSha256Error,
  BlobHashMismatchError,
  BlobTooLargeError,
} from '../../../../electron/grid/store/errors.js';
import { useTempDir } from './helpers/temp-dir.js';

const tmp = useTempDir('colony-blobs-');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const chunks = (b: Buffer, size = 1000) =>
  Readable.from(
    Array.from({ length: Math.ceil(b.length / size) }, (_, i) =>
      b.subarray(i * size, (i + 1) * size),
    ),
  );

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => e.name);
}

describe('BlobStore', () => {
  const data = Buffer.from('x'.repeat(10_000) + 'payload');
  const good = sha(data);

  it('stores a stream whose hash matches, under ab/abcdef…', async () => {
    const blobs = await BlobStore.open(join(tmp(), 'blobs'));
    expect(await blobs.has(good)).toBe(false);
    const res = await blobs.put(good, chunks(data), { maxBytes: 1 << 20 });
    expect(res).toEqual({ sha256: good, size: data.length, existed: false });
    expect(blobs.path(good)).toBe(join(tmp(), 'blobs', good.slice(0, 2), good));
    expect(await readFile(blobs.path(good))).toEqual(data);
    expect(await blobs.stat(good)).toEqual({ size: data.length });
    const read: Buffer[] = [];
    for await (const c of blobs.createReadStream(good)) read.push(c as Buffer);
    expect(Buffer.concat(read)).toEqual(data);
  });

  it('is idempotent for a stored blob, and still checks the bytes', async () => {
    const blobs = await BlobStore.open(join(tmp(), 'blobs'));
    await blobs.put(good, data, { maxBytes: 1 << 20 });
    expect(await blobs.put(good, data, { maxBytes: 1 << 20 })).toMatchObject({ existed: true });
    await expect(
      blobs.put(good, Buffer.from('other'), { maxBytes: 1 << 20 }),
    ).rejects.toBeInstanceOf(BlobHashMismatchError);
    expect(await readFile(blobs.path(good))).toEqual(data);
  });

  it('refuses a mismatching hash and leaves nothing behind', async () => {
    const blobs = await BlobStore.open(join(tmp(), 'blobs'));
    const wrong = sha(Buffer.from('something else'));
    const err = await blobs
      .put(wrong, chunks(data), { maxBytes: 1 << 20 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlobHashMismatchError);
    expect(err).toMatchObject({ code: 'BLOB_HASH_MISMATCH' });
    expect(await blobs.has(wrong)).toBe(false);
    expect(await filesUnder(join(tmp(), 'blobs'))).toEqual([]);
  });

  it('stops at maxBytes with BLOB_TOO_LARGE and leaves nothing behind', async () => {
    const blobs = await BlobStore.open(join(tmp(), 'blobs'));
    const err = await blobs.put(good, chunks(data), { maxBytes: 4000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlobTooLargeError);
    expect(err).toMatchObject({ code: 'BLOB_TOO_LARGE' });
    expect(await filesUnder(join(tmp(), 'blobs'))).toEqual([]);
  });

  it('rejects a malformed sha256 with BAD_SHA256', async () => {
    const blobs = await BlobStore.open(join(tmp(), 'blobs'));
    for (const bad of [good.toUpperCase(), good.slice(1), '../' + good.slice(3), '']) {
      await expect(blobs.put(bad, data, { maxBytes: 1 << 20 })).rejects.toBeInstanceOf(
        BadSha256Error,
      );
      expect(() => blobs.path(bad)).toThrow(BadSha256Error);
    }
    await expect(blobs.has('nope')).rejects.toMatchObject({ code: 'BAD_SHA256' });
  });

  it('passes a source stream error through and cleans up', async () => {
    const blobs = await BlobStore.open(join(tmp(), 'blobs'));
    const failing = new Readable({
      read() {
        this.push(Buffer.alloc(100));
        this.destroy(new Error('connection reset'));
      },
    });
    await expect(blobs.put(good, failing, { maxBytes: 1 << 20 })).rejects.toThrow(
      'connection reset',
    );
    expect(await filesUnder(join(tmp(), 'blobs'))).toEqual([]);
  });
});
