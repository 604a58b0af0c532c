import crypto from 'node:crypto';

/**
 * The simulated board's littlefs, mounted at /lfs: files in memory, directories that must exist,
 * and a capacity. It survives a reset (flash), unlike the Ocre container list (RAM).
 */
export class DeviceFs {
  readonly files = new Map<string, Buffer>();
  readonly dirs = new Set<string>(['/lfs']);

  constructor(
    readonly mount = '/lfs',
    readonly capacity = 1024 * 1024,
  ) {
    this.dirs.add(mount);
  }

  mkdirs(path: string): void {
    const parts = path.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) this.dirs.add('/' + parts.slice(0, i).join('/'));
  }

  used(): number {
    let n = 0;
    for (const f of this.files.values()) n += f.length;
    return n;
  }

  /** Whether a file may be created there: on the mount, in an existing directory. */
  canCreate(path: string): boolean {
    if (!path.startsWith(this.mount + '/')) return false;
    return this.dirs.has(path.slice(0, path.lastIndexOf('/')) || '/');
  }

  read(path: string): Buffer | undefined {
    return this.files.get(path);
  }

  remove(path: string): boolean {
    return this.files.delete(path);
  }

  list(dir: string): string[] {
    const prefix = dir.endsWith('/') ? dir : dir + '/';
    return [...this.files.keys()]
      .filter((k) => k.startsWith(prefix) && !k.slice(prefix.length).includes('/'))
      .map((k) => k.slice(prefix.length))
      .sort();
  }

  summary(): { name: string; size: number; sha256: string }[] {
    return [...this.files.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, data]) => ({
        name,
        size: data.length,
        sha256: crypto.createHash('sha256').update(data).digest('hex'),
      }));
  }
}
