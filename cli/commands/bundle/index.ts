import type { Command } from 'commander';
import { register as exportKey } from './export-key.js';
import { register as rotateKey } from './rotate-key.js';
import { register as listKeys } from './list-keys.js';
import { register as trustKey } from './trust-key.js';
import { register as listTrustedKeys } from './list-trusted-keys.js';
import { register as untrustKey } from './untrust-key.js';
import { register as exportBundle } from './export.js';
import { register as exportStatus } from './export-status.js';
import { register as verify } from './verify.js';
import { register as importBundle } from './import.js';
import { register as history } from './history.js';
import { register as drives } from './drives.js';

/**
 * `edgectl bundle ...`: signed bundles that carry desired state, artifacts and status across an air gap.
 * This file only makes the groups and registers the commands, one per file; `shared.ts` holds what they
 * share (following a server job, the verification report).
 */
export function head(program: Command): Command {
  return program
    .command('bundle')
    .description('signed air-gap bundles on removable drives: keys and trust, export, verify, import')
    .option('--server <url>', 'console API URL (default: from <home>/run/server.json)')
    .option('--token <token>', 'API token (default: from server.json, or EDGE_TOKEN)')
    .option('--tenant <id>', 'act on this tenant (administrators only)');
}

export function register(program: Command): void {
  const bundle = head(program);

  const key = bundle.command('key').description("this server's bundle signing key (minisign Ed25519)");
  exportKey(key);
  rotateKey(key);
  listKeys(key);

  const trust = bundle.command('trust').description('the keys whose bundles this server accepts');
  trustKey(trust);
  listTrustedKeys(trust);
  untrustKey(trust);

  exportBundle(bundle);
  exportStatus(bundle);
  verify(bundle);
  importBundle(bundle);
  history(bundle);
  drives(bundle);
}
