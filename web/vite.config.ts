import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

// The dashboard: built into web/dist, which `buildgrid serve` serves at /. `npm run web:dev` runs Vite's dev server
// and forwards /api to a BuildGrid on BUILDGRID_DEV_SERVER (default http://127.0.0.1:5000).
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 600 },
  server: {
    proxy: { '/api': { target: process.env.BUILDGRID_DEV_SERVER ?? 'http://127.0.0.1:5000', changeOrigin: false } },
  },
});
