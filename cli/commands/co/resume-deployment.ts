import type { Command } from 'commander';
import { rolloutSignal } from './shared.js';

/** `edgectl co resume <deployment>` */
export function register(co: Command): void {
  co.command('resume <deployment>')
    .description('resume a rollout')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(rolloutSignal('resume'));
}
