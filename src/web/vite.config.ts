/**
 * Vite config for the web page. Root is this folder; the build goes to <repo>/dist/web, which the
 * api serves in production. In dev, the api's routes are proxied to it on 127.0.0.1:3000.
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const outDir = fileURLToPath(new URL('../../dist/web', import.meta.url));
const api = process.env.NWS_API_URL ?? 'http://127.0.0.1:3000';

const proxied = ['/upload', '/presets', '/status', '/image', '/events', '/healthz'];

export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
  },
  server: {
    proxy: Object.fromEntries(proxied.map((path) => [path, { target: api, changeOrigin: false }])),
  },
  preview: {
    proxy: Object.fromEntries(proxied.map((path) => [path, { target: api, changeOrigin: false }])),
  },
});
