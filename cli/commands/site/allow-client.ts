import type { Command } from 'commander';
import { policyEntry } from './shared.js';

/** `edgectl site clients allow <spiffe-id>` */
export function register(clients: Command): void {
  clients
    .command('allow <spiffe-id>')
    .description('allow a SPIFFE ID (or a prefix ending in /*)')
    .action(policyEntry('allow'));
}
