// Builds what runs: the CLI and server (dist/cli), the Electron main and preload (dist/electron),
// and the console (dist/renderer, with Vite). Each part is rebuilt only when its sources changed.
import fs from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
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

const AGENT_MINIFY = true;
const SERVER_MINIFY = process.env.OUTPOST_SERVER_MINIFY !== '0';
const nodeInputs = ['lib', 'core', 'cli', 'agents', 'electron', 'package.json', 'scripts/build.mjs'];

/**
 * What the CLI, server and agent bundle leaves outside (issue 18, ADR 0541): native addons (loaded from
 * node_modules by their own loaders), pino (its worker-thread transports load files by path) and Electron.
 * Every other dependency is bundled, so a start reads a few chunks instead of ~1,200 module files.
 */
const NOT_BUNDLED = [
  'better-sqlite3',
  'serialport',
  '@serialport/*',
  'pino',
  'pino-*',
  'thread-stream',
  'electron',
];
/**
 * What the server's one-file bundle leaves outside: as NOT_BUNDLED, but pino is in it (ADR 0561). The
 * server logs through `pino.destination` and never starts a transport (the only part of pino that loads
 * files by path); outside the bundle pino was ~23 ms of every start compiled without the code cache.
 */
const SERVER_NOT_BUNDLED = NOT_BUNDLED.filter((n) => !['pino', 'pino-*', 'thread-stream'].includes(n));
/**
 * Packages the server imports only on first use (`await import()`: git, OCI pulls, building certificates,
 * mDNS): left out of the server's one-file bundle and required from node_modules when first used, so a
 * start neither reads nor keeps their source (ADR 0560). The ESM build has them in chunks of their own.
 */
const CJS_WRAPPER_OPEN = '(function (exports, require, module, __filename, __dirname) {';
const SERVER_REQUIRED_LATER = ['undici', 'isomorphic-git', '@peculiar/x509', '@homebridge/ciao'];
const notBundled = (p) =>
  NOT_BUNDLED.some((n) =>
    n.endsWith('*') ? p.startsWith(n.slice(0, -1)) : p === n || p.startsWith(`${n}/`),
  );

/**
 * Our own modules do no work at import time (CONTRIBUTING), so a module none of whose exports is used may
 * be left out: importing `createChannelClient` from lib/contract does not bring every schema (and zod).
 */
const ownCodeIsPure = {
  name: 'own-code-is-pure',
  setup(b) {
    const own = new RegExp(`^${root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/(lib|core|cli|agents)/`);
    b.onResolve({ filter: /^\./ }, async (args) => {
      if (args.pluginData === ownCodeIsPure) return undefined;
      const r = await b.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: ownCodeIsPure,
      });
      if (r.errors.length > 0 || !own.test(r.path)) return undefined;
      return { path: r.path, sideEffects: false };
    });
  },
};

/**
 * With code splitting a module goes into a chunk shared by every entry that can reach it, and a part's
 * `index.ts` reaches all of the part. lib/contract's index leads to every schema (and zod), which the
 * server uses, so edgectl's start (cli/lib: finding the server, calling it, printing) would load them all.
 * For modules under cli/lib, its index is replaced by the files they need; an import missing from these
 * fails the build (add its file here).
 */
const SLIM_INDEXES = {
  'lib/contract/index.ts': [
    'client.ts',
    'http-transport.ts',
    'format.ts',
    'define.ts',
    'command-channels.ts',
  ],
  'lib/model/index.ts': ['patterns.ts'],
};
const slimIndexes = {
  name: 'slim-indexes',
  setup(b) {
    const startPath = path.join(root, 'cli', 'lib') + path.sep;
    b.onResolve({ filter: /\/index\.js$/ }, (args) => {
      if (!args.importer.startsWith(startPath)) return undefined;
      const target = path.relative(root, path.resolve(args.resolveDir, args.path)).replace(/\.js$/, '.ts');
      if (!SLIM_INDEXES[target]) return undefined;
      return { path: target, namespace: 'slim-index' };
    });
    b.onLoad({ filter: /.*/, namespace: 'slim-index' }, (args) => ({
      contents: SLIM_INDEXES[args.path]
        .map((f) => `export * from ${JSON.stringify(path.join(root, path.dirname(args.path), f))};`)
        .join('\n'),
      loader: 'js',
      resolveDir: root,
    }));
  },
};

