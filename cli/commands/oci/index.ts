import type { Command } from 'commander';
import { register as push } from './push.js';
import { register as pull } from './pull.js';
import { register as inspect } from './inspect.js';

/** `edgectl oci ...`: publish and fetch OCI artifacts (WASM modules, compose archives, Margo app packages). */
export function head(program: Command): Command {
  return program
    .command('oci')
    .description(
      'push, pull and inspect OCI artifacts in a registry (WASM modules, compose archives, Margo app packages)',
    );
}

export function register(program: Command): void {
  const oci = head(program);
  push(oci);
  pull(oci);
  inspect(oci);
}
