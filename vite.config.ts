import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The console (renderer): one build served by the headless server (web portal) and loaded by Electron.
export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [react()],
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
    // No source maps in the shipped console (6.7 MB the portal served to anyone); `vite` dev has them.
    sourcemap: false,
    chunkSizeWarningLimit: 2000,
  },
  server: { port: 5173, strictPort: false },
});