/**
 * The same for the agent's static imports (issue 18, ADR 0546): the agent imports a few names of lib/oci
 * (references, media types) at start and the OCI client itself with `await import()` on its first pull.
 * esbuild splits by file, and a part's index reaches every file of the part, so the static import put
 * the whole client (with tar-stream) into a chunk the idle agent loads. Static imports of these indexes
 * get only the files listed (a name missing from them fails the build); `await import()` keeps the index.
 */
const AGENT_STATIC_INDEXES = {
  'lib/oci/index.ts': ['reference.ts', 'media-types.ts'],
};
const agentStaticIndexes = {
  name: 'agent-static-indexes',
  setup(b) {
    b.onResolve({ filter: /\/index\.js$/ }, (args) => {
      if (args.kind !== 'import-statement') return undefined;
      const target = path.relative(root, path.resolve(args.resolveDir, args.path)).replace(/\.js$/, '.ts');
      if (!AGENT_STATIC_INDEXES[target]) return undefined;
      if (path.dirname(path.resolve(root, target)) === path.dirname(args.importer)) return undefined;
      return { path: target, namespace: 'agent-static-index' };
    });
    b.onLoad({ filter: /.*/, namespace: 'agent-static-index' }, (args) => ({
      contents: AGENT_STATIC_INDEXES[args.path]
        .map((f) => `export * from ${JSON.stringify(path.join(root, path.dirname(args.path), f))};`)
        .join('\n'),
      loader: 'js',
      resolveDir: root,
    }));
  },
};

/**
 * `await import('pkg')` of a bundled CommonJS package: with code splitting esbuild makes its chunk export
 * only `default` (module.exports), where Node also gives its named exports (`(await import('undici'))
 * .Agent`). Such an import gets a module that re-exports the package's names, read by requiring the
 * package here; ES module packages, Node's own modules and NOT_BUNDLED ones are left as they are.
 */
const cjsDynamicImports = {
  name: 'cjs-dynamic-imports',
  setup(b) {
    const requireHere = createRequire(path.join(root, 'package.json'));
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.kind !== 'dynamic-import' || isBuiltin(args.path) || notBundled(args.path)) return undefined;
      let names;
      try {
        const m = requireHere(args.path);
        if (m === null || (typeof m !== 'object' && typeof m !== 'function')) return undefined;
        names = Object.keys(m).filter((n) => n !== 'default' && n !== '__esModule');
      } catch {
        return undefined; // an ES module package (or not requirable): esbuild's own handling is right
      }
      return { path: args.path, namespace: 'cjs-dynamic-import', pluginData: names };
    });
    b.onLoad({ filter: /.*/, namespace: 'cjs-dynamic-import' }, (args) => ({
      contents: [
        `import * as m from ${JSON.stringify(args.path)};`,
        `export default m.default;`,
        ...args.pluginData.map(
          (n, i) => `const x${i} = m[${JSON.stringify(n)}]; export { x${i} as ${JSON.stringify(n)} };`,
        ),
      ].join('\n'),
      loader: 'js',
      resolveDir: root,
    }));
  },
};

/**
 * V8 keeps a script's source for as long as the process runs, in one byte per character only if every
 * character fits in one; esbuild leaves a few non-ASCII characters (in regular expressions and comments),
 * which made the server's 6 MB source take 12 MB. Each is written as a \\u escape, which means the same
 * in strings, regular expressions, identifiers and comments (not in String.raw templates, which the bundle
 * has none of with such characters).
 */
function asciiOnly(file) {
  const src = fs.readFileSync(file, 'utf8');
  if (!/[\u0080-\uffff]/.test(src)) return;
  const out = src.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  fs.writeFileSync(file, out);
}

/**
 * lib/log requires pino on the first logger with `createRequire(import.meta.url)('pino')` (ADR 0546),
 * which no bundler follows. In the server's CommonJS bundle it becomes `require('pino')`, which esbuild
 * bundles and still evaluates only on that first call (ADR 0561).
 */
