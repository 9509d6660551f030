// Serves the built renderer (the web GUI): one public route per file it holds, so anything else is
// the router's 404 and no path spelling can reach a file outside it.
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** Where `vite build` puts the renderer: `dist/renderer` at the repository (or package) root. */
export function findRendererDir(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  // From the sources (electron/grid) or from the build (dist/electron/grid).
  const roots = [resolve(here, '../..'), resolve(here, '../../..')];
  return roots
    .map((root) => join(root, 'dist', 'renderer'))
    .find((dir) => existsSync(join(dir, 'index.html')));
}

/** Files a route may name literally: the build's own names, nothing a router would read as syntax. */
const PLAIN_NAME = /^[\w.-]+(\/[\w.-]+)*$/;

/**
 * The HTML shell and its assets carry no data, so they are public. The GUI routes by the URL's
 * fragment, so `/` (and `/index.html`) is the only page; the files are listed once at start.
 */
export function serveRenderer(app: FastifyInstance, root: string | undefined): void {
  const public_ = { config: { access: 'public' as const } };
  if (!root || !existsSync(join(root, 'index.html'))) {
    app.get('/', public_, (_req, reply) =>
      reply
        .code(404)
        .type('text/plain')
        .send('The GUI is not built: run `npm run build`, then reload.\n'),
    );
    return;
  }
  // Only for `reply.sendFile`; loaded with the other plugins when the server starts.
  void app.register(fastifyStatic, { root, serve: false });
  const files = readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => relative(root, join(d.parentPath, d.name)).split(sep).join('/'))
    .filter((f) => PLAIN_NAME.test(f) && !f.endsWith('.map'));
  const shell = (_req: unknown, reply: FastifyReply) =>
    reply.header('cache-control', 'no-cache').sendFile('index.html', { maxAge: 0 });
  app.get('/', public_, shell);
  for (const file of files) {
    if (file === 'index.html') {
      app.get('/index.html', public_, shell);
      continue;
    }
    // Hashed asset names never change content; the shell must be re-read to pick up new ones.
    const immutable = file.startsWith('assets/');
    app.get(`/${file}`, public_, (_req, reply) =>
      immutable ? reply.sendFile(file, { maxAge: '365d', immutable: true }) : reply.sendFile(file),
    );
  }
}
