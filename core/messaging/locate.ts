import fs from 'node:fs';
import path from 'node:path';
import { OutpostError } from '../../lib/errors/index.js';

export const INSTALL_HINT =
  'install it with "sudo apt-get install nats-server" (Debian/Ubuntu) or set nats.binary in <home>/config.yaml; the console keeps working with polling only';

export interface LocateOptions {
  /** `nats.binary` from the configuration: when set, it is the only candidate. */
  configured?: string | undefined;
  /** The packaged `resources/bin` folder (the desktop package ships nats-server there). */
  resourcesBin?: string | undefined;
  /** The `PATH` to search last. */
  pathEnv?: string | undefined;
  platform?: NodeJS.Platform;
}

function isExecutable(file: string): boolean {
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds nats-server: the configured path, else `resources/bin`, else `PATH`. Throws one clear
 * `nats-unavailable` error saying how to install it.
 */
export function locateNatsServer(options: LocateOptions): string {
  const exe = (options.platform ?? process.platform) === 'win32' ? 'nats-server.exe' : 'nats-server';
  if (options.configured) {
    const p = path.resolve(options.configured);
    if (isExecutable(p)) return p;
    throw new OutpostError(
      'nats-unavailable',
      `nats-server not found at ${p} (nats.binary): ${INSTALL_HINT}`,
      {
        data: { configured: p },
      },
    );
  }
  const candidates: string[] = [];
  if (options.resourcesBin) candidates.push(path.join(options.resourcesBin, exe));
  for (const dir of (options.pathEnv ?? '').split(path.delimiter)) {
    if (dir) candidates.push(path.join(dir, exe));
  }
  for (const c of candidates) if (isExecutable(c)) return path.resolve(c);
  throw new OutpostError('nats-unavailable', `nats-server not found: ${INSTALL_HINT}`, {
    data: { searched: candidates },
  });
}
