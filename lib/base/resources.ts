import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * The project root (where package.json, core/store/migrations, resources/ and dist/renderer live),
 * found by walking up from this module. Works from sources (vitest), from dist/ bundles and from a
 * packaged app (where OUTPOST_ROOT may point at the resources folder).
 */
export function projectRoot(): string {
  if (cached) return cached;
  if (process.env.OUTPOST_ROOT) return (cached = path.resolve(process.env.OUTPOST_ROOT));
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        const name = (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name;
        if (name === 'outpost') return (cached = dir);
      } catch {
        /* keep walking */
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot locate the Outpost project root (set OUTPOST_ROOT)');
    dir = parent;
  }
}

export function migrationsDir(): string {
  return path.join(projectRoot(), 'core', 'store', 'migrations');
}

export function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(projectRoot(), 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
