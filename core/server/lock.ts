import fs from 'node:fs';
import path from 'node:path';
import { OutpostError } from '../errors.js';

/**
 * One server per data directory: an exclusive lock file holding the owner's pid. A lock left by a
 * process that no longer runs (crash, kill -9) is taken over.
 */
export interface HomeLock {
  readonly file: string;
  release(): void;
}

export function acquireHomeLock(file: string, home: string): HomeLock {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx', 0o600);
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      let released = false;
      return {
        file,
        release() {
          if (released) return;
          released = true;
          try {
            if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.unlinkSync(file);
          } catch {
            /* already gone */
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number.parseInt(safeRead(file), 10);
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new OutpostError(
          'server-already-running',
          `another Outpost server (pid ${owner}) is already using ${home}; stop it first or choose another --home`,
          { data: { pid: owner, home } },
        );
      }
      // Stale lock (owner gone): remove and retry.
      try {
        fs.unlinkSync(file);
      } catch {
        /* raced with another starter; retry */
      }
    }
  }
  throw new OutpostError('server-already-running', `cannot take the lock ${file}`);
}

function safeRead(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
