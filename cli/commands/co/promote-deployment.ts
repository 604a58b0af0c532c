import type { Command } from 'commander';
import { rolloutSignal } from './shared.js';

/** `edgectl co promote <deployment>` */
export function register(co: Command): void {
  co.command('promote <deployment>')
    .description('promote a canary rollout to the remaining nodes')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(rolloutSignal('promote'));
}
