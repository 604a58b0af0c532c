import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, formatAge, parseFormat, table } from '../../lib/output.js';
import type { EnrollRequestView } from '../../../lib/contract/index.js';

function hardware(r: EnrollRequestView): string | null {
  const h = r.hardware;
  if (!h) return null;
  return [h.arch, h.cores !== undefined ? `${String(h.cores)} cores` : undefined, h.memory, h.os]
    .filter((v) => v !== undefined && v !== null)
    .map(String)
    .join(', ');
}

/**
 * `edgectl co list requests [--all]`: nodes waiting for approval (ADR 0462); the code and the key
 * fingerprint are what the waiting node prints: compare them.
 */
export function register(list: Command): void {
  list
    .command('requests')
    .description(
      'enrollment requests of nodes waiting for approval (compare code and fingerprint with the node)',
    )
    .option('--all', 'also decided and expired ones')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { all?: boolean; output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const r = await client.enrollRequests.list({ all: opts.all ?? false });
        await emit(format, r, () =>
          r.requests.length === 0
            ? opts.all
              ? 'no enrollment requests'
              : 'no pending enrollment requests'
            : table(
                ['ID', 'STATE', 'HOSTNAME', 'ADDRESS', 'CODE', 'KEY', 'HARDWARE', 'ASKED', 'EXPIRES', 'NODE'],
                r.requests.map((q) => [
                  q.id,
                  q.state,
                  q.hostname ?? q.requestedName,
                  q.address,
                  q.code,
                  q.shortFingerprint,
                  hardware(q),
                  `${formatAge(r.now - q.createdAt)} ago`,
                  q.state === 'pending' ? `in ${formatAge(q.expiresAt - r.now)}` : null,
                  q.nodeName ? `${q.nodeName}@${q.siteId}` : null,
                ]),
              ),
        );
      }),
    );
}