const PINO_LOAD = "createRequire(import.meta.url)('pino')";
const pinoInBundle = {
  name: 'pino-in-bundle',
  setup(b) {
    b.onLoad({ filter: /[\\/]lib[\\/]log[\\/]pino-logger\.ts$/ }, (args) => {
      const src = fs.readFileSync(args.path, 'utf8');
      if (!src.includes(PINO_LOAD)) throw new Error(`${args.path} no longer loads pino with ${PINO_LOAD}`);
      return { contents: src.replace(PINO_LOAD, "require('pino')"), loader: 'ts' };
    });
  },
};

/**
 * In the CommonJS server bundle, `await import('x')` of Node's own modules and of NOT_BUNDLED packages
 * (all CommonJS) becomes a `require`: a script compiled with vm.Script (the code cache) has no `import()`
 * without Node's experimental flags.
 */
const dynamicImportsAsRequire = {
  name: 'dynamic-imports-as-require',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      const external =
        isBuiltin(args.path) || notBundled(args.path) || SERVER_REQUIRED_LATER.includes(args.path);
      if (args.kind !== 'dynamic-import' || !external) return undefined;
      return { path: args.path, namespace: 'require-external' };
    });
    b.onLoad({ filter: /.*/, namespace: 'require-external' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
      resolveDir: root,
    }));
  },
};

// Code bundled from CommonJS packages calls `require` (Node built-ins, mostly); an ES module has none.
const esmRequire = {
  js: "import { createRequire as __outpostCreateRequire } from 'node:module'; const require = __outpostCreateRequire(import.meta.url);",
};

/**
 * Chunks are named by their content; a server or agent started from an earlier build may still load its
 * lazy chunks, so the build removes only chunks no entry of the new build uses that are over a day old.
 */
function pruneChunks(dir, keep) {
  const cutoff = Date.now() - 86_400_000;
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir)) {
    const file = path.join(dir, e);
    if (keep.has(file.replace(/\.map$/, ''))) continue;
    if (fs.statSync(file).mtimeMs < cutoff) fs.rmSync(file, { force: true });
  }
}

if (stale('dist/cli/edgectl.js', nodeInputs)) {
  const result = await build({
    ...common,
    packages: undefined,
    external: NOT_BUNDLED,
    banner: esmRequire,
    plugins: [slimIndexes, cjsDynamicImports, ownCodeIsPure],
    metafile: true,
    entryPoints: { edgectl: 'cli/edgectl.ts', 'main-entry': 'cli/main.ts' },
    outdir: 'dist/cli',
    format: 'esm',
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    absWorkingDir: root,
  });
  if (process.env.OUTPOST_BUILD_META)
    fs.writeFileSync(process.env.OUTPOST_BUILD_META, JSON.stringify(result.metafile));
  pruneChunks(
    path.join(root, 'dist', 'cli', 'chunks'),
    new Set(Object.keys(result.metafile.outputs).map((o) => path.join(root, o))),
  );
  console.log('built dist/cli');
}

// `edgectl server` (bin/edgectl.js chooses this entry): the same program as one CommonJS file, which the
// launcher compiles with V8's code cache (lib/base/code-cache.ts): Node 20 caches no compilation of ES
// modules, and compiling the server's chunks was ~half of its start (issue 18, ADR 0560). `import.meta.url`
// is the bundle's own URL (lib/base/resources.ts walks up from it to the project root).
if (stale('dist/cli/server.cjs', nodeInputs)) {
  await build({
    ...common,
    packages: undefined,
    external: [...SERVER_NOT_BUNDLED, ...SERVER_REQUIRED_LATER],
    plugins: [slimIndexes, ownCodeIsPure, dynamicImportsAsRequire, pinoInBundle],
    define: { ...common.define, 'import.meta.url': '__outpostModuleUrl' },
    // Written as the function CommonJS wraps a module in (lib/base/code-cache.ts compiles the file as it
    // is: wrapping it at run time would keep a second copy of the source).
    banner: {
      js: `${CJS_WRAPPER_OPEN}\nconst __outpostModuleUrl = require('node:url').pathToFileURL(__filename).href;`,
    },
    footer: { js: '\n})' },
    minifyWhitespace: SERVER_MINIFY,
    minifySyntax: SERVER_MINIFY,
    keepNames: SERVER_MINIFY,
    entryPoints: { server: 'cli/server-entry.ts' },
    outExtension: { '.js': '.cjs' },
    outdir: 'dist/cli',
    format: 'cjs',
    absWorkingDir: root,
  });
  asciiOnly(path.join(root, 'dist', 'cli', 'server.cjs'));
  await build({
    ...common,
    entryPoints: { 'code-cache': 'cli/code-cache-entry.ts' },
    outdir: 'dist/cli',
    format: 'esm',
    absWorkingDir: root,
  });
  console.log('built dist/cli/server.cjs');
}

