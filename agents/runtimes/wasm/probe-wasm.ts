import fs from 'node:fs';
import type { ProbeResult } from '../types.js';
import { locateWasmRunner } from './locate-runner.js';

/** The WASM runtime is usable when node:wasi loads and the runner is built. */
export async function probeWasm(runnerPath?: string): Promise<ProbeResult> {
  const runner = runnerPath ?? locateWasmRunner();
  if (!runner || !fs.existsSync(runner)) {
    return { available: false, detail: 'the WASM runner is not built (node scripts/build.mjs)' };
  }
  try {
    await import('node:wasi');
  } catch (e) {
    return { available: false, detail: `node:wasi is not available: ${(e as Error).message}` };
  }
  return {
    available: true,
    version: `node ${process.versions.node} wasi preview1`,
    detail: `runner ${runner}`,
  };
}
