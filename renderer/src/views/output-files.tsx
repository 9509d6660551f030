// A task's output files: download links, and thumbnails of images made here from the blob.
import { useEffect, useState } from 'react';
import { request } from '../api.js';
import { ErrorText } from '../components.js';

export interface OutputFile {
  name: string;
  sha256: string;
  size: number;
}

/** Output files recorded on a task's output (the store puts them under `files`). */
export function outputFilesOf(output: unknown): OutputFile[] {
  if (typeof output !== 'object' || output === null || !('files' in output)) return [];
  const files = output.files;
  if (!Array.isArray(files)) return [];
  return files.filter(
    (f): f is OutputFile =>
      typeof f === 'object' &&
      f !== null &&
      typeof (f as OutputFile).name === 'string' &&
      typeof (f as OutputFile).sha256 === 'string' &&
      /^[0-9a-f]{64}$/.test((f as OutputFile).sha256) &&
      typeof (f as OutputFile).size === 'number',
  );
}

const IMAGE_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  svg: 'image/svg+xml',
};

/** The image type of a file by its name, or null when it is not a picture we show. */
export function imageType(name: string): string | null {
  const ext = /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase() ?? '';
  return IMAGE_TYPES[ext] ?? null;
}

/** Pictures larger than this are listed, not fetched for a thumbnail. */
export const MAX_THUMB_SOURCE = 20 * 1024 * 1024;
const THUMB_PX = 240;
const PARALLEL = 4;
const KEEP = 400;

export function sizeText(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Fetch a blob with the admin token (a plain link cannot carry the header). */
async function fetchBlob(sha256: string, type: string): Promise<Blob> {
  const data = await (await request('GET', `/blobs/${sha256}`)).arrayBuffer();
  return new Blob([data], { type });
}

/**
 * Raster pictures are scaled down to a small PNG here (the full picture is then let go); SVG and
 * GIF are shown as they are, through an <img> from a blob URL, which runs no script in an SVG.
 */
async function makeThumbnail(file: OutputFile, type: string): Promise<string> {
  const blob = await fetchBlob(file.sha256, type);
  if (type === 'image/svg+xml' || type === 'image/gif') return URL.createObjectURL(blob);
  try {
    const bitmap = await createImageBitmap(blob);
    const scale = Math.min(1, THUMB_PX / Math.max(bitmap.width, bitmap.height));
    const w = Math.max(1, Math.round(bitmap.width * scale));
    const h = Math.max(1, Math.round(bitmap.height * scale));
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    const ctx = canvas.getContext('2d');
    if (!ctx) return URL.createObjectURL(blob);
    ctx.imageSmoothingQuality = 'medium';
    ctx.drawImage(bitmap, 0, 0, w, h);
    bitmap.close();
    const small = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png'));
    return URL.createObjectURL(small ?? blob);
  } catch {
    throw new Error('not a readable picture');
  }
}

// Thumbnails by blob hash, shared by the task panel and the contact sheet; a few fetched at once.
const cache = new Map<string, Promise<string>>();
let active = 0;
const waiting: (() => void)[] = [];

async function slot<T>(work: () => Promise<T>): Promise<T> {
  if (active >= PARALLEL) await new Promise<void>((r) => waiting.push(r));
  active++;
  try {
    return await work();
  } finally {
    active--;
    waiting.shift()?.();
  }
}

function thumbnail(file: OutputFile, type: string): Promise<string> {
  let url = cache.get(file.sha256);
  if (!url) {
    url = slot(() => makeThumbnail(file, type));
    url.catch(() => cache.delete(file.sha256));
    cache.set(file.sha256, url);
    if (cache.size > KEEP) {
      const [oldest, gone] = cache.entries().next().value as [string, Promise<string>];
      cache.delete(oldest);
      void gone.then(
        (u) => setTimeout(() => URL.revokeObjectURL(u), 5000),
        () => undefined,
      );
    }
  }
  return url;
}

export function Thumbnail({ file, label }: { file: OutputFile; label?: string }) {
  const type = imageType(file.name);
  const tooBig = file.size > MAX_THUMB_SOURCE;
  const [url, setUrl] = useState<string | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  useEffect(() => {
    if (!type || tooBig) return;
    let stopped = false;
    thumbnail(file, type).then(
      (u) => !stopped && setUrl(u),
      (err: unknown) => !stopped && setFailed(err instanceof Error ? err.message : String(err)),
    );
    return () => {
      stopped = true;
    };
  }, [file, type, tooBig]);
  if (!type) return null;
  if (tooBig)
    return <span className="thumb thumb-none">too large to preview ({sizeText(file.size)})</span>;
  if (failed) return <span className="thumb thumb-none">no preview: {failed}</span>;
  if (!url) return <span className="thumb thumb-none">loading…</span>;
  return <img className="thumb" src={url} alt={label ?? file.name} data-testid="thumbnail" />;
}

/** Save a blob under its file name (the last part of its path). */
async function save(file: OutputFile): Promise<void> {
  const blob = await fetchBlob(file.sha256, 'application/octet-stream');
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = file.name.split('/').pop() || file.sha256;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export function OutputFiles({ files }: { files: OutputFile[] }) {
  const [error, setError] = useState<unknown>(null);
  if (files.length === 0) return null;
  return (
    <>
      <h3>Output files ({files.length})</h3>
      <ul className="output-files" data-testid="output-files">
        {files.map((f) => (
          <li key={`${f.name}:${f.sha256}`}>
            <Thumbnail file={f} />
            <a
              href={`#download-${f.sha256}`}
              onClick={(e) => {
                e.preventDefault();
                void save(f).then(() => setError(null), setError);
              }}
              download={f.name.split('/').pop()}
              title={`Download ${f.name} (sha256 ${f.sha256})`}
            >
              {f.name}
            </a>{' '}
            <span className="muted">{sizeText(f.size)}</span>
          </li>
        ))}
      </ul>
      <ErrorText error={error} />
    </>
  );
}
