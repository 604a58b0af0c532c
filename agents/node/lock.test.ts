import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { acquireAgentLock, lockOwner } from './lock.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const lockFile = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-lock-'));
  dirs.push(d);
  return path.join(d, 'agent.lock');
};

describe('one agent per home', () => {
  it('refuses a second agent while a live node process holds the lock', async () => {
    const file = lockFile();
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)']);
    try {
      await new Promise((r) => other.once('spawn', r));
      fs.writeFileSync(file, String(other.pid));
      expect(lockOwner(file)).toBe(other.pid);
      expect(() => acquireAgentLock(file)).toThrow(/another agent \(pid \d+\) is running/);
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('takes over a lock left by a process that is gone, and releases only its own', () => {
    const file = lockFile();
    fs.writeFileSync(file, '999999999');
    const l = acquireAgentLock(file);
    expect(lockOwner(file)).toBe(process.pid);
    expect(fs.existsSync(file)).toBe(false); // the old lock file is replaced by a generation file
    l.release();
    expect(lockOwner(file)).toBeUndefined();
    // A later agent takes it again.
    const again = acquireAgentLock(file);
    expect(lockOwner(file)).toBe(process.pid);
    again.release();
  });
});
