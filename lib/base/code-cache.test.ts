import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CJS_WRAPPER_OPEN, defaultCodeCacheDir, runWithCodeCache } from './code-cache.js';
import { removeTempDirs, tempDir } from './testing.js';

afterAll(() => removeTempDirs());

/** A CommonJS file whose exports show that it ran, with its own require and __filename. */
function program(dir: string, name: string, extra = ''): string {
  const file = path.join(dir, name);
  fs.writeFileSync(
    file,
    [
      "const os = require('node:os');",
      'function work(n) { let s = 0; for (let i = 0; i < n; i++) s += i; return s; }',
      `module.exports = { sum: work(10), file: __filename, eol: os.EOL, extra: ${JSON.stringify(extra)} };`,
    ].join('\n'),
  );
  return file;
}

/**
 * V8 also caches compilations within a process, so a second compile of the same source here would not
 * read the code cache at all: what a next start sees is run in a process of its own.
 */
function runInChild(file: string, cacheDir: string, write = false) {
  const dir = path.dirname(file);
  const runner = path.join(dir, 'runner.mjs');
  const self = fileURLToPath(new URL('./code-cache.ts', import.meta.url));
  fs.writeFileSync(
    runner,
    [
      `import { runWithCodeCache } from ${JSON.stringify(self)};`,
      `const r = runWithCodeCache(${JSON.stringify(file)}, { cacheDir: ${JSON.stringify(cacheDir)}, writeWhenWarm: false });`,
      `const wrote = ${write} ? r.writeCache() : undefined;`,
      'console.log(JSON.stringify({ state: r.state, exports: r.exports, wrote, cacheFile: r.cacheFile }));',
    ].join('\n'),
  );
  const out = execFileSync(process.execPath, ['--import', 'tsx', runner], { encoding: 'utf8' });
  return JSON.parse(out) as { state: string; exports: unknown; wrote?: boolean; cacheFile?: string };
}

const cachesIn = (dir: string) =>
  fs.existsSync(dir) ? fs.readdirSync(dir).filter((e) => e.endsWith('.v8cache')) : [];

describe('runWithCodeCache', () => {
  it('compiles without a cache, writes one, and the next start uses it with the same result', () => {
    const dir = tempDir('code-cache');
    const cacheDir = path.join(dir, 'cache');
    const file = program(dir, 'p.cjs');

    const first = runInChild(file, cacheDir, true);
    expect(first.state).toBe('absent');
    expect(first.exports).toEqual({ sum: 45, file, eol: '\n', extra: '' });
    expect(first.wrote).toBe(true);
    expect(cachesIn(cacheDir)).toEqual([path.basename(first.cacheFile!)]);
    expect(fs.statSync(first.cacheFile!).mode & 0o777).toBe(0o600);
    expect(fs.statSync(cacheDir).mode & 0o777).toBe(0o700);

    const second = runInChild(file, cacheDir, true);
    expect(second.state).toBe('used');
    expect(second.exports).toEqual(first.exports);
    // A cache V8 took is not written again.
    expect(second.wrote).toBe(false);
  });

  it('refuses a corrupt cache, runs anyway, and replaces it', () => {
    const dir = tempDir('code-cache');
    const cacheDir = path.join(dir, 'cache');
    const file = program(dir, 'p.cjs');
    const first = runInChild(file, cacheDir, true);
    fs.writeFileSync(first.cacheFile!, Buffer.alloc(4096, 0x5a));

    const bad = runInChild(file, cacheDir, true);
    expect(bad.state).toBe('rejected');
    expect(bad.exports).toMatchObject({ sum: 45 });
    expect(bad.wrote).toBe(true);
    expect(runInChild(file, cacheDir).state).toBe('used');
  });

  it('never reads the cache of an earlier build of the file, and removes it when writing', () => {
    const dir = tempDir('code-cache');
    const cacheDir = path.join(dir, 'cache');
    const file = program(dir, 'p.cjs');
    const old = runWithCodeCache(file, { cacheDir, writeWhenWarm: false });
    old.writeCache();

    program(dir, 'p.cjs', 'rebuilt');
    fs.utimesSync(file, new Date(), new Date(Date.now() + 5_000));
    const rebuilt = runWithCodeCache(file, { cacheDir, writeWhenWarm: false });
    expect(rebuilt.state).toBe('absent');
    expect(rebuilt.exports).toMatchObject({ extra: 'rebuilt' });
    expect(rebuilt.cacheFile).not.toBe(old.cacheFile);
    rebuilt.writeCache();
    expect(cachesIn(cacheDir)).toEqual([path.basename(rebuilt.cacheFile!)]);
  });

  it('compiles a file written as the CommonJS wrapper as it is, and a non-ASCII one too', () => {
    const dir = tempDir('code-cache');
    const cacheDir = path.join(dir, 'cache');
    const wrapped = path.join(dir, 'w.cjs');
    fs.writeFileSync(
      wrapped,
      `${CJS_WRAPPER_OPEN}\nmodule.exports = { dir: __dirname, ok: typeof require };\n})`,
    );
    expect(runWithCodeCache(wrapped, { cacheDir, writeWhenWarm: false }).exports).toEqual({
      dir,
      ok: 'function',
    });
    const text = path.join(dir, 't.cjs');
    fs.writeFileSync(text, "module.exports = 'größer als µ ✓';");
    expect(runWithCodeCache(text, { cacheDir, writeWhenWarm: false }).exports).toBe('größer als µ ✓');
  });

  it('writes the cache when the program says it is warm', async () => {
    const dir = tempDir('code-cache');
    const cacheDir = path.join(dir, 'cache');
    const run = runWithCodeCache(program(dir, 'p.cjs'), { cacheDir });
    expect(cachesIn(cacheDir)).toEqual([]);
    (process as NodeJS.EventEmitter).emit('outpost:warm');
    await new Promise((r) => setImmediate(r));
    expect(fs.existsSync(run.cacheFile!)).toBe(true);
  });

  it('runs without a cache when it is off or cannot be written', () => {
    const dir = tempDir('code-cache');
    const file = program(dir, 'p.cjs');
    expect(defaultCodeCacheDir({ OUTPOST_CODE_CACHE: 'off', HOME: dir })).toBeUndefined();
    expect(defaultCodeCacheDir({ OUTPOST_CODE_CACHE_DIR: '/x/y' })).toBe('/x/y');
    expect(defaultCodeCacheDir({ XDG_CACHE_HOME: '/c' })).toBe(path.join('/c', 'outpost'));

    // A file where the cache folder should be: nothing can be written, and nothing fails.
    const blocked = path.join(dir, 'blocked');
    fs.writeFileSync(blocked, '');
    const run = runWithCodeCache(file, { cacheDir: blocked, writeWhenWarm: false });
    expect(run.state).toBe('absent');
    expect(run.exports).toMatchObject({ sum: 45 });
    expect(run.writeCache()).toBe(false);
  });
});
