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
    rolldownOptions: {
      treeshake: {
        // Our own modules do no work at import time (CONTRIBUTING): one whose exports are unused is left
        // out, as the CLI build does (scripts/build.mjs). A schema built at the top of a module
        // (`z.object(...)`) is pure too, so the first script does not carry zod for the one helper it
        // imports from a module that also defines schemas (ADR 0234).
        moduleSideEffects: [{ test: /[\\/]lib[\\/]/, sideEffects: false }],
        manualPureFunctions: ['z'],
      },
    },
  },
  server: { port: 5173, strictPort: false },
});
