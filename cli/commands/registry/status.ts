import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, keyValues, parseFormat } from '../../lib/output.js';
import { formatBytes } from '../../lib/format.js';

/** `edgectl registry status`: where the site registry listens and what it holds. */
export function register(registry: Command): void {
  registry
    .command('status')
    .description('show where the site registry listens, how much it stores, and its repositories')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const s = await client.registry.status({});
        await emit(format, s, () =>
          s.enabled
            ? keyValues([
                ['url', s.url],
                ['loopback url', s.loopbackUrl],
                ['stored', formatBytes(s.usedBytes)],
                ['quota', s.quotaBytes === null ? 'none (the disk is the limit)' : formatBytes(s.quotaBytes)],
                ['free on disk', formatBytes(s.freeBytes)],
                ['repositories', s.repositories.length ? s.repositories.join(', ') : '-'],
              ])
            : 'the site registry is not running on this server (role co, or registry.enabled: false)',
        );
      }),
    );
}
