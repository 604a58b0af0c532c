import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Integration tests run the built CLI (dist/), as users do: make sure it is up to date (incremental, fast
 * when it is). Every temporary folder of the run (the tests' own, and those of the processes they start,
 * which inherit TMPDIR) goes into one folder that is removed when the run ends, so a test that is skipped,
 * fails or is interrupted leaves nothing in /tmp.
 */
export default function setup(): () => void {
  execFileSync(process.execPath, [path.resolve('scripts/build.mjs')], { stdio: 'inherit' });
  const previous = process.env.TMPDIR;
  const run = fs.mkdtempSync(path.join(os.tmpdir(), 'ot-'));
  process.env.TMPDIR = run;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    fs.rmSync(run, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  };
}
