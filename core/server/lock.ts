import { OutpostError } from '../../lib/errors/index.js';
import { acquirePidLock, type PidLock } from '../../lib/base/index.js';

export type HomeLock = PidLock;

/** One server per data directory (see lib/base/pid-lock.ts). */
export function acquireHomeLock(file: string, home: string): HomeLock {
  return acquirePidLock(
    file,
    (owner) =>
      new OutpostError(
        'server-already-running',
        `another Outpost server (pid ${owner}) is already using ${home}; stop it first or choose another --home`,
        { data: { pid: owner, home } },
      ),
  );
}
