import fs from 'node:fs';
import path from 'node:path';
import { OutpostError } from '../errors/index.js';

/**
 * One process per data directory (the server per home, the agent per agent home), with an atomic
 * takeover of a lock whose owner is gone (crash, kill -9), ADR 0482.
 *
 * The lock is a series of generation files beside `file`: `<file>.1`, `<file>.2`, ... The newest
 * generation says who holds the lock: a live pid, or `released`. To take the lock, a process creates
 * the next generation with link(2), which fails when that name exists, so of any number of starters
 * that saw the same stale or released generation exactly one succeeds. The newest generation is never
 * removed (release writes `released` into it; only generations older than the one a winner just made are
 * cleaned up), so a starter that acted on an old listing can at most make an older generation than
 * the newest, which it sees when it checks, and gives up. `<file>` itself (written by older versions)
 * counts as generation 0 while no generation file exists.
 */
export interface PidLock {
  readonly file: string;
  release(): void;
}

const RELEASED = 'released';

interface Generation {
  n: number;
  path: string;
}

/** The generation files of `file`, newest first. */
function generations(file: string): Generation[] {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const out: Generation[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    if (/^[1-9][0-9]{0,15}$/.test(rest)) out.push({ n: Number(rest), path: path.join(dir, name) });
  }
  return out.sort((a, b) => b.n - a.n);
}

/** The newest generation (or the legacy file as generation 0), and what it holds. */
function newest(file: string): { n: number; path: string; text: string | undefined } {
  const top = generations(file)[0] ?? { n: 0, path: file };
  let text: string | undefined;
  try {
    text = fs.readFileSync(top.path, 'utf8').trim();
  } catch {
    text = undefined;
  }
  return { ...top, text };
}

/** A live process that may hold a lock: alive, and (after a pid was reused) a node process. */
function isOwnerAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!/node|edgectl|outpost|electron/i.test(cmd)) return false;
  } catch {
    // no /proc: trust the pid
  }
  return true;
}

function pidOf(text: string | undefined): number | undefined {
  if (text === undefined || text === RELEASED) return undefined;
  const pid = Number.parseInt(text, 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** The live process holding the lock, or undefined when there is none (or it is not one of ours). */
export function lockOwner(file: string): number | undefined {
  const pid = pidOf(newest(file).text);
  return pid !== undefined && isOwnerAlive(pid) ? pid : undefined;
}

/** Writes `text` into `target` whole: a temporary file renamed over it. */
function replaceFile(target: string, text: string): void {
  const tmp = `${target}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.renameSync(tmp, target);
}

export function acquirePidLock(file: string, busy: (owner: number) => OutpostError): PidLock {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const mine = String(process.pid);
  const tmp = `${file}.${process.pid}.claim`;
  for (let attempt = 0; attempt < 50; attempt++) {
    const top = newest(file);
    if (top.text === undefined && top.n > 0) continue; // the newest generation just changed: look again
    const owner = pidOf(top.text);
    if (owner !== undefined && owner !== process.pid && isOwnerAlive(owner)) throw busy(owner);
    // Free (released, stale, or never taken): claim the next generation. link(2) is the atomic step.
    const claim = `${file}.${top.n + 1}`;
    fs.writeFileSync(tmp, mine, { mode: 0o600 });
    try {
      fs.linkSync(tmp, claim);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      continue; // another starter took this generation first
    } finally {
      fs.rmSync(tmp, { force: true });
    }
    // A starter that acted on an old listing may have made an older generation than the newest one.
    if ((generations(file)[0]?.n ?? 0) > top.n + 1) {
      fs.rmSync(claim, { force: true });
      continue;
    }
    for (const g of generations(file)) if (g.n < top.n + 1) fs.rmSync(g.path, { force: true });
    if (top.n === 0) fs.rmSync(file, { force: true }); // the legacy lock file it replaced
    let released = false;
    return {
      file,
      release() {
        if (released) return;
        released = true;
        try {
          if (fs.readFileSync(claim, 'utf8').trim() !== mine) return;
          // The newest generation stays (as released); an older one (taken over meanwhile) goes.
          if ((generations(file)[0]?.n ?? 0) === top.n + 1) replaceFile(claim, RELEASED);
          else fs.rmSync(claim, { force: true });
        } catch {
          // already gone
        }
      },
    };
  }
  throw new OutpostError(
    'conflict',
    `cannot take the lock ${file}: too many processes are starting at once`,
    {
      status: 409,
    },
  );
}
