import fs from 'node:fs';
import path from 'node:path';
import { OutpostError } from '../../lib/errors/index.js';
import type { Drive } from '../../lib/contract/index.js';
import { bundleError } from './errors.js';

/**
 * Where an export goes: a file, a folder (the default name inside), a removable drive (`auto`: the one
 * mounted), or the server's outbox folder (the console downloads from there).
 */
export interface Destination {
  /** A folder the default file name goes into, or a file. */
  dir: string;
  file?: string;
  /** The drive, when the bundle goes to one. */
  drive?: Drive;
}

export function resolveDestination(options: {
  out?: string | undefined;
  drive?: string | undefined;
  drives: () => Drive[];
  outbox: string;
}): Destination {
  if (options.out !== undefined && options.drive !== undefined)
    throw new OutpostError('invalid-input', 'give --out or --drive, not both');
  if (options.drive !== undefined) {
    const mounted = options.drives();
    if (options.drive === 'auto') {
      if (mounted.length !== 1)
        throw bundleError(
          'bundle/no-drive',
          mounted.length === 0
            ? 'no removable drive is mounted: plug one in, or give --out FILE|DIR'
            : `${mounted.length} removable drives are mounted (${mounted.map((d) => d.mountpoint).join(', ')}): name one with --drive MOUNTPOINT or --out`,
        );
      return { dir: mounted[0]!.mountpoint, drive: mounted[0]! };
    }
    const d = mounted.find((x) => path.resolve(x.mountpoint) === path.resolve(options.drive!));
    if (!d) throw bundleError('bundle/no-drive', `${options.drive} is not a mounted removable drive`);
    return { dir: d.mountpoint, drive: d };
  }
  if (options.out === undefined) return { dir: options.outbox };
  const out = path.resolve(options.out);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(out);
  } catch {
    st = undefined;
  }
  if (st?.isDirectory() || options.out.endsWith('/') || options.out.endsWith(path.sep)) {
    if (!st) throw new OutpostError('not-found', `${out}: no such folder`);
    return { dir: out };
  }
  if (st && !st.isFile()) throw new OutpostError('invalid-input', `${out} is not a file or a folder`);
  const parent = path.dirname(out);
  if (!fs.existsSync(parent)) throw new OutpostError('not-found', `${parent}: no such folder`);
  return { dir: parent, file: out };
}

export function fileIn(dest: Destination, defaultName: string): string {
  return dest.file ?? path.join(dest.dir, defaultName);
}
