import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { lockOwner } from '../../lib/base/index.js';

/**
 * Many starters at once on one home whose lock was left by a dead process: exactly one gets the lock,
 * every time (real processes racing, trial after trial). The same code locks the server's home and the
 * agent's (core/server/lock.ts, agents/node/lock.ts).
 */
const STARTERS = 8;
const TRIALS = 100;

describe('lock takeover under a race', () => {
  let dir = '';
  let script = '';
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-lock-race-'));
    script = path.join(dir, 'contender.mjs');
    buildSync({
      entryPoints: [path.resolve('test/fixtures/lock/contender.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: script,
      logLevel: 'error',
    });
    deadPid = spawnSync(process.execPath, ['-e', '0']).pid;
  });
  afterAll(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  /** The pid of a node process that has exited: a lock it held is stale. */
  let deadPid = 0;

  function start() {
    const child = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    const lines: string[] = [];
    const waiters: (() => void)[] = [];
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        lines.push(out.slice(0, nl));
        out = out.slice(nl + 1);
        for (const w of waiters.splice(0)) w();
      }
    });
    let read = 0;
    /** The next line it prints. */
    const next = async () => {
      while (lines.length <= read) await new Promise<void>((r) => waiters.push(r));
      return lines[read++]!;
    };
    return { child, next };
  }

  const exited = (c: ChildProcess) =>
    new Promise<void>((r) => (c.exitCode !== null ? r() : c.once('exit', () => r())));

  it(`gives the lock to exactly one of ${STARTERS} starters, ${TRIALS} times`, async () => {
    const starters = Array.from({ length: STARTERS }, () => start());
    for (const s of starters) expect(await s.next()).toBe('ready');
    try {
      for (let trial = 0; trial < TRIALS; trial++) {
        const file = path.join(dir, `trial-${trial}`, 'server.lock');
        fs.mkdirSync(path.dirname(file));
        // Left behind by a crash: the old single-file format in half the trials, a generation in the others.
        fs.writeFileSync(trial % 2 ? file : `${file}.3`, String(deadPid));
        for (const s of starters) s.child.stdin!.write(`try ${file}\n`);
        const results = await Promise.all(starters.map((s) => s.next()));
        const winners = starters.filter((_, i) => results[i] === 'acquired');
        expect(winners, `trial ${trial}: ${results.join(', ')}`).toHaveLength(1);
        const winner = winners[0]!.child.pid!;
        expect(lockOwner(file)).toBe(winner);
        for (const r of results) if (r !== 'acquired') expect(r).toBe(`busy ${winner}`);
        for (const s of starters) s.child.stdin!.write('release\n');
        for (const s of starters) expect(await s.next()).toBe('released');
        expect(lockOwner(file)).toBeUndefined();
      }
    } finally {
      for (const s of starters) s.child.stdin!.end();
      await Promise.all(starters.map((s) => exited(s.child)));
    }
  }, 300_000);

  it('hands a released lock to the next starter, and a lock of a killed holder too', async () => {
    const file = path.join(dir, 'handover', 'agent.lock');
    fs.mkdirSync(path.dirname(file));
    for (const how of ['release', 'SIGKILL', 'release'] as const) {
      const s = start();
      expect(await s.next()).toBe('ready');
      s.child.stdin!.write(`try ${file}\n`);
      expect(await s.next()).toBe('acquired');
      expect(lockOwner(file)).toBe(s.child.pid);
      if (how === 'release') s.child.stdin!.end();
      else s.child.kill('SIGKILL');
      await exited(s.child);
    }
    // Old generations are cleaned up: the newest (released) one and nothing else is left.
    expect(fs.readdirSync(path.dirname(file))).toHaveLength(1);
  });
});
