import fs from 'node:fs';
import path from 'node:path';
import { OutpostError } from '../errors/index.js';

/**
 * One process per data directory: an exclusive lock file holding the owner's pid, created atomically.
 * A lock whose owner is gone (crash, kill -9), or whose pid now belongs to an unrelated process, is taken
 * over. Used by the server (one per home) and the agent (one per agent home).
 */
export interface PidLock {
  readonly file: string;
  release(): void;
}

/** The live process holding the lock, or undefined when there is none (or it is not one of ours). */
export function lockOwner(file: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(text, 10);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  // After a crash the pid may have been reused: only a node process counts as the owner.
  try {
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!/node|edgectl|outpost|electron/i.test(cmd)) return undefined;
  } catch {
    // no /proc: trust the pid
  }
  return pid;
}

export function acquirePidLock(file: string, busy: (owner: number) => OutpostError): PidLock {
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
            // already gone
          }
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = lockOwner(file);
      if (owner !== undefined && owner !== process.pid) throw busy(owner);
      try {
        fs.unlinkSync(file); // stale: its owner is gone
      } catch {
        // raced with another starter; retry
      }
    }
  }
  throw new OutpostError('conflict', `cannot take the lock ${file}`, { status: 409 });
}
