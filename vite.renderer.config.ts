// Vite build of the web GUI (renderer/) into dist/renderer, which the coordinator serves at `/`.
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('./renderer', import.meta.url)),
  base: './',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('./dist/renderer', import.meta.url)),
    emptyOutDir: true,
    sourcemap: true,
    target: 'es2022',
    rollupOptions: {
      // zod's sources carry /* @__PURE__ */ comments rollup cannot place; harmless, and noisy.
      onwarn(warning, warn) {
        if (warning.code !== 'INVALID_ANNOTATION') warn(warning);
      },
    },
  },
  server: {
    // `npx vite --config vite.renderer.config.ts` with a coordinator on :7070 for live editing.
    proxy: { '/api': 'http://127.0.0.1:7070' },
  },
});
