import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat } from '../../lib/output.js';

/** `edgectl co reject <request> [--reason R]`: the waiting node is told so and stops (ADR 0462). */
export function register(co: Command): void {
  co.command('reject <request>')
    .description('reject an enrollment request: the waiting node is told so and stops')
    .option('--reason <text>', 'why (the node shows it)')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (id: string, opts: { reason?: string; output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const r = await client.enrollRequests.reject({ id, ...(opts.reason ? { reason: opts.reason } : {}) });
        await emit(format, r, () => `rejected ${r.id}`);
      }),
    );
}
