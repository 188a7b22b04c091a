import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Built assets are served by the api (same origin, strict CSP): no inline scripts, no CDN.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 6000,
    modulePreload: { polyfill: false },
  },
  worker: { format: 'es' },
});
