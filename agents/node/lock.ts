import fs from 'node:fs';
import path from 'node:path';
import { OutpostError } from '../../core/errors.js';

/**
 * One agent per home: an exclusive lock file holding the owner's pid. A lock whose owner is gone (crash,
 * SIGKILL), or whose pid now belongs to an unrelated process, is taken over.
 */
export interface AgentLock {
  readonly file: string;
  release(): void;
}

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
    if (!/node|edgectl|outpost/.test(cmd)) return undefined;
  } catch {
    // no /proc: trust the pid
  }
  return pid;
}

export function acquireAgentLock(file: string): AgentLock {
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
      if (owner !== undefined && owner !== process.pid) {
        throw new OutpostError(
          'agent/already-running',
          `another agent (pid ${owner}) is running on ${path.dirname(file)}; stop it first or choose another --home`,
          { status: 409, data: { pid: owner } },
        );
      }
      try {
        fs.unlinkSync(file);
      } catch {
        // raced with another starter; retry
      }
    }
  }
  throw new OutpostError('agent/already-running', `cannot take the lock ${file}`, { status: 409 });
}