// The agent (`edgectl agent` running it; bin/edgectl.js chooses this entry): its own build and chunks,
// so the long-lived agent loads only the agent, not the CLI's command groups, the contract's schemas and
// zod that the CLI's shared chunks would bring (issue 18, ADR 0543). Minified: V8 keeps every loaded
// script's source in the heap for as long as the process runs.
if (stale('dist/cli/agent.js', nodeInputs)) {
  const result = await build({
    ...common,
    packages: undefined,
    external: NOT_BUNDLED,
    banner: esmRequire,
    plugins: [slimIndexes, agentStaticIndexes, cjsDynamicImports, ownCodeIsPure],
    metafile: true,
    minify: AGENT_MINIFY,
    keepNames: AGENT_MINIFY,
    entryPoints: { agent: 'cli/agent.ts' },
    outdir: 'dist/cli',
    format: 'esm',
    splitting: true,
    chunkNames: 'agent-chunks/[name]-[hash]',
    absWorkingDir: root,
  });
  if (process.env.OUTPOST_BUILD_META)
    fs.writeFileSync(`${process.env.OUTPOST_BUILD_META}.agent`, JSON.stringify(result.metafile));
  pruneChunks(
    path.join(root, 'dist', 'cli', 'agent-chunks'),
    new Set(Object.keys(result.metafile.outputs).map((o) => path.join(root, o))),
  );
  console.log('built dist/cli/agent.js');
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

// The sample application's WASM module (resources/samples/hello-wasm): compiled from its WAT source with
// wabt, next to it, so `edgectl oci push resources/samples/hello-wasm/hello.wasm ...` works as the README
// says. The result is deterministic and kept in the repository (test/integration/sample-app.test.ts).
const sampleWat = 'resources/samples/hello-wasm/hello.wat';
const sampleWasm = 'resources/samples/hello-wasm/hello.wasm';
if (stale(sampleWasm, [sampleWat])) {
  const wabt = await (await import('wabt')).default();
  const mod = wabt.parseWat(path.basename(sampleWat), fs.readFileSync(path.join(root, sampleWat), 'utf8'));
  try {
    const bytes = Buffer.from(mod.toBinary({}).buffer);
    const file = path.join(root, sampleWasm);
    let same = false;
    try {
      same = fs.readFileSync(file).equals(bytes);
    } catch {
      // not there yet
    }
    if (!same) {
      fs.writeFileSync(`${file}.tmp`, bytes);
      fs.renameSync(`${file}.tmp`, file);
    } else fs.utimesSync(file, new Date(), new Date());
  } finally {
    mod.destroy();
  }
  console.log(`built ${sampleWasm}`);
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
  // Precompressed copies (brotli and gzip) that the server sends to browsers that accept them.
  const zlib = await import('node:zlib');
  for (const f of fs.readdirSync(tmp, { recursive: true, encoding: 'utf8' })) {
    if (!/\.(js|css|html|svg|json)$/.test(f)) continue;
    const body = fs.readFileSync(path.join(tmp, f));
    if (body.length < 1024) continue;
    fs.writeFileSync(
      path.join(tmp, f + '.br'),
      zlib.brotliCompressSync(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }),
    );
    fs.writeFileSync(path.join(tmp, f + '.gz'), zlib.gzipSync(body, { level: 9 }));
  }
  const final = path.join(root, 'dist', 'renderer');
  const old = path.join(root, 'dist', `.renderer-old-${process.pid}`);
  if (fs.existsSync(final)) fs.renameSync(final, old);
  fs.renameSync(tmp, final);
  fs.rmSync(old, { recursive: true, force: true });
  console.log('built dist/renderer');
}
