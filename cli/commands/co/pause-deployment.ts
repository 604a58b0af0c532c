import type { Command } from 'commander';
import { rolloutSignal } from './shared.js';

/** `edgectl co pause <deployment>` */
export function register(co: Command): void {
  co.command('pause <deployment>')
    .description('pause a rollout')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(rolloutSignal('pause'));
}
