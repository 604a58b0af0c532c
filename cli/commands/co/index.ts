import type { Command } from 'commander';
import { register as status } from './status.js';

/** `edgectl co ...`: talk to the control plane (CO/LO) through its console API. */
export function register(program: Command): void {
  const co = program
    .command('co')
    .description('operate the control plane: apps, device models, sites, nodes, deployments')
    .option('--server <url>', 'console API URL (default: from <home>/run/server.json)')
    .option('--token <token>', 'API token (default: from server.json, or EDGE_TOKEN)')
    .option('--tenant <id>', 'act on this tenant (administrators only)');
  status(co);
}
