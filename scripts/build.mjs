// Builds what runs: the CLI and server (dist/cli), the Electron main and preload (dist/electron),
// and the console (dist/renderer, with Vite). Each part is rebuilt only when its sources changed.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const force = process.argv.includes('--force');

function newest(dirs) {
  let t = 0;
  const walk = (p) => {
    let st;
    try {
      st = fs.statSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      if (p.endsWith('node_modules') || p.endsWith(`${path.sep}dist`)) return;
      for (const e of fs.readdirSync(p)) walk(path.join(p, e));
    } else if (!/\.test\.tsx?$/.test(p)) t = Math.max(t, st.mtimeMs);
  };
  for (const d of dirs) walk(path.join(root, d));
  return t;
}

function stale(output, inputs) {
  if (force) return true;
  try {
    return fs.statSync(path.join(root, output)).mtimeMs < newest(inputs);
  } catch {
    return true;
  }
}

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
  define: { __OUTPOST_VERSION__: JSON.stringify(pkg.version) },
};

const nodeInputs = ['lib', 'core', 'cli', 'agents', 'electron', 'package.json'];

if (stale('dist/cli/edgectl.js', nodeInputs)) {
  await build({
    ...common,
    entryPoints: { edgectl: 'cli/edgectl.ts', 'main-entry': 'cli/main.ts' },
    outdir: 'dist/cli',
    format: 'esm',
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    absWorkingDir: root,
  });
  console.log('built dist/cli');
}

// The WASM workload runner: a standalone script the agent starts as a detached process per workload
// (agents/runtimes/wasm/runner.ts; the adapter finds it next to the CLI bundle).
if (stale('dist/cli/wasm-runner.js', ['agents/runtimes', 'lib', 'package.json'])) {
  await build({
    ...common,
    entryPoints: { 'wasm-runner': 'agents/runtimes/wasm/runner.ts' },
    outdir: 'dist/cli',
    format: 'esm',
    absWorkingDir: root,
  });
  console.log('built dist/cli/wasm-runner.js');
}

// The SMP device simulator (lib/smp/testing): a process on one end of a PTY pair, for the
// integration tests and benchmarks of `edgectl smp`, and for trying it without a board.
if (stale('dist/cli/smp-simulator.js', ['lib/smp', 'lib/errors', 'lib/base', 'package.json'])) {
  await build({
    ...common,
    entryPoints: { 'smp-simulator': 'lib/smp/testing/simulator-cli.ts' },
    outdir: 'dist/cli',
    format: 'esm',
    absWorkingDir: root,
  });
  console.log('built dist/cli/smp-simulator.js');
}

if (stale('dist/electron/main.js', nodeInputs)) {
  await build({
    ...common,
    entryPoints: { main: 'electron/main.ts' },
    outdir: 'dist/electron',
    format: 'esm',
    external: ['electron'],
    absWorkingDir: root,
  });
  await build({
    ...common,
    entryPoints: { preload: 'electron/preload.ts' },
    outdir: 'dist/electron',
    outExtension: { '.js': '.cjs' },
    format: 'cjs',
    external: ['electron'],
    absWorkingDir: root,
  });
  console.log('built dist/electron');
}

// The console imports the contract and, through it, the browser-safe parts of lib (errors, the Margo
// model): any change under lib/ may change it. Built into a temporary folder and swapped in, so a server
// running meanwhile never serves a half-written console; always a production build (not NODE_ENV=test).
if (stale('dist/renderer/index.html', ['renderer', 'lib', 'vite.config.ts'])) {
  const { build: viteBuild } = await import('vite');
  const tmp = path.join(root, 'dist', `.renderer-${process.pid}`);
  await viteBuild({
    configFile: path.join(root, 'vite.config.ts'),
    logLevel: 'warn',
    mode: 'production',
    build: { outDir: tmp, emptyOutDir: true },
  });
  const final = path.join(root, 'dist', 'renderer');
  const old = path.join(root, 'dist', `.renderer-old-${process.pid}`);
  if (fs.existsSync(final)) fs.renameSync(final, old);
  fs.renameSync(tmp, final);
  fs.rmSync(old, { recursive: true, force: true });
  console.log('built dist/renderer');
}
