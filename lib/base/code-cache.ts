import { isAscii } from 'node:buffer';
import fs from 'node:fs';
import Module, { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';

/**
 * Runs a CommonJS bundle with V8's code cache (ADR 0560). Node 20 caches the compilation of neither ES
 * modules nor CommonJS files, so every start of `edgectl server` parsed and compiled ~5 MB of JavaScript
 * before doing anything (~200-300 ms of a ~500 ms start). Here the bundle is compiled with the bytes V8
 * produced on an earlier run, which V8 checks itself (its version, its flags, the source's length) and
 * rejects when they do not match; a rejected or missing cache only means an ordinary compile.
 *
 * The cache is written once the program says it is warm (`process.emit('outpost:warm')`, after the
 * server started), so it holds the functions a start compiles, not only the top level.
 */

export type CodeCacheState =
  /** The cache was there and V8 took it. */
  | 'used'
  /** The cache was there and V8 refused it (another Node, other flags, another build). */
  | 'rejected'
  /** No cache yet. */
  | 'absent'
  /** Turned off (`OUTPOST_CODE_CACHE=off`) or no folder could hold it. */
  | 'off';

export interface CachedRun {
  state: CodeCacheState;
  /** The cache file (written or read), when there is a folder for it. */
  cacheFile?: string;
  /** Writes the cache now (atomically), unless V8 used the existing one. True if written. */
  writeCache(): boolean;
  /** What the file put in `module.exports`. */
  exports: unknown;
}

export interface CodeCacheOptions {
  /** Where caches are kept; default `$OUTPOST_CODE_CACHE_DIR`, else `$XDG_CACHE_HOME/outpost`, else ~/.cache/outpost. */
  cacheDir?: string;
  /** Write the cache when the process emits `outpost:warm` (default true). */
  writeWhenWarm?: boolean;
}

/** How CommonJS wraps a module's code (Node's Module.wrap); a bundle may be written so already. */
export const CJS_WRAPPER_OPEN = '(function (exports, require, module, __filename, __dirname) {';

/** The default folder for code caches: per user, like any other cache. */
export function defaultCodeCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.OUTPOST_CODE_CACHE === 'off') return undefined;
  if (env.OUTPOST_CODE_CACHE_DIR) return env.OUTPOST_CODE_CACHE_DIR;
  const base = env.XDG_CACHE_HOME || (os.homedir() ? path.join(os.homedir(), '.cache') : undefined);
  return base ? path.join(base, 'outpost') : undefined;
}

/**
 * The cache's name says which file and build it is for (name, size, modification time) and for which V8
 * and CPU architecture, so a rebuilt bundle or another Node never reads another's cache.
 */
function cacheName(file: string, st: fs.Stats): string {
  const v8 = process.versions.v8.replace(/[^0-9a-z.-]/gi, '_');
  return `${path.basename(file)}-${st.size}-${Math.trunc(st.mtimeMs)}-${v8}-${process.arch}.v8cache`;
}

/** Runs `file` (CommonJS) as the main program's code, compiled from the code cache when there is one. */
export function runWithCodeCache(file: string, options: CodeCacheOptions = {}): CachedRun {
  const st = fs.statSync(file);
  // A bundle written as the CommonJS wrapper function is compiled as it is (no second copy of a source
  // V8 keeps for the life of the process); in one byte per character if it is ASCII (scripts/build.mjs).
  const raw = fs.readFileSync(file);
  const source = raw.toString(isAscii(raw) ? 'latin1' : 'utf8');
  const wrapped = source.startsWith(CJS_WRAPPER_OPEN) ? source : Module.wrap(source);
  const dir = options.cacheDir ?? defaultCodeCacheDir();
  const cacheFile = dir ? path.join(dir, cacheName(file, st)) : undefined;
  let cachedData: Buffer | undefined;
  if (cacheFile) {
    try {
      cachedData = fs.readFileSync(cacheFile);
    } catch {
      // none yet (or unreadable: an ordinary compile)
    }
  }
  const script = new vm.Script(wrapped, {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
  });
  const state: CodeCacheState = !cacheFile
    ? 'off'
    : !cachedData
      ? 'absent'
      : script.cachedDataRejected
        ? 'rejected'
        : 'used';

  const writeCache = (): boolean => {
    if (!cacheFile || !dir || state === 'used') return false;
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
      fs.renameSync(tmp, cacheFile);
      // Caches of earlier builds of the same file are of no use any more.
      const prefix = `${path.basename(file)}-`;
      for (const e of fs.readdirSync(dir)) {
        if (e.startsWith(prefix) && e.endsWith('.v8cache') && e !== path.basename(cacheFile))
          fs.rmSync(path.join(dir, e), { force: true });
      }
      return true;
    } catch {
      return false; // a cache that cannot be written only means the next start compiles again
    }
  };
  if (state !== 'used' && state !== 'off' && options.writeWhenWarm !== false) {
    (process as NodeJS.EventEmitter).once('outpost:warm', () => setImmediate(writeCache));
  }

  const mod = { exports: {} as unknown, filename: file, id: '.', loaded: false };
  const compiled = script.runInThisContext() as (
    exports: unknown,
    require: NodeJS.Require,
    module: unknown,
    filename: string,
    dirname: string,
  ) => void;
  compiled.call(mod.exports, mod.exports, createRequire(file), mod, file, path.dirname(file));
  mod.loaded = true;
  return { state, cacheFile, writeCache, exports: mod.exports };
}
