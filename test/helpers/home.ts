import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Temporary folders of the tests. Each is removed by its `cleanup()`; whatever is left when the test
 * process exits is removed then: a folder made while a describe block is collected stays behind otherwise
 * when its tests are skipped (no podman, no namespaces, a `-t` filter), because hooks do not run then.
 */
const made = new Set<string>();
let hooked = false;

function remove(dir: string): void {
  // Retries: a process that is still stopping may create a file while the folder is removed.
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  made.delete(dir);
}

/** Registers a temporary folder for removal at exit (if nothing removed it before). */
export function trackTempDir(dir: string): string {
  made.add(dir);
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const d of [...made]) {
        try {
          remove(d);
        } catch {
          // nothing more to do at exit
        }
      }
    });
  }
  return dir;
}

/** A fresh temporary data directory; removed by the returned cleanup (and at exit). */
export function tempHome(prefix = 'outpost-test-'): { home: string; cleanup(): void } {
  const home = trackTempDir(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  return { home, cleanup: () => remove(home) };
}
