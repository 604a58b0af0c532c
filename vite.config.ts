import crypto from 'node:crypto';
import { build } from 'esbuild';
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

/**
 * The early script (renderer/early.ts, ADR 0234): a classic script of its own, hashed like the other
 * assets, at the end of index.html's head. It is not `async`: the console's module scripts run only
 * once the page is parsed, so it always runs before them (an `async` one sometimes ran after them on a
 * loaded machine, and its calls were then asked twice); the browser still fetches the modules while it
 * waits for it. Built only for the shipped console (`vite` dev does without: the console then asks
 * when it starts).
 */
function earlyScript(): Plugin {
  let fileName = '';
  let code = '';
  return {
    name: 'outpost-early-script',
    apply: 'build',
    async buildStart() {
      const out = await build({
        entryPoints: ['renderer/early.ts'],
        bundle: true,
        write: false,
        format: 'iife',
        minify: true,
        target: 'es2022',
        logLevel: 'warning',
      });
      code = out.outputFiles[0]!.text;
      const hash = crypto.createHash('sha256').update(code).digest('base64url').slice(0, 8);
      fileName = `assets/early-${hash}.js`;
    },
    generateBundle() {
      this.emitFile({ type: 'asset', fileName, source: code });
    },
    transformIndexHtml: {
      order: 'post',
      handler: () => [{ tag: 'script', attrs: { src: `./${fileName}` }, injectTo: 'head' }],
    },
  };
}

// The console (renderer): one build served by the headless server (web portal) and loaded by Electron.
export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [react(), earlyScript()],
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
