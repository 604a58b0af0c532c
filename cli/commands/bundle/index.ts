import type { Command } from 'commander';
import { register as key } from './key.js';
import { register as trust } from './trust.js';
import { register as exportBundle } from './export.js';
import { register as exportStatus } from './export-status.js';
import { register as verify } from './verify.js';
import { register as importBundle } from './import.js';
import { register as history } from './history.js';
import { register as drives } from './drives.js';

/** `edgectl bundle ...`: signed bundles that carry desired state, artifacts and status across an air gap. */
export function register(program: Command): void {
  const bundle = program
    .command('bundle')
    .description('signed air-gap bundles on removable drives: keys and trust, export, verify, import')
    .option('--server <url>', 'console API URL (default: from <home>/run/server.json)')
    .option('--token <token>', 'API token (default: from server.json, or EDGE_TOKEN)')
    .option('--tenant <id>', 'act on this tenant (administrators only)');
  key(bundle);
  trust(bundle);
  exportBundle(bundle);
  exportStatus(bundle);
  verify(bundle);
  importBundle(bundle);
  history(bundle);
  drives(bundle);
}
