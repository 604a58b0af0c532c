import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, it } from 'vitest';
import { tempHome } from '../helpers/home.js';
import { waitFor } from '../helpers/wait.js';

// The README's main command, `npm start`, as a supervisor sees it: a TERM sent to npm's own pid must reach
// the server, which then stops its nats-server and removes its run files (the start script `exec`s it).

const root = path.resolve(import.meta.dirname, '../..');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((s) => Number(s.trim()))
      .filter((n) => n > 0);
  } catch {
    return [];
  }
}

/** The server supervises nats-server through a small shell wrapper, so look below its children too. */
function descendantsOf(pid: number): number[] {
  const out: number[] = [];
  for (const c of childrenOf(pid)) out.push(c, ...descendantsOf(c));
  return out;
}

const homes: (() => void)[] = [];
afterEach(() => homes.splice(0).forEach((c) => c()));

describe('npm start', () => {
  it('stops the server and its nats-server when npm itself receives SIGTERM', async () => {
    const { home, cleanup } = tempHome('outpost-npm-start-');
    homes.push(cleanup);
    const npm = spawn('npm', ['start', '--silent', '--', '--home', home, '--port', '0'], {
      cwd: root,
      env: { ...process.env, OUTPOST_HEADLESS: '1', OUTPOST_SKIP_APT: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
      // Its own process group, so a failure can stop everything npm started (setup, build, the server).
      detached: true,
    });
    let stderr = '';
    npm.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<void>((resolve) => npm.on('exit', () => resolve()));
    const leftovers: number[] = [];
    try {
      const serverJson = path.join(home, 'run', 'server.json');
      const info = await waitFor(
        () => {
          try {
            return JSON.parse(fs.readFileSync(serverJson, 'utf8')) as { pid: number; natsUrl?: string };
          } catch {
            return undefined;
          }
        },
        { what: 'server.json', timeoutMs: 600_000, intervalMs: 100 },
      );
      leftovers.push(info.pid);
      const natsPids = await waitFor(
        () => {
          const kids = descendantsOf(info.pid).filter((p) => {
            try {
              return fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'nats-server';
            } catch {
              return false;
            }
          });
          return kids.length > 0 ? kids : undefined;
        },
        { what: 'the nats-server child', timeoutMs: 600_000, intervalMs: 100 },
      );
      leftovers.push(...natsPids);
      npm.kill('SIGTERM');
      await waitFor(() => !alive(info.pid), {
        what: 'the server to exit',
        timeoutMs: 600_000,
        intervalMs: 100,
      });
      await waitFor(() => natsPids.every((p) => !alive(p)), {
        what: 'nats-server to exit',
        timeoutMs: 600_000,
        intervalMs: 100,
      });
      await waitFor(() => !fs.existsSync(serverJson), {
        what: 'server.json to be removed',
        timeoutMs: 600_000,
        intervalMs: 100,
      });
      await exited;
    } catch (err) {
      throw new Error(`${(err as Error).message}\nnpm stderr:\n${stderr}`, { cause: err });
    } finally {
      try {
        process.kill(-npm.pid!, 'SIGKILL');
      } catch {
        // the group is gone
      }
      for (const p of leftovers) if (alive(p)) process.kill(p, 'SIGKILL');
    }
  }, 900_000);
});
