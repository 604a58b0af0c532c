import type { Command } from 'commander';
import { register as gc } from './gc.js';
import { register as status } from './status.js';

/** `edgectl registry ...`: the site registry the LO serves (OCI Distribution API). */
export function head(program: Command): Command {
  return program
    .command('registry')
    .description('the site registry this LO serves: status and garbage collection')
    .option('--server <url>', 'console API URL (default: from <home>/run/server.json)')
    .option('--token <token>', 'API token (default: from server.json, or EDGE_TOKEN)');
}

export function register(program: Command): void {
  const registry = head(program);
  status(registry);
  gc(registry);
}
