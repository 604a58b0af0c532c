import path from 'node:path';
import { OutpostError } from '../../lib/errors/index.js';
import { acquirePidLock, lockOwner, type PidLock } from '../../lib/base/index.js';

/** One agent per home (see lib/base/pid-lock.ts). */
export type AgentLock = PidLock;
export { lockOwner };

export function acquireAgentLock(file: string): AgentLock {
  return acquirePidLock(
    file,
    (owner) =>
      new OutpostError(
        'agent/already-running',
        `another agent (pid ${owner}) is running on ${path.dirname(file)}; stop it first or choose another --home`,
        { status: 409, data: { pid: owner } },
      ),
  );
}
