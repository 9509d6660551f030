// Serves the built renderer (the web GUI) at `/`, public, ahead of the admin-token hook of routes.ts.
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { API_PREFIX } from '../../../shared/api.js';

/** Where `vite build` puts the renderer: `dist/renderer` at the repository (or package) root. */
export function findRendererDir(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  // From the sources (electron/grid/coordinator) or from the build (dist/electron/grid/coordinator).
  const roots = [resolve(here, '../../..'), resolve(here, '../../../..')];
  return roots
    .map((root) => join(root, 'dist', 'renderer'))
    .find((dir) => existsSync(join(dir, 'index.html')));
}

/**
 * The HTML shell and its assets carry no data, so they are public; the API is not (routes.ts
 * guards `/api/v1/`). Served from a hook so that every non-API path, deep links included, gets
 * the shell without a catch-all route competing with the API's 404s.
 */
export function serveRenderer(app: FastifyInstance, root: string | undefined): void {
  // Only for `reply.sendFile`; loaded with the other plugins when the server starts.
  if (root) void app.register(fastifyStatic, { root, serve: false });
  app.addHook('onRequest', async (req, reply) => {
    const path = decodeURIComponent(req.url.split('?')[0] ?? '/');
    if (path === API_PREFIX || path.startsWith(`${API_PREFIX}/`)) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') return;
    if (!root)
      return reply
        .code(404)
        .type('text/plain')
        .send('The GUI is not built: run `npm run build`, then reload.\n');
    const file = resolve(root, `.${path}`);
    const isAsset = file.startsWith(root + sep) && existsSync(file) && statSync(file).isFile();
    // Hashed asset names never change content; the shell must be re-read to pick up new ones.
    if (isAsset && path.startsWith('/assets/'))
      return reply.sendFile(file.slice(root.length + 1), { maxAge: '365d', immutable: true });
    if (isAsset) return reply.sendFile(file.slice(root.length + 1));
    return reply.header('cache-control', 'no-cache').sendFile('index.html', { maxAge: 0 });
  });
}
