import type { Command } from 'commander';
import { policyEntry } from './shared.js';

/** `edgectl site clients deny <spiffe-id>` */
export function register(clients: Command): void {
  clients
    .command('deny <spiffe-id>')
    .description('deny a SPIFFE ID (or a prefix ending in /*); takes effect on its next request')
    .action(policyEntry('deny'));
}
