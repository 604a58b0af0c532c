import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const RUNNER_FILE = 'wasm-runner.js';

/**
 * Finds the built runner (scripts/build.mjs writes dist/cli/wasm-runner.js). `from` is the URL of the
 * code asking: in the bundle that is dist/cli/<entry>.js or dist/cli/chunks/<chunk>.js (or
 * dist/electron/main.js), from sources it is agents/runtimes/wasm/. Returns undefined when not built.
 */
export function locateWasmRunner(from: string = import.meta.url): string | undefined {
  const here = path.dirname(fileURLToPath(from));
  const candidates = [
    path.join(here, RUNNER_FILE),
    path.join(here, '..', RUNNER_FILE),
    path.join(here, '..', 'cli', RUNNER_FILE),
    path.join(here, '..', '..', '..', 'dist', 'cli', RUNNER_FILE),
  ];
  return candidates.find((c) => fs.existsSync(c));
}
